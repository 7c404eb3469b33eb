package dev.fsplit.demo.core.json;

import java.util.List;
import java.util.Map;

/**
 * Typed, path-aware access to a parsed JSON object: every missing or mistyped field raises a
 * {@link JsonException} naming its full path (e.g. {@code input.resize.size}).
 */
public final class JsonObject {
    private final Map<String, Object> map;
    private final String path;

    public JsonObject(Map<String, Object> map, String path) {
        this.map = map;
        this.path = path;
    }

    public static JsonObject parse(String text) {
        return new JsonObject(Json.parseObject(text), "");
    }

    public String path() {
        return path;
    }

    public Map<String, Object> raw() {
        return map;
    }

    public boolean has(String key) {
        return map.containsKey(key);
    }

    /** True when the key is absent or holds JSON null. */
    public boolean isNull(String key) {
        return map.get(key) == null;
    }

    private String field(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private Object require(String key) {
        if (!map.containsKey(key)) {
            throw new JsonException("missing field '" + field(key) + "'");
        }
        Object v = map.get(key);
        if (v == null) {
            throw new JsonException("field '" + field(key) + "' is null");
        }
        return v;
    }

    private JsonException wrongType(String key, String expected, Object v) {
        return new JsonException("field '" + field(key) + "' must be " + expected + ", got " + Json.typeName(v));
    }

    @SuppressWarnings("unchecked")
    public JsonObject getObject(String key) {
        Object v = require(key);
        if (!(v instanceof Map)) throw wrongType(key, "an object", v);
        return new JsonObject((Map<String, Object>) v, field(key));
    }

    /** The object at key, or null when the key is absent or null. */
    public JsonObject optObject(String key) {
        return isNull(key) ? null : getObject(key);
    }

    public String getString(String key) {
        Object v = require(key);
        if (!(v instanceof String)) throw wrongType(key, "a string", v);
        return (String) v;
    }

    public String optString(String key, String fallback) {
        return isNull(key) ? fallback : getString(key);
    }

    public boolean getBoolean(String key) {
        Object v = require(key);
        if (!(v instanceof Boolean)) throw wrongType(key, "true or false", v);
        return (Boolean) v;
    }

    public boolean optBoolean(String key, boolean fallback) {
        return isNull(key) ? fallback : getBoolean(key);
    }

    public double getDouble(String key) {
        Object v = require(key);
        if (!(v instanceof Number)) throw wrongType(key, "a number", v);
        return ((Number) v).doubleValue();
    }

    public long getLong(String key) {
        Object v = require(key);
        if (!(v instanceof Long)) throw wrongType(key, "an integer", v);
        return (Long) v;
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new JsonException("field '" + field(key) + "' is out of the int range: " + v);
        }
        return (int) v;
    }

    public int optInt(String key, int fallback) {
        return isNull(key) ? fallback : getInt(key);
    }

    public List<Object> getList(String key) {
        Object v = require(key);
        if (!(v instanceof List)) throw wrongType(key, "an array", v);
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) v;
        return list;
    }

    public int[] getIntArray(String key) {
        List<Object> list = getList(key);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object item = list.get(i);
            if (!(item instanceof Long) || (Long) item < Integer.MIN_VALUE || (Long) item > Integer.MAX_VALUE) {
                throw new JsonException("field '" + field(key) + "[" + i + "]' must be an int, got " + item);
            }
            out[i] = (int) (long) (Long) item;
        }
        return out;
    }

    public double[] getDoubleArray(String key) {
        List<Object> list = getList(key);
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object item = list.get(i);
            if (!(item instanceof Number)) {
                throw new JsonException("field '" + field(key) + "[" + i + "]' must be a number, got "
                        + Json.typeName(item));
            }
            out[i] = ((Number) item).doubleValue();
        }
        return out;
    }
}
