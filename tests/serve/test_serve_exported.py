"""fsplit-serve on an artifact written by the real exporter (frankensplit-lite0 architecture, ONNX target):
the served logits equal the eager PyTorch server part on the same symbols, and the client's ONNX encoder
produces the symbols the eager device part does."""

import numpy as np
import pytest
import torch

from fsplit_mobile.client import SplitClient
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.engine import ServerEngine
from serve_support import ThreadedServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from fsplit_mobile.export import api
    from fsplit_mobile.models.frankensplit_lite0 import (
        DEFAULT_CHECKPOINT,
        DEFAULT_CONFIG,
        build_trainable,
        load_default_model,
        save_checkpoint,
    )

    tmp = tmp_path_factory.mktemp("exported")
    if DEFAULT_CHECKPOINT.is_file():
        ckpt = DEFAULT_CHECKPOINT
    else:  # before the bundled model is trained: same architecture, random weights
        torch.manual_seed(0)
        encoder, bottleneck, decoder = build_trainable()
        bottleneck.update(force=True)
        ckpt = save_checkpoint(tmp / "model.pt", encoder, bottleneck, decoder, DEFAULT_CONFIG, {"note": "test"})
    api.export("onnx", "none", checkpoint=ckpt, out=tmp / "art")
    return tmp / "art" / "onnx-none", load_default_model(ckpt)


def test_served_logits_equal_the_eager_server_part(exported):
    from fsplit_mobile.evaluation.images import bundled_images
    from fsplit_mobile.runtime.preprocess import load_rgb

    art, split = exported
    engine = ServerEngine(art)
    with ThreadedServer(create_app(engine=engine)) as srv, SplitClient(art, srv.url) as client:
        for path in bundled_images("eval")[:2]:
            rgb = load_rgb(path, (224, 224))
            payload, _ = client.encode(rgb)
            x = torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
            mean = torch.tensor(split.mean).reshape(1, 3, 1, 1)
            std = torch.tensor(split.std).reshape(1, 3, 1, 1)
            with torch.no_grad():
                symbols = split.device.symbols((x - mean) / std)
                eager = split.server(symbols)[0].numpy()
            served = engine.infer(payload, keep_logits=True)
            np.testing.assert_array_equal(engine.decode(payload), symbols[0].numpy())
            np.testing.assert_allclose(served.logits, eager, rtol=1e-3, atol=1e-3)
            answer, _ = client.post(payload)
            assert [c["index"] for c in answer["top5"]] == [c["index"] for c in served.top5]
            assert answer["top5"][0]["label"] == engine.labels[int(np.argmax(eager))]
