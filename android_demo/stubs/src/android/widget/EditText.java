package android.widget;

import android.content.Context;
import android.text.Editable;

/** STUB (not Android). */
public class EditText extends TextView {
    public EditText(Context context) { super(context); }
    @Override
    public Editable getText() { throw new RuntimeException("Stub!"); }
}
