"""Checkpoint import: synthetic checkpoints in each documented layout, saved with torch.save and loaded back;
every error case with its message."""

import argparse
import fractions
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import oracle
from fsplit_mobile.entropy import EntropyBottleneck
from fsplit_mobile.models import FactorizedPriorDecoder, FrankenSplitEncoder, SplitModel, registry
from fsplit_mobile.models import checkpoint as ck
from repo_paths import REPO

BUNDLED = REPO / "fsplit_mobile" / "data" / "default" / "frankensplit_lite0.pt"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _randomize(module: nn.Module, seed: int) -> nn.Module:
    """Random weights everywhere (GDN parameters kept valid), so that a wrong mapping cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if hasattr(m, "beta_reparam"):  # ours or CompressAI's GDN/GDN1
                m.beta.copy_(m.beta_reparam.init(0.5 + torch.rand(m.beta.shape, generator=g)))
                m.gamma.copy_(m.gamma_reparam.init(0.2 * torch.rand(m.gamma.shape, generator=g)))
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.2)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return module


def _random_eb(eb, seed: int):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in list(eb.matrices) + list(eb.biases) + list(eb.factors):
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
        c = eb.quantiles.shape[0]
        med = torch.randn(c, generator=g)
        eb.quantiles[:, 0, 1] = med
        eb.quantiles[:, 0, 0] = med - 2 - 6 * torch.rand(c, generator=g)
        eb.quantiles[:, 0, 2] = med + 2 + 6 * torch.rand(c, generator=g)
    return eb


def _legacy_eb_names(state: dict) -> dict:
    """CompressAI < 1.2.6 parameter names (_matrix0, _bias0, _factor0), as FrankenSplit checkpoints carry."""
    out = {}
    for key, value in state.items():
        for current, old in (("matrices.", "_matrix"), ("biases.", "_bias"), ("factors.", "_factor")):
            if key.startswith(current):
                key = old + key[len(current) :]
        out[key] = value
    return out


def _torchdistill(model_state: dict) -> dict:
    """What torchdistill's save_ckpt writes."""
    return {
        "model": model_state,
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]}]},
        "best_value": 71.5,
        "lr_scheduler": {"last_epoch": 3},
        "config": {"models": {"student_model": {"name": "x"}}},
        "args": argparse.Namespace(config="cfg.yaml", device="cuda", seed=None),
    }


def _save(tmp_path: Path, obj, name: str = "ckpt.pt") -> Path:
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _assert_same_tables(eb: EntropyBottleneck, cdf, lengths, offsets):
    got = eb.tables()
    for a, b in zip(got, (cdf, lengths, offsets)):
        assert np.array_equal(a, np.asarray(b))


# ---- FrankenSplit ------------------------------------------------------------------------------------------------
def _frankensplit_state(channels=(48, 64, 48), with_tables=True, seed=0):
    """(source encoder, source EB, torchdistill model state) in FrankenSplit's layout (compressai 1.2.2 names)."""
    enc = _randomize(FrankenSplitEncoder(channels), seed).eval()
    eb = _random_eb(EntropyBottleneck(channels[-1]), seed)
    if with_tables:
        eb.update()
    state = {}
    for key, value in enc.state_dict().items():  # layers.{i}.conv1.weight -> g_a.rb{i+1}.conv1.weight
        _, index, rest = key.split(".", 2)
        state[f"compression_module.g_a.rb{int(index) + 1}.{rest}"] = value
    for key, value in _legacy_eb_names(eb.state_dict()).items():
        state[f"compression_module.entropy_bottleneck.{key}"] = value
    # server side: the synthesis network and the backbone's tail (not the device's)
    state["compression_module.g_s.final_layer.0.weight"] = torch.randn(96, 48, 3, 3)
    state["compression_module.g_s.final_layer.0.bias"] = torch.randn(96)
    state["backbone.layers.2.blocks.0.norm1.weight"] = torch.randn(512)
    state["backbone.head.weight"] = torch.randn(1000, 1024)
    return enc, eb, state


