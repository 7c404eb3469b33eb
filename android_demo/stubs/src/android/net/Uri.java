package android.net;

/** STUB (not Android). */
public abstract class Uri {
}
