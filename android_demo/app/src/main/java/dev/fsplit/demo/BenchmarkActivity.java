package dev.fsplit.demo;

import android.app.Activity;
import android.os.Bundle;
import android.util.Log;
import android.widget.TextView;
import dev.fsplit.demo.core.bench.BenchEvents;
import dev.fsplit.demo.core.bench.BenchmarkArgs;
import dev.fsplit.demo.core.bench.BenchmarkRunner;
import dev.fsplit.demo.core.bench.BenchmarkMode;
import dev.fsplit.demo.core.bench.EventSink;
import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Benchmark mode for fsplit-bench --device adb. Start with
 * {@code adb shell am start -n dev.fsplit.demo/.BenchmarkActivity --es bundle DIR --ei runs N --ei warmup M}
 * (see android_demo/README.md). The work is done by the core's BenchmarkMode (which also runs on a plain JVM:
 * BenchmarkMode.main). Runs encoder + coding on a background thread, writes the
 * fsplit-bench-events/1 stream to the events file (and logcat, tag "fsplit"), then DIR/device-events.jsonl.exit
 * holding the exit status, and finishes.
 */
public class BenchmarkActivity extends Activity {
    static final String TAG = "fsplit";

    private TextView status;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        status = new TextView(this);
        status.setText("fsplit benchmark starting");
        setContentView(status);

        BenchmarkArgs args;
        File defaultOut = new File(getExternalFilesDir(null), "fsplit-bench");
        try {
            args = BenchmarkArgs.resolve(extras(getIntent().getExtras()), defaultOut);
        } catch (BenchmarkArgs.ArgsException e) {
            Log.e(TAG, "benchmark mode: " + e.getMessage());
            writeArgsError(new File(defaultOut, BenchmarkArgs.EVENTS_FILE), e.getMessage());
            status.setText("benchmark arguments: " + e.getMessage());
            finish();
            return;
        }
        final BenchmarkArgs run = args;
        Thread worker = new Thread(() -> runBenchmark(run), "fsplit-benchmark");
        worker.start();
    }

    private void runBenchmark(BenchmarkArgs args) {
        EventSink logcat = (kind, fields) -> Log.i(TAG, BenchEvents.format(kind, fields));
        BenchmarkRunner runner = new BenchmarkRunner("android-app", Runtimes.EXECUTORCH, Runtimes.JAVA_RANS,
                DeviceFacts.collect());
        int code;
        try {
            code = BenchmarkMode.runToFile(args, runner, logcat);
        } catch (IOException e) {
            Log.e(TAG, "cannot write the events file " + args.eventsFile + ": " + e
                    + " (the app can write its own external files dir and folders pushed into it)");
            code = BenchmarkRunner.EXIT_ERROR;
        }
        final int exit = code;
        Log.i(TAG, "benchmark finished with exit status " + exit + ", events in " + args.eventsFile);
        runOnUiThread(() -> {
            status.setText("benchmark finished (" + exit + "): " + args.eventsFile);
            finish();
        });
    }

    private static void writeArgsError(File eventsFile, String message) {
        try {
            BenchmarkMode.writeArgsError(eventsFile, message);
        } catch (IOException e) {
            Log.e(TAG, "cannot write " + eventsFile + ": " + e);
        }
    }

    /** Intent extras as a plain map for the core. */
    @SuppressWarnings("deprecation")
    private static Map<String, Object> extras(Bundle bundle) {
        Map<String, Object> map = new LinkedHashMap<>();
        if (bundle != null) {
            for (String key : bundle.keySet()) {
                map.put(key, bundle.get(key));
            }
        }
        return map;
    }
}
