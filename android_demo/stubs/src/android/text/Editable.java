package android.text;

/** STUB (not Android). */
public interface Editable extends CharSequence {
}
