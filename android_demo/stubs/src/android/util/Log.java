package android.util;

/** STUB (not Android). */
public final class Log {
    private Log() { }

    public static int i(String tag, String msg) { throw new RuntimeException("Stub!"); }
    public static int e(String tag, String msg) { throw new RuntimeException("Stub!"); }
    public static int e(String tag, String msg, Throwable tr) { throw new RuntimeException("Stub!"); }
}