def test_frankensplit_checkpoint_loads_device_part(tmp_path):
    enc, eb, state = _frankensplit_state()
    path = _save(tmp_path, _torchdistill(state), "frankensplit_fp_l015.pt")
    model = ck.load_checkpoint(path)
    assert isinstance(model, SplitModel)
    assert model.architecture == "frankensplit-fp" and model.model_id == "frankensplit_fp_l015"
    assert model.meta["layout"] == "frankensplit" and model.meta["tables"] == "stored"
    assert model.server is None
    assert "backbone.head.weight" in model.meta["server_keys"]
    assert model.meta["server_key_groups"] == {"compression_module.g_s": 2, "backbone.layers": 1, "backbone.head": 1}
    assert model.latent_shape() == (48, 28, 28)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(model.device(x), enc(x))
        assert torch.equal(model.device.symbols(x), eb.symbols(enc(x)))
    _assert_same_tables(model.device.entropy_bottleneck, eb._quantized_cdf, eb._cdf_length, eb._offset)
    assert not model.device.training


def test_frankensplit_other_widths_without_tables_and_dataparallel_prefix(tmp_path):
    enc, eb, state = _frankensplit_state(channels=(64, 96, 32), with_tables=False, seed=1)
    state = {f"module.{k}": v for k, v in state.items()}
    model = ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    assert model.meta["config"]["channels"] == (64, 96, 32) and model.meta["tables"] == "computed"
    eb.update()
    _assert_same_tables(model.device.entropy_bottleneck, eb._quantized_cdf, eb._cdf_length, eb._offset)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.device(x), enc(x))


def test_stored_tables_win_over_recomputation(tmp_path):
    enc, eb, state = _frankensplit_state(seed=2)
    other = _random_eb(EntropyBottleneck(48), 99)  # tables of another density (as an older CompressAI's would be)
    other.update()
    prefix = "compression_module.entropy_bottleneck."
    for name in ("_quantized_cdf", "_cdf_length", "_offset"):
        state[prefix + name] = getattr(other, name)
    model = ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    _assert_same_tables(model.device.entropy_bottleneck, other._quantized_cdf, other._cdf_length, other._offset)
    assert not torch.equal(other._quantized_cdf, eb._quantized_cdf)


# ---- sc2bench ------------------------------------------------------------------------------------------------------
def _sc2bench_state(seed=0):
    """sc2bench's splittable ResNet with an FPBasedResNetBottleneck, built from CompressAI's own GDN1 layer."""
    gdn = oracle.compressai_gdn_module()
    encoder = nn.Sequential(
        nn.Conv2d(3, 96, 5, stride=2, padding=2, bias=False),
        gdn.GDN1(96),
        nn.Conv2d(96, 48, 5, stride=2, padding=2, bias=False),
        gdn.GDN1(48),
        nn.Conv2d(48, 24, 2, stride=1, padding=0, bias=False),
    )
    _randomize(encoder, seed).eval()
    eb = oracle.compressai_entropy_bottleneck(24)
    _random_eb(eb, seed)
    eb.update()
    state = {f"bottleneck_layer.encoder.{k}": v for k, v in encoder.state_dict().items()}
    state.update({f"bottleneck_layer.entropy_bottleneck.{k}": v for k, v in eb.state_dict().items()})
    state["bottleneck_layer.decoder.0.weight"] = torch.randn(512, 24, 2, 2)
    state["bottleneck_layer.decoder.1.beta"] = torch.rand(512)
    state["layer2.0.conv1.weight"] = torch.randn(128, 256, 1, 1)
    state["fc.weight"] = torch.randn(1000, 2048)
    return encoder, eb, state


def test_sc2bench_checkpoint_loads_device_part(tmp_path):
    encoder, eb, state = _sc2bench_state()
    model = ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    assert model.architecture == "entropic-student" and model.meta["layout"] == "sc2bench"
    assert model.server is None and "fc.weight" in model.meta["server_keys"]
    assert "bottleneck_layer.decoder.0.weight" in model.meta["server_keys"]
    assert model.latent_shape() == (24, 55, 55)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model.device(x), encoder(x), rtol=1e-5, atol=1e-6)
    _assert_same_tables(model.device.entropy_bottleneck, eb._quantized_cdf, eb._cdf_length, eb._offset)


