"""The built distributions: an sdist that builds a wheel, and a wheel that carries the package data the commands
read and no test doubles. (Installing that wheel into an empty venv and running the commands: make wheel-check.)"""

import subprocess
import sys
import tarfile
import zipfile

import pytest

from repo_paths import REPO

sys.path.insert(0, str(REPO / "scripts"))
from wheel_contents import check_names, check_wheel  # noqa: E402


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    hook = "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])"
    subprocess.run([sys.executable, "-c", hook, str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)
    (sdist,) = out.glob("fsplit_mobile-*.tar.gz")
    # the wheel is built from the sdist (outside the checkout), as a build frontend does
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(sdist)],
        cwd=out,
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("fsplit_mobile-*.whl")
    return sdist, wheel


@pytest.mark.slow
def test_wheel_from_sdist_is_the_product(dists):
    sdist, wheel = dists
    assert check_wheel(wheel) == []
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    recipes = sorted(n for n in names if n.startswith("fsplit_mobile/recipes/"))
    assert recipes == sorted(f"fsplit_mobile/recipes/{p.name}" for p in (REPO / "fsplit_mobile/recipes").glob("*.toml"))
    assert not [n for n in names if "doubles" in n or "standin" in n or n.startswith("tests/")]
    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    assert {"setup.py", "pyproject.toml", "runtimes/c/fsplit_rans.c", "runtimes/c/fsplit_rans.h"} <= members


def test_contents_check_names_what_is_wrong():
    good = [
        "fsplit_mobile/recipes/lite0_b16_units.toml",
        "fsplit_mobile/data/default/bottleneck_units_lite0_b16.pt",
        "fsplit_mobile/data/images/train/t.jpg",
        "fsplit_mobile/data/images/heldout/h.jpg",
        "fsplit_mobile/recipes/frankensplit_lite0.toml",
        "fsplit_mobile/recipes/entropic_student.toml",
        "fsplit_mobile/recipes/bmshj2018_factorized.toml",
        "fsplit_mobile/data/default/frankensplit_lite0.pt",
        "fsplit_mobile/data/imagenet_labels.txt",
        "fsplit_mobile/data/images/calib/a.jpg",
        "fsplit_mobile/data/images/eval/b.jpg",
        "fsplit_mobile/codec/_rans.cpython-311-x86_64-linux-gnu.so",
        "fsplit_mobile/bench/device/agent.py",
        "fsplit_mobile/e2e/study.py",
        "fsplit_mobile/recipes/light_lite0.toml",
        "fsplit_mobile/data/default/light_lite0.pt",
        "fsplit_mobile/recipes/light_lite0_teacher_front.toml",
        "fsplit_mobile/data/default/light_lite0_teacher_front.pt",
    ]
    assert check_names(good) == []
    assert "missing fsplit_mobile/data/default/light_lite0.pt" in check_names(good[:-3])
    problems = check_names(good[1:] + ["tests/doubles/adb_standin.py", "fsplit_mobile/bench/testing/sshd.py"])
    assert "missing fsplit_mobile/recipes/lite0_b16_units.toml" in problems
    assert any("must not ship tests/doubles/adb_standin.py" in p for p in problems)
    assert any("must not ship fsplit_mobile/bench/testing/sshd.py" in p for p in problems)
