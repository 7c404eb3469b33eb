package dev.fsplit.demo;

/** STUB: stands in for the class the Android Gradle Plugin generates from app/build.gradle.kts. */
public final class BuildConfig {
    public static final String EXECUTORCH_VERSION = "stub";

    private BuildConfig() { }
}