def test_sc2bench_detection_backbone_prefix(tmp_path):
    encoder, _, state = _sc2bench_state(seed=3)
    state = {f"backbone.body.{k}" if k.startswith("bottleneck_layer") else k: v for k, v in state.items()}
    model = ck.load_checkpoint(_save(tmp_path, {"model": state}))
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(model.device(x), encoder(x), rtol=1e-5, atol=1e-6)


# ---- CompressAI bmshj2018-factorized -------------------------------------------------------------------------------
def _compressai_state(N=16, M=24, seed=0, with_decoder=True):
    gdn = oracle.compressai_gdn_module()
    conv = lambda a, b: nn.Conv2d(a, b, 5, stride=2, padding=2)  # noqa: E731
    deconv = lambda a, b: nn.ConvTranspose2d(a, b, 5, stride=2, padding=2, output_padding=1)  # noqa: E731
    g_a = nn.Sequential(conv(3, N), gdn.GDN(N), conv(N, N), gdn.GDN(N), conv(N, N), gdn.GDN(N), conv(N, M))
    g_s = nn.Sequential(
        deconv(M, N),
        gdn.GDN(N, inverse=True),
        deconv(N, N),
        gdn.GDN(N, inverse=True),
        deconv(N, N),
        gdn.GDN(N, inverse=True),
        deconv(N, 3),
    )
    _randomize(g_a, seed).eval(), _randomize(g_s, seed + 1).eval()
    eb = oracle.compressai_entropy_bottleneck(M)
    _random_eb(eb, seed)
    eb.update()
    state = {f"g_a.{k}": v for k, v in g_a.state_dict().items()}
    state.update({f"entropy_bottleneck.{k}": v for k, v in eb.state_dict().items()})
    if with_decoder:
        state.update({f"g_s.{k}": v for k, v in g_s.state_dict().items()})
    return g_a, g_s, eb, state


@pytest.mark.parametrize("N,M", [(16, 24), (8, 12)])
def test_compressai_factorized_state_dict_loads_encoder_and_decoder(tmp_path, N, M):
    g_a, g_s, eb, state = _compressai_state(N, M)
    model = ck.load_checkpoint(_save(tmp_path, state))
    assert model.architecture == "bmshj2018-factorized" and model.meta["layout"] == "compressai"
    assert model.meta["config"]["N"] == N and model.meta["config"]["M"] == M
    assert model.mean == (0.0, 0.0, 0.0) and model.std == (1.0, 1.0, 1.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        y = g_a(x)
        torch.testing.assert_close(model.device(x), y, rtol=1e-4, atol=1e-5)  # rsqrt vs 1/sqrt rounding
        symbols = model.device.symbols(x)
        y_hat = eb.dequantize(
            eb.quantize(y, "symbols", eb._get_medians().reshape(1, -1, 1, 1)), eb._get_medians().reshape(1, -1, 1, 1)
        )
        assert isinstance(model.server.decoder, FactorizedPriorDecoder)
        torch.testing.assert_close(model.server(symbols), g_s(y_hat), rtol=1e-4, atol=1e-5)
    _assert_same_tables(model.device.entropy_bottleneck, eb._quantized_cdf, eb._cdf_length, eb._offset)


def test_compressai_encoder_only_state_dict_has_no_server(tmp_path):
    _, _, _, state = _compressai_state(with_decoder=False)
    model = ck.load_checkpoint(_save(tmp_path, state))
    assert model.server is None and model.latent_shape() == (24, 14, 14)


# ---- our own format -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arch,config",
    [
        ("frankensplit-fp", {}),
        ("entropic-student", {"num_channels": (32, 16, 8)}),
        ("bmshj2018-factorized", {"N": 8, "M": 12}),
    ],
)
def test_fsplit_checkpoint_round_trip(tmp_path, arch, config):
    device = registry.build_device_model(arch, config)
    _randomize(device.encoder, 5)
    _random_eb(device.entropy_bottleneck, 5)
    device.entropy_bottleneck.update()
    decoder = registry.build_decoder(arch, config)
    if decoder is not None:
        _randomize(decoder, 6)
    path = ck.save_checkpoint(
        tmp_path / "sub" / "m.pt", arch, config, device.eval(), decoder, meta={"trained_on": "synthetic"}
    )
    assert not list(path.parent.glob("*.partial"))
    model = ck.load_checkpoint(path)
    assert model.architecture == arch and model.meta["layout"] == "fsplit-checkpoint/1"
    assert model.meta["checkpoint_meta"] == {"trained_on": "synthetic"}
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.device(x), device(x))
        if decoder is not None:
            sym = model.device.symbols(x)
            assert torch.equal(model.server(sym), decoder.eval()(device.entropy_bottleneck.dequantize(sym)))
        else:
            assert model.server is None
    _assert_same_tables(model.device.entropy_bottleneck, *device.entropy_bottleneck.tables())


