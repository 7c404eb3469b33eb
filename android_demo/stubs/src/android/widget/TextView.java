package android.widget;

import android.content.Context;
import android.view.View;

/** STUB (not Android). */
public class TextView extends View {
    public TextView(Context context) { super(context); }
    public final void setText(CharSequence text) { throw new RuntimeException("Stub!"); }
    public CharSequence getText() { throw new RuntimeException("Stub!"); }
    public void setTextIsSelectable(boolean selectable) { throw new RuntimeException("Stub!"); }
    public void setInputType(int type) { throw new RuntimeException("Stub!"); }
}
