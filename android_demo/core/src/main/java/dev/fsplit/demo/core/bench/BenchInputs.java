package dev.fsplit.demo.core.bench;

import dev.fsplit.demo.core.Ppm;
import dev.fsplit.demo.core.RgbImage;
import dev.fsplit.demo.core.json.Json;
import dev.fsplit.demo.core.json.JsonException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The inputs/ folder of a bench bundle: index.json ([{"name", "file"}, ...]) and one PPM per image. */
public final class BenchInputs {
    /** One benchmark image at model resolution. */
    public static final class Named {
        public final String name;
        public final RgbImage image;

        Named(String name, RgbImage image) {
            this.name = name;
            this.image = image;
        }
    }

    private BenchInputs() {
    }

    public static List<Named> load(File inputsDir) throws BenchmarkException {
        File indexFile = new File(inputsDir, "index.json");
        Object index;
        try {
            index = Json.parse(new String(Files.readAllBytes(indexFile.toPath()), StandardCharsets.UTF_8));
        } catch (IOException | JsonException e) {
            throw new BenchmarkException("inputs index unreadable: " + indexFile + ": " + e.getMessage(), "input", e);
        }
        if (!(index instanceof List) || ((List<?>) index).isEmpty()) {
            throw new BenchmarkException("no input images in " + indexFile, "input");
        }
        List<Named> out = new ArrayList<>();
        for (Object item : (List<?>) index) {
            if (!(item instanceof Map) || !(((Map<?, ?>) item).get("name") instanceof String)
                    || !(((Map<?, ?>) item).get("file") instanceof String)) {
                throw new BenchmarkException(indexFile + ": each entry needs string 'name' and 'file', got " + item,
                        "input");
            }
            String name = (String) ((Map<?, ?>) item).get("name");
            String fileName = (String) ((Map<?, ?>) item).get("file");
            if (fileName.contains("/") || fileName.contains("..")) {
                throw new BenchmarkException(indexFile + ": input file must be a plain name, got " + fileName, "input");
            }
            try {
                out.add(new Named(name, Ppm.read(new File(inputsDir, fileName))));
            } catch (IOException e) {
                throw new BenchmarkException("input image " + fileName + ": " + e.getMessage(), "input", e);
            }
        }
        return out;
    }
}