def _lite0_checkpoint(tmp_path: Path, seed: int = 7):
    from fsplit_mobile.models import frankensplit_lite0

    encoder, bottleneck, decoder = frankensplit_lite0.build_trainable()
    _randomize(encoder, seed)
    _random_eb(bottleneck, seed)
    bottleneck.update()
    path = frankensplit_lite0.save_checkpoint(
        tmp_path / "lite0.pt",
        encoder,
        bottleneck,
        decoder,
        dict(frankensplit_lite0.DEFAULT_CONFIG),
        {"note": "synthetic"},
    )
    return encoder, bottleneck, decoder, path


def test_every_layout_is_in_the_one_registry():
    ours = ["default-model", "fsplit-checkpoint/1", "frankensplit", "sc2bench", "compressai"]
    assert [layout.name for layout in ck.LAYOUTS if layout.name in ours] == ours  # others may be registered too
    assert "frankensplit-lite0" in registry.ARCHITECTURES
    with pytest.raises(ValueError, match="already registered"):
        ck.register_layout(ck.LAYOUTS[0])


def test_a_registered_layout_is_tried_in_its_place(tmp_path, monkeypatch):
    """A new layout is one match/load pair: registered ahead of CompressAI, it gets the files it matches."""
    monkeypatch.setattr(ck.layouts, "LAYOUTS", list(ck.LAYOUTS))
    seen = []

    def load(src, prefix):
        seen.append((src.path, prefix, sorted(src.state)))
        return "mine"

    ck.register_layout(
        ck.Layout("mine", "mine (x.*)", lambda s: "x." if "x.w" in s.keys() else None, load), before="compressai"
    )
    assert [layout.name for layout in ck.layouts.LAYOUTS][-2:] == ["mine", "compressai"]
    path = _save(tmp_path, {"model": {"module.x.w": torch.zeros(1)}})
    assert ck.load_checkpoint(path) == "mine"
    assert seen == [(path, "x.", ["x.w"])]
    with pytest.raises(ck.UnknownLayoutError, match=r"known: .*mine \(x\.\*\)"):
        ck.load_checkpoint(_save(tmp_path, {"y.w": torch.zeros(1)}, "other.pt"))


def test_broken_default_model_checkpoint_raises_a_checkpoint_error(tmp_path):
    _, _, _, path = _lite0_checkpoint(tmp_path)
    payload = torch.load(path, weights_only=True)
    del payload["state_dict"]["decoder.head.weight"]
    broken = _save(tmp_path, payload, "broken.pt")
    with pytest.raises(ck.MissingKeysError, match=r"broken.pt: missing key\(s\): decoder.head.weight"):
        ck.load_checkpoint(broken)
    payload = torch.load(path, weights_only=True)
    payload["config"]["decoder"]["depth"] = 2
    with pytest.raises(ck.UnknownLayoutError, match="cannot build the decoder of 'frankensplit-lite0'.*depth"):
        ck.load_checkpoint(_save(tmp_path, payload, "config.pt"))
    payload = torch.load(path, weights_only=True)
    for name in ("_quantized_cdf", "_cdf_length", "_offset"):
        del payload["state_dict"][f"entropy_bottleneck.{name}"]
    with pytest.raises(ck.StoredTablesError, match="entropy_bottleneck has no stored CDF tables"):
        ck.load_checkpoint(_save(tmp_path, payload, "tables.pt"))


def test_default_model_checkpoint_round_trip_through_load_checkpoint(tmp_path):
    encoder, bottleneck, decoder, path = _lite0_checkpoint(tmp_path)
    assert not list(path.parent.glob("*.partial"))
    model = ck.load_checkpoint(path)
    assert model.architecture == "frankensplit-lite0" and model.server is not None
    assert model.model_id == "frankensplit-lite0" and model.meta["note"] == "synthetic"
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(model.device(x), encoder.eval()(x))
        assert model.server(model.device.symbols(x)).shape == (1, 1000)
    _assert_same_tables(model.device.entropy_bottleneck, *bottleneck.tables())


