package android.graphics;

/** STUB (not Android). */
public final class Rect {
}
