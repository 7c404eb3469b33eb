// Top-level build file: plugin versions come from gradle/libs.versions.toml; each module applies its own.
plugins {
    alias(libs.plugins.android.application) apply false
}

// :codec is the pure-Java rANS coder in ../runtimes/java, included where it lives (settings.gradle.kts). That
// folder builds with make + javac and has no Gradle script of its own, so its Java-library setup is given here.
val junitJupiter = libs.junit.jupiter

project(":codec") {
    apply(plugin = "java-library")
    extensions.configure<JavaPluginExtension> {
        // The coder targets Java 8 so that it runs on every Android version the app supports.
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }
    dependencies {
        "testImplementation"(junitJupiter)
    }
    tasks.withType<Test>().configureEach {
        useJUnitPlatform()
        systemProperty("fsplit.vectors", file("../conformance/vectors.txt").absolutePath)
    }
}