def test_bundled_default_model_loads_through_load_checkpoint():
    if not BUNDLED.exists():
        pytest.skip(f"bundled checkpoint {BUNDLED} not committed yet")
    model = ck.load_checkpoint(BUNDLED)
    assert isinstance(model, SplitModel)
    assert model.device.entropy_bottleneck.has_tables()
    assert model.latent_shape()[0] == model.device.entropy_bottleneck.channels


# ---- errors -------------------------------------------------------------------------------------------------------
def test_all_errors_share_one_base_class():
    for cls in (
        ck.CheckpointReadError,
        ck.UnsafeCheckpointError,
        ck.UnknownLayoutError,
        ck.MissingKeysError,
        ck.UnexpectedKeysError,
        ck.ShapeMismatchError,
        ck.StoredTablesError,
    ):
        assert issubclass(cls, ck.CheckpointError)


def test_each_error_class_is_defined_once():
    """The export package and the default model use the checkpoint errors; the coder's table error is shared."""
    from fsplit_mobile import codec
    from fsplit_mobile.export import errors as export_errors
    from fsplit_mobile.models import frankensplit_lite0

    assert ck.InvalidTablesError is codec.InvalidTablesError
    assert issubclass(ck.StoredTablesError, codec.InvalidTablesError)
    assert export_errors.CheckpointError is ck.CheckpointError
    assert frankensplit_lite0.CheckpointFormatError is ck.CheckpointError


def test_no_error_class_is_defined_twice():
    """One class per error name across the package (re-exports are imports, not definitions)."""
    import ast
    from collections import defaultdict

    package = REPO / "fsplit_mobile"
    where = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                where[node.name].append(f"{path.relative_to(package)}:{node.lineno}")
    assert {name: places for name, places in where.items() if len(places) > 1} == {}


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ck.CheckpointReadError, match="does not exist"):
        ck.load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ck.CheckpointReadError, match="is not a file"):
        ck.load_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "content,message",
    [
        (
            bytes(np.random.default_rng(0).integers(0, 256, 512, dtype=np.uint8)),
            "not a PyTorch checkpoint .*found bytes",
        ),
        (b"epoch,loss\n1,0.5\n", "not a PyTorch checkpoint .*found text starting 'epoch,loss"),
        (b"", "not a PyTorch checkpoint .*an empty file"),
    ],
    ids=["random-bytes", "text", "empty"],
)
def test_not_a_checkpoint(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ck.CheckpointReadError, match=message):
        ck.load_checkpoint(path)


def test_truncated_and_foreign_zip_files(tmp_path):
    _, _, _, state = _compressai_state()
    good = _save(tmp_path, state)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ck.CheckpointReadError, match="corrupt or not a PyTorch checkpoint"):
        ck.load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ck.CheckpointReadError, match="corrupt or not a PyTorch checkpoint"):
        ck.load_checkpoint(foreign)


def test_arbitrary_pickle_is_refused_unless_trusted(tmp_path):
    _, _, state = _frankensplit_state()
    obj = _torchdistill(state)
    obj["best_value"] = fractions.Fraction(143, 2)  # a class outside torch's weights-only allowlist
    path = _save(tmp_path, obj)
    with pytest.raises(ck.UnsafeCheckpointError, match=r"fractions\.Fraction.*trust_pickle=True") as info:
        ck.load_checkpoint(path)
    assert info.value.global_name == "fractions.Fraction"
    assert ck.load_checkpoint(path, trust_pickle=True).architecture == "frankensplit-fp"


