package dev.fsplit.demo;

import android.app.Activity;
import android.content.Intent;
import android.content.SharedPreferences;
import android.graphics.Bitmap;
import android.os.Bundle;
import android.provider.MediaStore;
import android.text.InputType;
import android.util.Log;
import android.widget.Button;
import android.widget.EditText;
import android.widget.ImageView;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.TextView;
import dev.fsplit.demo.core.Manifest;
import dev.fsplit.demo.core.RgbImage;
import dev.fsplit.demo.core.SplitPipeline;
import dev.fsplit.demo.core.serve.InferResult;
import dev.fsplit.demo.core.serve.ServeClient;
import java.io.File;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Interactive demo: pick a photo (gallery or camera) -> preprocess per manifest -> ExecuTorch encoder -> Java rANS
 * -> POST to fsplit-serve -> top-5, payload bytes, bpp, per-stage latency. Extras (optional):
 * {@code --es artifact DIR} (instead of the bundled artifact), {@code --es server URL}.
 */
public class MainActivity extends Activity {
    private static final int REQUEST_PICK = 1;
    private static final int REQUEST_CAMERA = 2;
    private static final String PREFS = "fsplit";
    /** The emulator's alias for the host's loopback, where `fsplit-serve --host 0.0.0.0` listens. */
    static final String DEFAULT_SERVER = "http://10.0.2.2:8000";

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    /** Read and written on the worker thread only. */
    private SplitPipeline pipeline;
    private Bitmap picture;
    private EditText server;
    private ImageView preview;
    private TextView output;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        SharedPreferences prefs = getSharedPreferences(PREFS, MODE_PRIVATE);
        String url = getIntent().getStringExtra("server");

        LinearLayout column = new LinearLayout(this);
        column.setOrientation(LinearLayout.VERTICAL);
        server = new EditText(this);
        server.setInputType(InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_VARIATION_URI);
        server.setText(url != null ? url : prefs.getString("server", DEFAULT_SERVER));
        column.addView(server);
        Button pick = new Button(this);
        pick.setText("Pick photo");
        pick.setOnClickListener(v -> {
            Intent intent = new Intent(Intent.ACTION_GET_CONTENT);
            intent.setType("image/*");
            startActivityForResult(intent, REQUEST_PICK);
        });
        column.addView(pick);
        Button camera = new Button(this);
        camera.setText("Camera");
        camera.setOnClickListener(v -> startActivityForResult(new Intent(MediaStore.ACTION_IMAGE_CAPTURE),
                REQUEST_CAMERA));
        column.addView(camera);
        Button run = new Button(this);
        run.setText("Run split inference");
        run.setOnClickListener(v -> runOnce());
        column.addView(run);
        preview = new ImageView(this);
        column.addView(preview);
        output = new TextView(this);
        output.setTextIsSelectable(true);
        column.addView(output);
        ScrollView scroll = new ScrollView(this);
        scroll.addView(column);
        setContentView(scroll);

        String artifactExtra = getIntent().getStringExtra("artifact");
        worker.execute(() -> loadPipeline(artifactExtra));
    }

    private void loadPipeline(String artifactExtra) {
        try {
            File dir = artifactExtra != null ? new File(artifactExtra) : ArtifactStore.bundledArtifact(this);
            Manifest manifest = Manifest.load(dir);
            pipeline = new SplitPipeline(manifest,
                    Runtimes.EXECUTORCH.load(manifest, new File(dir, manifest.file("encoder")), 0),
                    Runtimes.JAVA_RANS.load(manifest, new File(dir, manifest.tablesFile)));
            show(String.format(Locale.ROOT, "Loaded %s (%s, %s): input %dx%d, latent %dx%dx%d",
                    manifest.modelId, manifest.target, manifest.quantization, manifest.input.width(),
                    manifest.input.height(), manifest.latent.channels, manifest.latent.height,
                    manifest.latent.width));
        } catch (Exception e) {
            Log.e(BenchmarkActivity.TAG, "loading the artifact failed", e);
            show("Cannot load the artifact: " + e.getMessage());
        }
    }

    @Override
    @SuppressWarnings("deprecation")
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (resultCode != RESULT_OK || data == null) {
            return;
        }
        if (requestCode == REQUEST_PICK && data.getData() != null) {
            worker.execute(() -> {
                try {
                    Bitmap decoded = BitmapPixels.decode(getContentResolver(), data.getData());
                    runOnUiThread(() -> setPicture(decoded));
                } catch (Exception e) {
                    show("Cannot read that picture: " + e.getMessage());
                }
            });
        } else if (requestCode == REQUEST_CAMERA && data.getExtras() != null) {
            // Without EXTRA_OUTPUT the camera returns a thumbnail: enough for a 224x224 model input.
            Object thumbnail = data.getExtras().get("data");
            if (thumbnail instanceof Bitmap) {
                setPicture((Bitmap) thumbnail);
            }
        }
    }

    private void setPicture(Bitmap bitmap) {
        picture = bitmap;
        preview.setImageBitmap(bitmap);
        output.setText(String.format(Locale.ROOT, "Picture %dx%d: press Run", bitmap.getWidth(),
                bitmap.getHeight()));
    }

    private void runOnce() {
        final Bitmap bitmap = picture;
        final String url = server.getText().toString().trim();
        if (bitmap == null) {
            output.setText("Pick a photo first.");
            return;
        }
        getSharedPreferences(PREFS, MODE_PRIVATE).edit().putString("server", url).apply();
        output.setText("Running...");
        worker.execute(() -> {
            if (pipeline == null) {
                show("The artifact is not loaded (see the message above).");
                return;
            }
            try {
                RgbImage rgb = BitmapPixels.toRgb(bitmap);
                SplitPipeline.Outcome o = pipeline.infer(rgb, new ServeClient(url));
                show(describe(o));
            } catch (Exception e) {
                Log.e(BenchmarkActivity.TAG, "split inference failed", e);
                show("Failed: " + e.getMessage());
            }
        });
    }

    static String describe(SplitPipeline.Outcome o) {
        StringBuilder sb = new StringBuilder();
        sb.append("Top-5\n");
        for (InferResult.Prediction p : o.answer.top5) {
            sb.append(String.format(Locale.ROOT, "  %5.1f %%  %s (%d)%n", 100 * p.score, p.label, p.index));
        }
        sb.append(String.format(Locale.ROOT, "%nPayload %d bytes, %.4f bpp%n%n", o.encoded.container.length, o.bpp));
        sb.append("Latency (ms)\n").append(o.timings.format());
        sb.append("\nServer stages (ms)\n");
        for (Map.Entry<String, Double> e : o.answer.serverTimingsMs.entrySet()) {
            sb.append(String.format(Locale.ROOT, "  %-12s %8.2f%n", e.getKey(), e.getValue()));
        }
        return sb.toString();
    }

    private void show(String text) {
        runOnUiThread(() -> output.setText(text));
    }

    @Override
    protected void onDestroy() {
        // The pipeline is only touched on the worker thread: release it there, after any running request.
        worker.execute(() -> {
            if (pipeline != null) {
                pipeline.close();
                pipeline = null;
            }
        });
        worker.shutdown();
        super.onDestroy();
    }
}
