"""The backend shape: every registered backend declares what the stages need, recipe options are checked
against each backend's schema (file and field named), and the run's shared preparation is its own step."""

import json
import textwrap

import pytest

from export_support import make_checkpoint
from fsplit_mobile.export import api, stages
from fsplit_mobile.export.backends import backend_class, backend_names, get_backend
from fsplit_mobile.export.backends.base import Backend
from fsplit_mobile.export.errors import ExportError, RecipeError
from fsplit_mobile.export.options import DEFAULT_KEEP_FLOAT
from fsplit_mobile.export.recipe import load_recipe
from fsplit_mobile.export.request import ExportRequest
from fsplit_mobile.runtime.targets import QUANTIZATIONS


@pytest.mark.parametrize("name", backend_names())
def test_every_backend_declares_the_shape(name):
    cls = backend_class(name)
    assert issubclass(cls, Backend) and cls.name == name
    assert cls.encoder_file.startswith("encoder.") and cls.layout in ("NCHW", "NHWC")
    assert cls.quantizations and set(cls.quantizations) <= set(QUANTIZATIONS)  # an NPU has no fp32 ("none")
    assert {"keep_float", "per_channel"} <= set(cls.options)
    assert cls.lower is not Backend.lower
    if set(cls.quantizations) - {"none"}:
        assert cls.quantizer is not Backend.quantizer
    assert cls.op_patterns and all(p.groups >= 1 for p in cls.op_patterns)


def _recipe(tmp_path, body: str):
    p = tmp_path / "r.toml"
    p.write_text('schema = "fsplit-recipe/1"\n[model]\nid = "m"\n' + textwrap.dedent(body))
    return p


@pytest.mark.parametrize(
    "body, field, problem",
    [
        ('[targets.tflite]\nkeep_flaot = ["auto"]\n', "targets.tflite.keep_flaot", "unknown option"),
        ('[targets.coreml]\nkeep_flaot = ["auto"]\n', "targets.coreml.keep_flaot", "unknown option"),
        ('[targets.coreml]\ncompute_precision = "int4"\n', "targets.coreml.compute_precision", "'int4'"),
        ('[targets.coreml]\nweight_threshold = "big"\n', "targets.coreml.weight_threshold", "expected int"),
        ('[targets.tflite]\nfloat_gdn = "yes"\n', "targets.tflite.float_gdn", "'yes'"),
        ("[targets.tflite]\nper_channel = 1\n", "targets.tflite.per_channel", "expected bool"),
        ("[targets.onnx]\nreduce_range = 1\n", "targets.onnx.reduce_range", "got int 1"),
        ('[targets.onnx]\npercentile = "high"\n', "targets.onnx.percentile", "expected float"),
        ('[targets.executorch]\nkeep_float = ["auto", 3]\n', "targets.executorch.keep_float", "list of module names"),
    ],
)
def test_backend_options_are_checked_against_its_schema(tmp_path, body, field, problem):
    with pytest.raises(RecipeError) as e:
        load_recipe(_recipe(tmp_path, body))
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'r.toml'}: field {field}: ") and problem in msg and "\n" not in msg


def test_valid_options_parse_and_requests_get_the_defaults(tmp_path):
    r = load_recipe(
        _recipe(
            tmp_path,
            '[targets.onnx]\ncalibrate_method = "Percentile"\npercentile = 99\n[targets.tflite]\nfloat_gdn = false\n',
        )
    )
    onnx = stages.check_request(get_backend("onnx"), ExportRequest("m", "onnx", "int8", options=r.options_for("onnx")))
    assert onnx.options == {
        "keep_float": list(DEFAULT_KEEP_FLOAT),
        "per_channel": True,
        "reduce_range": "auto",
        "calibrate_method": "percentile",
        "percentile": 99.0,
        "float_layer_weights": "int8",
    }
    tflite = stages.check_request(get_backend("tflite"), ExportRequest("m", "tflite", options=r.options_for("tflite")))
    assert tflite.options["float_gdn"] is False and tflite.options["keep_float"] == ["auto"]
    tflite.options["keep_float"].append("encoder")  # defaults are copies, never shared between requests
    again = stages.check_request(get_backend("tflite"), ExportRequest("m", "tflite"))
    assert again.options["keep_float"] == ["auto"]
    with pytest.raises(ExportError, match="field targets.onnx.keep_flaot: unknown option"):
        stages.check_request(get_backend("onnx"), ExportRequest("m", "onnx", options={"keep_flaot": []}))


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "fp.pt", "frankensplit-fp")


def test_shared_preparation_is_its_own_step(tmp_path, small_ckpt):
    events = []
    summary = api.export(
        "onnx",
        "none",
        checkpoint=small_ckpt,
        input_size=(32, 32),
        out=tmp_path,
        progress=lambda kind, **info: events.append((kind, info)),
    )
    assert summary.ok
    assert set(summary.timings_s) == {"load", "prepare"} and summary.timings_s["prepare"] > 0
    (result,) = summary.results
    assert set(result.timings_s) == set(api.STEPS)
    kinds = [k for k, _ in events]
    assert (
        kinds.index("load_end")
        < kinds.index("prepare_start")
        < kinds.index("prepare_end")
        < kinds.index("artifact_start")
    )
    assert dict(events[kinds.index("prepare_end")][1])["seconds"] == summary.timings_s["prepare"]
    assert json.loads(json.dumps(summary.to_dict(), default=str))["timings_s"] == summary.timings_s


def test_no_preparation_when_nothing_can_be_exported(tmp_path, small_ckpt):
    events = []
    summary = api.export(
        ["onnx", "executorch"],
        "int8-dynamic",
        checkpoint=small_ckpt,
        input_size=(32, 32),
        out=tmp_path,
        progress=lambda kind, **info: events.append(kind),
    )
    assert [r.ok for r in summary.results] == [False, False]
    assert all("does not support quantization 'int8-dynamic'" in r.error for r in summary.results)
    assert "prepare" not in summary.timings_s and "prepare_start" not in events


def test_failed_preparation_fails_every_artifact(tmp_path, small_ckpt):
    empty = tmp_path / "no-images"
    empty.mkdir()
    recipe = _recipe(tmp_path, f'[evaluation]\nimages = "{empty}"\n')
    summary = api.export(
        ["onnx", "executorch"], "none", recipe=recipe, checkpoint=small_ckpt, input_size=(32, 32), out=tmp_path / "art"
    )
    assert [r.ok for r in summary.results] == [False, False]
    assert all("no evaluation images" in r.error and str(empty) in r.error for r in summary.results)
    assert not (tmp_path / "art").exists()  # no artifact was started
    with pytest.raises(ExportError, match="no evaluation images"):
        api.export("onnx", "none", recipe=recipe, checkpoint=small_ckpt, input_size=(32, 32), out=tmp_path / "art")