def test_unknown_layouts(tmp_path):
    with pytest.raises(ck.UnknownLayoutError, match="expected a dict.*list"):
        ck.load_checkpoint(_save(tmp_path, [torch.zeros(2)], "a.pt"))
    with pytest.raises(ck.UnknownLayoutError, match=r"unknown checkpoint layout \(key groups: features.0, classifier"):
        ck.load_checkpoint(
            _save(tmp_path, {"features.0.weight": torch.zeros(1), "classifier.weight": torch.zeros(1)}, "b.pt")
        )
    with pytest.raises(ck.UnknownLayoutError, match="no state dict found .*epoch, note"):
        ck.load_checkpoint(_save(tmp_path, {"epoch": 3, "note": "x"}, "c.pt"))
    _, _, _, state = _compressai_state()
    state["h_a.0.weight"] = torch.zeros(1)
    with pytest.raises(ck.UnknownLayoutError, match="h_a.* keys .*only bmshj2018-factorized"):
        ck.load_checkpoint(_save(tmp_path, state, "d.pt"))
    _, _, fs_state = _frankensplit_state()
    fs_state["compression_module.h_a.0.weight"] = torch.zeros(1)
    with pytest.raises(ck.UnknownLayoutError, match="hyperprior"):
        ck.load_checkpoint(_save(tmp_path, _torchdistill(fs_state), "e.pt"))
    sc_state = {
        "bottleneck_layer.g_a.0.weight": torch.zeros(1),
        "bottleneck_layer.entropy_bottleneck.quantiles": torch.zeros(1),
    }
    with pytest.raises(ck.UnknownLayoutError, match="hyperprior"):
        ck.load_checkpoint(_save(tmp_path, {"model": sc_state}, "f.pt"))


def test_missing_keys_are_named(tmp_path):
    _, _, state = _frankensplit_state()
    del state["compression_module.g_a.rb2.conv2.weight"]
    del state["compression_module.entropy_bottleneck._factor1"]
    with pytest.raises(ck.MissingKeysError) as info:
        ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    assert info.value.keys == [
        "compression_module.g_a.rb2.conv2.weight",
        "compression_module.entropy_bottleneck._factor1",
    ]
    assert (
        "missing key(s): compression_module.g_a.rb2.conv2.weight, compression_module.entropy_bottleneck._factor1"
        in str(info.value)
    )

    _, _, state = _frankensplit_state()
    del state["compression_module.g_a.rb3.conv1.weight"]  # a tensor the config is read from
    with pytest.raises(ck.MissingKeysError, match=r"missing key\(s\): compression_module.g_a.rb3.conv1.weight"):
        ck.load_checkpoint(_save(tmp_path, _torchdistill(state), "b.pt"))

    _, _, _, state = _compressai_state()
    del state["entropy_bottleneck.matrices.2"]
    with pytest.raises(ck.MissingKeysError, match=r"missing key\(s\): entropy_bottleneck.matrices.2"):
        ck.load_checkpoint(_save(tmp_path, state, "c.pt"))

    _, _, _, state = _compressai_state()
    del state["g_s.3.gamma"]
    with pytest.raises(ck.MissingKeysError, match=r"missing key\(s\): g_s.3.gamma$"):
        ck.load_checkpoint(_save(tmp_path, state, "d.pt"))


def test_constant_buffers_and_tables_may_be_absent(tmp_path):
    enc, _, state = _frankensplit_state()
    for key in [k for k in state if k.endswith(("_quantized_cdf", "_offset", "_cdf_length", ".target", ".bound"))]:
        del state[key]
    model = ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    assert model.meta["tables"] == "computed"


def test_unexpected_keys_are_named(tmp_path):
    _, _, state = _frankensplit_state()
    state["compression_module.g_a.rb1.extra.weight"] = torch.zeros(3)
    state["compression_module.g_a.rb4.conv1.weight"] = torch.zeros(3)
    with pytest.raises(ck.UnexpectedKeysError) as info:
        ck.load_checkpoint(_save(tmp_path, _torchdistill(state)))
    assert info.value.keys == ["compression_module.g_a.rb1.extra.weight", "compression_module.g_a.rb4.conv1.weight"]
    assert "unexpected key(s): compression_module.g_a.rb1.extra.weight" in str(info.value)

    _, _, _, state = _compressai_state()
    state["lmbda"] = torch.tensor(0.01)
    with pytest.raises(ck.UnexpectedKeysError, match=r"unexpected key\(s\): lmbda"):
        ck.load_checkpoint(_save(tmp_path, state, "b.pt"))


