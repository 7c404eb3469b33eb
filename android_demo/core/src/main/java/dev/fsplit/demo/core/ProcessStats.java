package dev.fsplit.demo.core;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileReader;
import java.io.IOException;

/** Process facts from /proc (Linux and Android); 0 / -1 where /proc cannot be read. */
public final class ProcessStats {
    private ProcessStats() {
    }

    /** Peak resident set size in kB (VmHWM), or 0 when unknown. */
    public static long peakRssKb() {
        try (BufferedReader r = new BufferedReader(new FileReader("/proc/self/status"))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("VmHWM:")) {
                    String digits = line.substring(6).trim().split("\\s+")[0];
                    return Long.parseLong(digits);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /** This process's id, or -1 when unknown. */
    public static long pid() {
        try {
            return Long.parseLong(new File("/proc/self").getCanonicalFile().getName());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
