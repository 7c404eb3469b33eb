// App logic in plain Java, free of android.*: runs on the phone inside the app and under JUnit on any JVM.
plugins {
    `java-library`
}

java {
    // Java 11 language level and APIs available on Android API 26+ (no java.net.http, no records).
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
}

dependencies {
    api(project(":codec"))
    testImplementation(libs.junit.jupiter)
}

tasks.test {
    useJUnitPlatform {
        // These tests need fixtures that tests/bench/test_android_core.py prepares (an exported artifact, the Python
        // preprocessing output, a running fsplit-serve): run them through pytest.
        excludeTags("pytest-fixtures")
    }
    systemProperty("fsplit.vectors", file("../../runtimes/conformance/vectors.txt").absolutePath)
}
