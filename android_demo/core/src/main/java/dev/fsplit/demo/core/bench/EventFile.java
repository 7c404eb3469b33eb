package dev.fsplit.demo.core.bench;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Appends event lines to a file, flushing each, so an interrupted run keeps what it measured. When the run ends,
 * {@link #finish(int)} writes the runner's exit status (0 done, 2 error, 3 storage full) to
 * {@code <events file>.exit}: the marker a host polls for, since {@code am start} returns before the run ends.
 */
public final class EventFile implements EventSink, AutoCloseable {
    private final File file;
    private final Writer writer;
    private final EventSink mirror;

    public EventFile(File file, EventSink mirror) throws IOException {
        this.file = file;
        File parent = file.getAbsoluteFile().getParentFile();
        if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
            throw new IOException("cannot create folder " + parent + " for the events file");
        }
        new File(file.getPath() + ".exit").delete();
        OutputStream out = new FileOutputStream(file, false);
        this.writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        this.mirror = mirror;
    }

    public File file() {
        return file;
    }

    @Override
    public void emit(String kind, Map<String, Object> fields) throws IOException {
        writer.write(BenchEvents.format(kind, fields));
        writer.write('\n');
        writer.flush();
        if (mirror != null) {
            mirror.emit(kind, fields);
        }
    }

    /** Close the events file, then write the exit marker. */
    public void finish(int exitCode) throws IOException {
        writer.close();
        File marker = new File(file.getPath() + ".exit");
        try (Writer w = new OutputStreamWriter(new FileOutputStream(marker), StandardCharsets.UTF_8)) {
            w.write(Integer.toString(exitCode));
            w.write('\n');
        }
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
