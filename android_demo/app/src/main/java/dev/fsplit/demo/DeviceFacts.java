package dev.fsplit.demo;

import android.os.Build;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Facts about the phone for the benchmark's hello event. */
final class DeviceFacts {
    private DeviceFacts() {
    }

    static Map<String, Object> collect() {
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("manufacturer", Build.MANUFACTURER);
        device.put("model", Build.MODEL);
        device.put("hardware", Build.HARDWARE);
        device.put("sdk_int", Build.VERSION.SDK_INT);
        device.put("release", Build.VERSION.RELEASE);
        device.put("abis", Arrays.asList(Build.SUPPORTED_ABIS));
        if (Build.VERSION.SDK_INT >= 31) {
            device.put("soc_model", Build.SOC_MODEL);
            device.put("soc_manufacturer", Build.SOC_MANUFACTURER);
        }
        device.put("cpu_cores", Runtime.getRuntime().availableProcessors());
        Map<String, Object> extras = new LinkedHashMap<>();
        extras.put("device", device);
        return extras;
    }
}
