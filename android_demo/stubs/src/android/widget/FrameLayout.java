package android.widget;

import android.content.Context;
import android.view.ViewGroup;

/** STUB (not Android). */
public class FrameLayout extends ViewGroup {
    public FrameLayout(Context context) { super(context); }
}
