// fsplit-mobile Android demo: app (android.* glue), core (plain Java app logic), and the pure-Java rANS coder,
// included from its real location in this repository (runtimes/java), not copied.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "fsplit-android-demo"

include(":app", ":core", ":codec")
project(":codec").projectDir = file("../runtimes/java")
