package android.widget;

import android.content.Context;

/** STUB (not Android). */
public class ScrollView extends FrameLayout {
    public ScrollView(Context context) { super(context); }
}
