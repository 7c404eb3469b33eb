"""fsplit-export error handling and output: one clear line and exit status 1 for every error case, the
`.partial` folder behaviour, --json and --quiet."""

import json

import pytest
import torch
from click.testing import CliRunner

from export_support import make_checkpoint
from fsplit_mobile.export import api
from fsplit_mobile.export.cli import main
from fsplit_mobile.export.errors import ExportError, UnsupportedOpError
from fsplit_mobile.models.checkpoint import load_checkpoint


def run_cli(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_one_error_line(stderr: str, *fragments: str):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("fsplit-export: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "fp.pt", "frankensplit-fp")


def test_target_help_is_read_from_the_target_description():
    from fsplit_mobile.export.cli import target_help
    from fsplit_mobile.runtime.targets import TARGETS

    text = target_help()
    for name, t in TARGETS.items():
        assert f"{name}: {', '.join(t.quantizations)}" in text, name
        if t.named_only:
            assert f"{name} ({t.accelerator})" in text.split("exported only when named")[0], name
    code, out, _ = run_cli("--help")
    assert code == 0 and "--target NAME" in out


def test_unknown_target(tmp_path):
    code, out, err = run_cli("--target", "tensorrt", "--out", str(tmp_path), "--quiet")
    assert code == 1
    assert_one_error_line(err, "unknown export target 'tensorrt'", "executorch", "onnx")


def test_missing_checkpoint(tmp_path):
    code, _, err = run_cli("--target", "onnx", "--checkpoint", str(tmp_path / "nope.pt"), "--quiet")
    assert code == 1
    assert_one_error_line(err, "nope.pt", "does not exist")


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)
    code, _, err = run_cli("--target", "onnx", "--checkpoint", str(bad), "--quiet")
    assert code == 1
    assert_one_error_line(err, "bad.pt", "corrupt")
    text = tmp_path / "text.pt"
    text.write_text("hello")
    code, _, err = run_cli("--target", "onnx", "--checkpoint", str(text), "--quiet")
    assert code == 1
    assert_one_error_line(err, "not a PyTorch checkpoint")


def test_bad_recipe_field(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('schema = "fsplit-recipe/1"\n[model]\nid = "x"\n[input]\nsize = [224, "big"]\n')
    code, _, err = run_cli("--target", "onnx", "--recipe", str(recipe), "--quiet")
    assert code == 1
    assert_one_error_line(err, "r.toml", "field input.size")


def test_recipe_without_checkpoint(tmp_path):
    from export_support import RECIPES

    code, _, err = run_cli("--target", "onnx", "--recipe", str(RECIPES / "entropic_student.toml"), "--quiet")
    assert code == 1
    assert_one_error_line(err, "model.checkpoint is not set", "--checkpoint")


def test_recipe_architecture_mismatch(tmp_path, small_ckpt):
    from export_support import RECIPES

    code, _, err = run_cli(
        "--target",
        "onnx",
        "--recipe",
        str(RECIPES / "entropic_student.toml"),
        "--checkpoint",
        str(small_ckpt),
        "--quiet",
    )
    assert code == 1
    assert_one_error_line(err, "model.architecture", "entropic-student", "frankensplit-fp")


def test_bad_calibration_folder(tmp_path, small_ckpt):
    code, _, err = run_cli(
        "--target",
        "onnx",
        "--quantize",
        "int8",
        "--checkpoint",
        str(small_ckpt),
        "--calib",
        str(tmp_path),
        "--input-size",
        "32",
        "32",
        "--out",
        str(tmp_path / "o"),
        "--quiet",
    )
    assert code == 1
    assert_one_error_line(err, "no calibration images", str(tmp_path))
    assert not (tmp_path / "o" / "onnx-int8").exists()


class _Histc(torch.nn.Module):
    """A layer no target can lower: histc."""

    def forward(self, x):
        return x + torch.histc(x, bins=4).sum() * 0


@pytest.fixture()
def unsupported_model(monkeypatch, small_ckpt):
    split = load_checkpoint(small_ckpt)
    split.device.encoder = torch.nn.Sequential(split.device.encoder, _Histc())
    monkeypatch.setattr(api.ExportContext, "_load_model", staticmethod(lambda recipe: split))
    return split


# One target: the CLI's error line is the same for every target; that each target names the op it cannot lower,
# with its hint, is the export contract suite's test_unsupported_op_names_op_target_and_hint (every flow).
@pytest.mark.parametrize("target", ["onnx"])
def test_unsupported_op_names_op_target_hint(tmp_path, unsupported_model, target):
    code, _, err = run_cli(
        "--target", target, "--checkpoint", "unused.pt", "--input-size", "32", "32", "--out", str(tmp_path), "--quiet"
    )
    assert code == 1
    assert_one_error_line(err, "histc", f"target '{target}'", "hint:")
    assert not (tmp_path / f"{target}-none").exists()


def test_failed_export_leaves_only_partial_folder(tmp_path, small_ckpt, monkeypatch):
    out = tmp_path / "art"
    good = api.export("onnx", "none", checkpoint=small_ckpt, input_size=(32, 32), out=out)
    assert good.ok
    manifest_before = (out / "onnx-none" / "manifest.json").read_text()

    from fsplit_mobile.export import stages

    def broken_verify(*args, **kwargs):
        raise ExportError("simulated crash during verify")

    monkeypatch.setattr(stages, "verify", broken_verify)
    with pytest.raises(ExportError, match="simulated crash"):
        api.export("onnx", "none", checkpoint=small_ckpt, input_size=(32, 32), out=out)
    partial = out / "onnx-none.partial"
    assert partial.is_dir() and (partial / "encoder.onnx").is_file()
    assert not (partial / "manifest.json").exists()
    assert (out / "onnx-none" / "manifest.json").read_text() == manifest_before  # old artifact untouched


def test_keep_going_reports_every_failure(tmp_path, unsupported_model):
    summary = api.export(["executorch", "onnx"], "none", checkpoint="unused.pt", input_size=(32, 32), out=tmp_path)
    assert not summary.ok and [r.ok for r in summary.results] == [False, False]
    assert all("histc" in r.error for r in summary.results)


def test_json_summary_and_quiet(tmp_path, small_ckpt):
    code, out, err = run_cli(
        "--target",
        "onnx",
        "--checkpoint",
        str(small_ckpt),
        "--input-size",
        "32",
        "32",
        "--out",
        str(tmp_path),
        "--json",
        "--quiet",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ok"] is True and summary["model_id"] == load_checkpoint(small_ckpt).model_id
    (art,) = summary["artifacts"]
    assert art["target"] == "onnx" and art["quantization"] == "none" and art["executed"] is True
    assert art["metrics"]["symbol_flip_fraction"] == 0.0
    assert set(art["timings_s"]) == {"capture", "quantize", "lower", "verify", "report"}
    assert err.strip() == ""


def test_unsupported_op_error_type_from_api(tmp_path, unsupported_model):
    with pytest.raises(UnsupportedOpError) as e:
        api.export("executorch", "none", checkpoint="unused.pt", input_size=(32, 32), out=tmp_path)
    assert e.value.target == "executorch" and "histc" in e.value.op
