"""Export framework pieces that need no converter: recipes, targets, calibration, manifest folder, runtime
artifact checks, preprocessing, fidelity metrics."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from export_support import CALIB_DIR, EVAL_DIR, RECIPES
from fsplit_mobile.export import stages
from fsplit_mobile.export.backends import get_backend, resolve_targets
from fsplit_mobile.export.calibration import MAX_VIEWS, list_images, load_views
from fsplit_mobile.export.errors import (
    CalibrationError,
    ExportError,
    RecipeError,
    UnknownTargetError,
    UnsupportedOpError,
)
from fsplit_mobile.export.fidelity import Reference, check_targets, compute_metrics, render_markdown
from fsplit_mobile.export.manifest import StagedArtifact
from fsplit_mobile.export.recipe import DEFAULT_RECIPE, bundled_recipes, load_recipe
from fsplit_mobile.export.request import ExportRequest
from fsplit_mobile.export.results import VerifyResult
from fsplit_mobile.runtime.artifact import Artifact, ArtifactError, sha256_path
from fsplit_mobile.runtime.preprocess import (
    InputConverter,
    OutputConverter,
    TensorSpecError,
    from_model_output,
    to_model_input,
)


# ---- recipes ----------------------------------------------------------------------------------------------------
def test_shipped_recipes_parse():
    from fsplit_mobile.models.bundled import BUNDLED_DEFAULT

    # the bare default recipe exports the bundled default checkpoint (models/bundled.py)
    assert load_recipe(DEFAULT_RECIPE).checkpoint == BUNDLED_DEFAULT.resolve()
    default = load_recipe("lite0_b16_units")
    assert default.model_id == "bottleneck-units-lite0-b16"
    assert default.architecture == "bottleneck-unit-lite0"
    assert default.input_size == (224, 224)
    assert default.checkpoint.name == "bottleneck_units_lite0_b16.pt" and default.checkpoint.is_file()
    assert default.rate_points and default.rate_points[0] == "r2"  # the default rate point is rate point 0
    # calibration on training photos, evaluation on the held-out ones: never the same folder
    assert default.calib_images.name == "train" and default.eval_images.name == "heldout"
    assert default.teacher == "efficientnet-lite0"
    names = {p.stem for p in RECIPES.glob("*.toml")}
    assert {"lite0_b16_units", "frankensplit_lite0", "bmshj2018_factorized", "entropic_student"} <= names
    for path in RECIPES.glob("*.toml"):
        recipe = load_recipe(path)
        assert recipe.architecture, path


def test_recipe_by_bundled_name_package_path_or_file(tmp_path, monkeypatch):
    """A pip-installed user names a bundled recipe; a local file of the same name still wins."""
    by_name = load_recipe("entropic_student")
    assert by_name.path == (RECIPES / "entropic_student.toml").resolve() and by_name.model_id == "entropic-student"
    assert load_recipe("entropic_student.toml").path == by_name.path
    assert load_recipe("@package/recipes/entropic_student.toml").path == by_name.path
    assert set(bundled_recipes()) == {p.stem for p in RECIPES.glob("*.toml")}
    monkeypatch.chdir(tmp_path)
    _recipe(tmp_path, '[model]\nid = "local"\n').rename(tmp_path / "entropic_student.toml")
    assert load_recipe("entropic_student.toml").model_id == "local"
    with pytest.raises(RecipeError, match="does not exist.*bundled recipe: .*entropic_student"):
        load_recipe("entropic_studnet")


def _recipe(tmp_path, body: str) -> Path:
    p = tmp_path / "r.toml"
    p.write_text('schema = "fsplit-recipe/1"\n' + textwrap.dedent(body))
    return p


@pytest.mark.parametrize(
    "body, field",
    [
        ('[model]\nid = "m"\ncolour = 3\n', "model.colour"),
        ('[model]\nid = "m"\n[input]\nsize = [224]\n', "input.size"),
        ('[model]\nid = "m"\n[input]\nsize = [225, 224]\n', "input.size"),
        ('[model]\nid = "m"\n[input]\nstd = [1, 0, 1]\n', "input.std"),
        ('[model]\nid = "m"\n[input]\nnormalization_in_graph = "yes"\n', "input.normalization_in_graph"),
        ('[model]\nid = "m"\n[output]\nkind = "floats"\n', "output.kind"),
        ('[model]\nid = "m"\n[calibration]\nviews = 0\n', "calibration.views"),
        ('[model]\nid = "m"\n[targets.tpu]\n', "targets.tpu"),
        ('[model]\nid = "m"\n[targets.onnx]\nreduce_rnge = true\n', "targets.onnx.reduce_rnge"),
        ('[model]\nid = "m"\n[targets.executorch]\nkeep_float = "encoder"\n', "targets.executorch.keep_float"),
        ('[model]\narchitecture = "x"\n', "model.id"),
        ('[modle]\nid = "m"\n', "modle"),
    ],
)
def test_bad_recipe_field_is_named(tmp_path, body, field):
    with pytest.raises(RecipeError) as e:
        load_recipe(_recipe(tmp_path, body))
    assert f"field {field}" in str(e.value)
    assert "\n" not in str(e.value)


def test_recipe_schema_toml_and_missing_file(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('schema = "other/2"\n[model]\nid = "m"\n')
    with pytest.raises(RecipeError, match="field schema"):
        load_recipe(p)
    p.write_text("[model\nid=")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(p)
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "nope.toml")


def test_recipe_paths_relative_to_file(tmp_path):
    r = load_recipe(_recipe(tmp_path, '[model]\nid = "m"\ncheckpoint = "ck/model.pt"\n[calibration]\nimages = "cal"\n'))
    assert r.checkpoint == (tmp_path / "ck" / "model.pt").resolve()
    assert r.calib_images == (tmp_path / "cal").resolve()


# ---- targets ----------------------------------------------------------------------------------------------------
def test_targets_resolve_and_unknown():
    assert resolve_targets("all") == ["executorch", "coreml", "tflite", "onnx"]
    assert resolve_targets(["onnx", "executorch", "onnx"]) == ["onnx", "executorch"]
    with pytest.raises(UnknownTargetError, match="unknown export target 'tensorrt'; choose one of"):
        resolve_targets(["onnx", "tensorrt"])
    with pytest.raises(UnknownTargetError):
        get_backend("tensorrt")


def test_request_validation_and_unsupported_quantization():
    with pytest.raises(ExportError, match="unknown quantization 'int4'"):
        ExportRequest(model_id="m", target="onnx", quantization="int4")
    with pytest.raises(ExportError, match="unknown output kind"):
        ExportRequest(model_id="m", target="onnx", output="y")
    req = ExportRequest(model_id="m", target="onnx", quantization="int8-dynamic")
    with pytest.raises(ExportError, match="does not support quantization 'int8-dynamic'"):
        stages.check_request(get_backend("onnx"), req)


def test_unsupported_op_error_names_op_target_hint():
    e = UnsupportedOpError("aten.histc.default", "executorch", "replace it")
    assert str(e) == "operator 'aten.histc.default' is not supported by target 'executorch'; hint: replace it"


def test_verify_result_requires_reason_or_outputs():
    with pytest.raises(ValueError):
        VerifyResult(executed=False)
    with pytest.raises(ValueError):
        VerifyResult(executed=True)


# ---- calibration ------------------------------------------------------------------------------------------------
def test_calibration_images_and_views(tmp_path):
    files = list_images(CALIB_DIR)
    assert files and {f.name for f in files}.isdisjoint({f.name for f in list_images(EVAL_DIR, "evaluation")})
    views = load_views(files[:2], (32, 48), views=5)
    assert len(views) == 10
    assert all(rgb.shape == (32, 48, 3) and rgb.dtype == np.uint8 for _, rgb in views)
    assert not np.array_equal(views[0][1], views[1][1])  # mirrored view differs
    np.testing.assert_array_equal(views[1][1], load_views(files[:1], (32, 48), views=2)[1][1])  # deterministic
    with pytest.raises(CalibrationError, match="between 1 and"):
        load_views(files[:1], (32, 32), views=MAX_VIEWS + 1)


def test_calibration_errors(tmp_path):
    with pytest.raises(CalibrationError, match="does not exist"):
        list_images(tmp_path / "missing")
    with pytest.raises(CalibrationError, match="no calibration images"):
        list_images(tmp_path)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(CalibrationError, match="broken.jpg cannot be read"):
        load_views([bad], (32, 32))


# ---- staged folder + runtime artifact checks --------------------------------------------------------------------
def _manifest(files):
    return {
        "schema": "fsplit-artifact/1",
        "model_id": "m",
        "target": "onnx",
        "quantization": "none",
        "files": files,
        "input": {"name": "image", "shape": [1, 3, 8, 8], "dtype": "float32", "layout": "NCHW"},
        "output": {"name": "symbols", "kind": "symbols", "shape": [1, 2, 1, 1], "dtype": "int32", "layout": "NCHW"},
        "latent": {"channels": 2, "height": 1, "width": 1, "medians": [0.0, 0.0]},
        "tables": {"file": "tables.fsct", "content_hash": None, "precision": 16},
        "tool_versions": {},
    }


def test_staged_artifact_commit_and_failure(tmp_path):
    staged = StagedArtifact(tmp_path / "onnx-none")
    stage = staged.begin()
    assert stage.name == "onnx-none.partial"
    (stage / "encoder.onnx").write_bytes(b"model")
    (stage / "tables.fsct").write_bytes(b"tables")
    assert not (tmp_path / "onnx-none").exists()
    final = staged.commit(_manifest({"encoder": "encoder.onnx", "tables": "tables.fsct"}))
    assert final == tmp_path / "onnx-none" and not stage.exists()
    art = Artifact.open(final)
    assert art.manifest["sha256"]["encoder.onnx"] == sha256_path(final / "encoder.onnx")

    # a second export that fails leaves the finished folder untouched and a .partial without manifest
    again = StagedArtifact(tmp_path / "onnx-none")
    stage = again.begin()
    (stage / "encoder.onnx").write_bytes(b"half")
    assert (final / "encoder.onnx").read_bytes() == b"model"
    assert not (stage / "manifest.json").exists()
    with pytest.raises(ArtifactError, match="unfinished export"):
        Artifact.open(stage)
    with pytest.raises(ExportError, match="was not written"):
        again.commit(_manifest({"encoder": "encoder.onnx", "tables": "tables.fsct"}))


def test_artifact_open_detects_problems(tmp_path):
    staged = StagedArtifact(tmp_path / "a")
    stage = staged.begin()
    (stage / "encoder.onnx").write_bytes(b"model")
    (stage / "tables.fsct").write_bytes(b"tables")
    final = staged.commit(_manifest({"encoder": "encoder.onnx", "tables": "tables.fsct"}))
    (final / "encoder.onnx").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="encoder.onnx: sha256 .* differs from manifest"):
        Artifact.open(final)
    assert Artifact.open(final, check_hashes=False).target == "onnx"
    m = json.loads((final / "manifest.json").read_text())
    m["schema"] = "fsplit-artifact/0"
    (final / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="schema"):
        Artifact.open(final)
    (final / "manifest.json").write_text("{")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Artifact.open(final)
    (final / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="no manifest.json"):
        Artifact.open(final)


# ---- preprocessing ----------------------------------------------------------------------------------------------
SPEC = {
    "shape": [1, 3, 4, 6],
    "layout": "NCHW",
    "color": "RGB",
    "value_range": [0.0, 1.0],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "normalization_in_graph": False,
    "quantization": None,
}


def test_input_converter_normalises_and_lays_out():
    rgb = np.random.default_rng(0).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    x = InputConverter(SPEC)(rgb)
    want = ((rgb.astype(np.float32) / 255 - np.float32(SPEC["mean"])) / np.float32(SPEC["std"])).transpose(2, 0, 1)
    np.testing.assert_allclose(x[0], want, rtol=1e-6, atol=1e-6)
    nhwc = dict(
        SPEC,
        shape=[1, 4, 6, 3],
        layout="NHWC",
        normalization_in_graph=True,
        quantization={"scale": 1 / 255, "zero_point": -128, "dtype": "int8"},
    )
    q = InputConverter(nhwc)(rgb)
    assert q.dtype == np.int8 and q.shape == (1, 4, 6, 3)
    np.testing.assert_array_equal(q[0].astype(np.int32), rgb.astype(np.int32) - 128)
    canonical = InputConverter(dict(SPEC, normalization_in_graph=True)).canonical(rgb)
    np.testing.assert_array_equal(to_model_input(canonical, nhwc), q)
    with pytest.raises(TensorSpecError, match="model takes 6x4"):
        InputConverter(SPEC)(rgb[:, :5])
    with pytest.raises(TensorSpecError, match="layout"):
        InputConverter(dict(SPEC, layout="CHWN"))


def test_output_conversion():
    chw = (2, 3, 4)
    sym = np.arange(24, dtype=np.int32).reshape(1, *chw) - 12
    nhwc = sym.transpose(0, 2, 3, 1).copy()
    spec = {"kind": "symbols", "layout": "NHWC", "quantization": None}
    np.testing.assert_array_equal(from_model_output(nhwc, spec, chw), sym)
    latent_spec = {"kind": "latent", "layout": "NCHW", "quantization": {"scale": 0.5, "zero_point": 3, "dtype": "int8"}}
    q = (sym + 3).astype(np.int8)
    np.testing.assert_allclose(from_model_output(q, latent_spec, chw), sym * 0.5)
    conv = OutputConverter(
        {"kind": "latent", "layout": "NCHW"}, {"channels": 2, "height": 3, "width": 4, "medians": [0.25, -1.0]}
    )
    y = np.full((1, *chw), 2.0, dtype=np.float32)
    out = conv(y)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out[0], 2)
    np.testing.assert_array_equal(out[1], 3)
    with pytest.raises(TensorSpecError, match="integer"):
        from_model_output(sym.astype(np.float32), {"kind": "symbols"}, chw)
    with pytest.raises(TensorSpecError, match="12 values, latent is 2x3x4"):
        from_model_output(sym[:, :1], spec, chw)


# ---- fidelity ---------------------------------------------------------------------------------------------------
def test_fidelity_metrics():
    ref_sym = [np.zeros((1, 2, 2, 2), np.int32), np.ones((1, 2, 2, 2), np.int32)]
    ref = Reference(
        names=["a", "b"],
        outputs=ref_sym,
        symbols=[s[0] for s in ref_sym],
        bytes_per_sample=[10, 10],
        teacher_top1=[1, 2],
        server_top1=[1, 3],
        input_size=(4, 4),
        images=["a.jpg"],
        views=2,
    )
    art = [ref_sym[0].copy(), ref_sym[1].copy()]
    art[1][0, 0, 0, 0] = 3
    sizes = iter([10, 11])
    m = compute_metrics(
        ref, art, "symbols", np.zeros(2, np.float32), lambda s: b"x" * next(sizes), lambda syms: [1, 2][: len(syms)]
    )
    assert m["symbols_differing"] == 1 and m["symbols_total"] == 16
    assert m["symbol_flip_fraction"] == pytest.approx(1 / 16)
    assert m["latent_error_max"] == 2.0 and m["latent_error_mean"] == pytest.approx(2 / 16)
    assert m["bpp_reference"] == pytest.approx(8 * 20 / 32) and m["bpp_relative_change"] == pytest.approx(0.05)
    assert m["top1_agreement_reference"] == 0.5 and m["top1_agreement_artifact"] == 1.0
    assert m["top1_agreement_change_pp"] == pytest.approx(50.0)
    assert m["top1_same_as_reference"] == 0.5
    t = check_targets(m)
    assert not t["symbol_flip_fraction"]["passed"] and not t["bpp_relative_change"]["passed"]
    assert t["top1_agreement_drop_pp"]["passed"]


def test_fidelity_counts_differing_symbols_at_rounding_ties():
    """fp32 runtimes may round a value sitting on a tie the other way; only those are explained, and counted."""
    unrounded = [np.array([[[0.4996, 2.2], [-1.4999, 0.0]]], np.float32)]  # (C=1, 2, 2)
    ref_sym = [np.rint(unrounded[0]).astype(np.int32)[None]]  # [[0, 2], [-1, 0]]
    ref = Reference(
        names=["a"],
        outputs=ref_sym,
        symbols=[ref_sym[0][0]],
        bytes_per_sample=[4],
        teacher_top1=None,
        server_top1=None,
        input_size=(4, 4),
        unrounded=unrounded,
    )
    art = ref_sym[0].copy()
    art[0, 0, 0, 0], art[0, 0, 1, 0] = 1, -2  # both across their ties
    m = compute_metrics(ref, [art], "symbols", np.zeros(1, np.float32), lambda s: b"x" * 4, None)
    assert (m["symbols_differing"], m["symbols_at_ties"], m["symbols_unexplained"]) == (2, 2, 0)
    assert "2 at rounding ties" in render_markdown(
        {
            "model_id": "m",
            "target": "onnx",
            "quantization": "none",
            "reference": "eager",
            "executed": True,
            "metrics": m,
            "samples": {"count": 1, "images": ["a"], "views_per_image": 1, "input_size": [4, 4]},
            "runtime": "onnxruntime",
            "targets": None,
            "notes": [],
            "checks": {},
        }
    )
    art[0, 0, 0, 1] = 3  # 2.2 -> 3: no tie near it
    m = compute_metrics(ref, [art], "symbols", np.zeros(1, np.float32), lambda s: b"x" * 4, None)
    assert (m["symbols_differing"], m["symbols_at_ties"], m["symbols_unexplained"]) == (3, 2, 1)
    ref.unrounded = None  # no eager values: not counted, and said so by None
    assert (
        compute_metrics(ref, [art], "symbols", np.zeros(1, np.float32), lambda s: b"x" * 4, None)["symbols_unexplained"]
        is None
    )


def test_report_for_unexecuted_artifact_says_so():
    md = render_markdown(
        {
            "model_id": "m",
            "target": "coreml",
            "quantization": "int8",
            "reference": "eager",
            "executed": False,
            "reason": "not executed on this platform",
            "runtime": None,
            "samples": {"count": 4, "images": ["a"], "views_per_image": 4, "input_size": [8, 8]},
            "metrics": None,
            "targets": None,
            "notes": [],
            "checks": {"spec": "ok"},
        }
    )
    assert "not executed on this platform" in md and "| metric |" not in md


def test_package_level_export_api_stays_callable_after_submodule_imports():
    import fsplit_mobile
    import fsplit_mobile.export.errors  # noqa: F401  (rebinds fsplit_mobile.export to the package)
    from fsplit_mobile.export.api import export as api_export

    assert callable(fsplit_mobile.export)
    with pytest.raises(Exception) as info:
        fsplit_mobile.export("no-such-target", out="/nonexistent")
    assert "no-such-target" in str(info.value)
    assert api_export is not None
