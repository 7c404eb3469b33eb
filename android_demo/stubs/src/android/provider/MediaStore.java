package android.provider;

/** STUB (not Android). */
public final class MediaStore {
    public static final String ACTION_IMAGE_CAPTURE = "android.media.action.IMAGE_CAPTURE";

    private MediaStore() { }
}
