// The Android app: thin android.* glue (Activities, Bitmap, ExecuTorch Module) around :core.
plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "dev.fsplit.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.fsplit.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The ExecuTorch AAR ships these two ABIs.
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
        buildConfigField("String", "EXECUTORCH_VERSION", "\"${libs.versions.executorch.get()}\"")
    }

    buildFeatures {
        buildConfig = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_11
        targetCompatibility = JavaVersion.VERSION_11
    }

    androidResources {
        // Keep model and tables uncompressed in the APK: copied to app storage byte for byte on first start.
        noCompress += listOf("pte", "fsct", "json", "txt")
    }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.executorch.android)
    implementation(libs.fbjni)
    implementation(libs.soloader)
}
