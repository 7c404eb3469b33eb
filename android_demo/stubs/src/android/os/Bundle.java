package android.os;

import java.util.Set;

/** STUB (not Android). */
public final class Bundle {
    public Set<String> keySet() { throw new RuntimeException("Stub!"); }

    /** Deprecated in API 33 (typed getters); still present. */
    @Deprecated
    public Object get(String key) { throw new RuntimeException("Stub!"); }
}