def test_wrong_shapes_name_key_and_both_shapes(tmp_path):
    _, _, state = _frankensplit_state()
    state["compression_module.g_a.rb2.conv2.weight"] = torch.zeros(64, 64, 5, 5)
    path = _save(tmp_path, _torchdistill(state))
    with pytest.raises(
        ck.ShapeMismatchError,
        match=re.escape(
            "compression_module.g_a.rb2.conv2.weight: expected (64, 64, 3, 3), checkpoint has (64, 64, 5, 5)"
        ),
    ) as info:
        ck.load_checkpoint(path)
    assert info.value.mismatches == [("compression_module.g_a.rb2.conv2.weight", (64, 64, 3, 3), (64, 64, 5, 5))]

    _, _, _, state = _compressai_state(N=16, M=24)
    state["entropy_bottleneck.quantiles"] = torch.zeros(20, 1, 3)  # entropy model for another latent width
    with pytest.raises(
        ck.ShapeMismatchError,
        match=re.escape("entropy_bottleneck.quantiles: expected (24, 1, 3), checkpoint has (20, 1, 3)"),
    ):
        ck.load_checkpoint(_save(tmp_path, state, "b.pt"))

    _, _, _, state = _compressai_state(N=16, M=24)
    state["entropy_bottleneck._offset"] = torch.zeros(23, dtype=torch.int32)
    with pytest.raises(ck.ShapeMismatchError, match=re.escape("entropy_bottleneck._offset: expected (24,)")):
        ck.load_checkpoint(_save(tmp_path, state, "c.pt"))


def test_invalid_stored_tables_are_refused(tmp_path):
    _, _, _, state = _compressai_state()
    cdf = state["entropy_bottleneck._quantized_cdf"].clone()
    cdf[3, 2] = cdf[3, 1] - 1  # not monotone
    state["entropy_bottleneck._quantized_cdf"] = cdf
    with pytest.raises(ck.InvalidTablesError, match="_quantized_cdf row 3 is not a valid 16-bit CDF") as info:
        ck.load_checkpoint(_save(tmp_path, state))
    assert isinstance(info.value, ck.CheckpointError)


def test_non_tensor_value_under_a_device_key(tmp_path):
    _, _, state = _frankensplit_state()
    obj = _torchdistill(state)
    obj["model"] = dict(state)
    obj["model"]["compression_module.entropy_bottleneck.quantiles"] = [1.0, 2.0]
    with pytest.raises(
        ck.CheckpointError, match="compression_module.entropy_bottleneck.quantiles holds a list, not a tensor"
    ):
        ck.load_checkpoint(_save(tmp_path, obj))


def test_fsplit_format_errors(tmp_path):
    base = {"format": ck.FORMAT, "architecture": "frankensplit-fp", "config": {}, "state_dict": {}, "meta": {}}
    with pytest.raises(ck.UnknownLayoutError, match="unsupported checkpoint format 'fsplit-checkpoint/9'"):
        ck.load_checkpoint(_save(tmp_path, {**base, "format": "fsplit-checkpoint/9"}, "a.pt"))
    with pytest.raises(ck.UnknownLayoutError, match="unknown architecture 'resnet50'"):
        ck.load_checkpoint(_save(tmp_path, {**base, "architecture": "resnet50"}, "b.pt"))
    with pytest.raises(ck.MissingKeysError, match=r"missing key\(s\): state_dict"):
        ck.load_checkpoint(_save(tmp_path, {k: v for k, v in base.items() if k != "state_dict"}, "c.pt"))
    with pytest.raises(ck.MissingKeysError, match=r"missing key\(s\): encoder.layers.0.conv1.weight"):
        ck.load_checkpoint(_save(tmp_path, base, "d.pt"))
    with pytest.raises(ck.UnknownLayoutError, match=r"does not take config key\(s\) depth"):
        ck.load_checkpoint(_save(tmp_path, {**base, "config": {"depth": 3}}, "e.pt"))


def test_error_messages_name_the_file(tmp_path):
    _, _, state = _frankensplit_state()
    del state["compression_module.g_a.rb1.skip.bias"]
    path = _save(tmp_path, _torchdistill(state), "named.pt")
    with pytest.raises(ck.MissingKeysError, match=re.escape(str(path))):
        ck.load_checkpoint(path)
