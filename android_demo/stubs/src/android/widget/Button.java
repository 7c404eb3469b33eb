package android.widget;

import android.content.Context;

/** STUB (not Android). */
public class Button extends TextView {
    public Button(Context context) { super(context); }
}
