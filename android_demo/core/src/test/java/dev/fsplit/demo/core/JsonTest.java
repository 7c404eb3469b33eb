package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.demo.core.json.Json;
import dev.fsplit.demo.core.json.JsonException;
import dev.fsplit.demo.core.json.JsonObject;
import dev.fsplit.demo.core.json.JsonWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesEveryValueKind() {
        Map<String, Object> m = Json.parseObject(
                "{\"a\": [1, -2.5e1, true, false, null], \"s\": \"x\\n\\u00e9\\\"\", \"big\": 12345678901234567890}");
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-25.0, a.get(1));
        assertEquals(Boolean.TRUE, a.get(2));
        assertEquals(Boolean.FALSE, a.get(3));
        assertNull(a.get(4));
        assertEquals("x\n\u00e9\"", m.get("s"));
        assertEquals(1.2345678901234567e19, (Double) m.get("big"), 1e4);
    }

    @Test
    void rejectsMalformedTextWithPosition() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"a\": 1,\n \"b\": }"));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertThrows(JsonException.class, () -> Json.parse("[1, 2"));
        assertThrows(JsonException.class, () -> Json.parse("{\"a\": 1} x"));
        assertThrows(JsonException.class, () -> Json.parse("{\"a\": 1, \"a\": 2}"));
        assertThrows(JsonException.class, () -> Json.parse("01"));
        assertThrows(JsonException.class, () -> Json.parse("\"\\x\""));
        assertThrows(JsonException.class, () -> Json.parse(null));
    }

    @Test
    void deepNestingIsRefusedNotAStackOverflow() {
        StringBuilder deep = new StringBuilder();
        for (int i = 0; i < 10000; i++) deep.append('[');
        assertThrows(JsonException.class, () -> Json.parse(deep.toString()));
    }

    @Test
    void typedAccessNamesTheFieldPath() {
        JsonObject o = JsonObject.parse("{\"input\": {\"resize\": {\"size\": [224, \"x\"]}}}");
        JsonException e = assertThrows(JsonException.class,
                () -> o.getObject("input").getObject("resize").getIntArray("size"));
        assertTrue(e.getMessage().contains("input.resize.size[1]"), e.getMessage());
        JsonException missing = assertThrows(JsonException.class, () -> o.getObject("input").getString("layout"));
        assertTrue(missing.getMessage().contains("input.layout"), missing.getMessage());
    }

    @Test
    void writerRoundTripsThroughTheReader() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"uote\\ \t");
        m.put("n", 3);
        m.put("d", 0.1);
        m.put("whole", 2.0);
        m.put("list", Arrays.asList(1, null, true));
        m.put("ints", new int[] {4, 5});
        String text = JsonWriter.write(m);
        Map<String, Object> back = Json.parseObject(text);
        assertEquals("q\"uote\\ \t", back.get("s"));
        assertEquals(3L, back.get("n"));
        assertEquals(0.1, back.get("d"));
        assertEquals(2.0, back.get("whole"));
        assertEquals(Arrays.asList(1L, null, true), back.get("list"));
        assertEquals(Arrays.asList(4L, 5L), back.get("ints"));
        assertThrows(JsonException.class, () -> JsonWriter.write(Double.NaN));
    }
}
