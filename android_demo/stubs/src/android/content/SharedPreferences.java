package android.content;

/** STUB (not Android). */
public interface SharedPreferences {
    String getString(String key, String defValue);

    Editor edit();

    interface Editor {
        Editor putString(String key, String value);

        void apply();
    }
}
