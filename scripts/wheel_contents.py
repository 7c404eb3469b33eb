"""What the fsplit-mobile wheel must and must not carry (used by scripts/wheel_check.sh and
tests/package/test_wheel.py).

Must: the package data a pip user's commands read (recipes, the default model, labels, calibration and
evaluation images) and the compiled C coder. Must not: test doubles (the adb stand-in, the temporary sshd) or
anything from tests/, which are development tools, not the product.

    python scripts/wheel_contents.py dist/fsplit_mobile-*.whl
"""

from __future__ import annotations

import fnmatch
import sys
import zipfile

REQUIRED = (
    "fsplit_mobile/recipes/light_lite0.toml",  # the bundled default (models/bundled.py)
    "fsplit_mobile/data/default/light_lite0.pt",
    "fsplit_mobile/recipes/light_lite0_teacher_front.toml",
    "fsplit_mobile/data/default/light_lite0_teacher_front.pt",
    "fsplit_mobile/recipes/lite0_b16_units.toml",
    "fsplit_mobile/data/default/bottleneck_units_lite0_b16.pt",
    "fsplit_mobile/data/images/train/*.jpg",
    "fsplit_mobile/data/images/heldout/*.jpg",
    "fsplit_mobile/recipes/frankensplit_lite0.toml",
    "fsplit_mobile/recipes/entropic_student.toml",
    "fsplit_mobile/recipes/bmshj2018_factorized.toml",
    "fsplit_mobile/data/default/frankensplit_lite0.pt",
    "fsplit_mobile/data/imagenet_labels.txt",
    "fsplit_mobile/data/images/calib/*.jpg",
    "fsplit_mobile/data/images/eval/*.jpg",
    "fsplit_mobile/codec/_rans.*.so",
    "fsplit_mobile/bench/device/agent.py",
    "fsplit_mobile/e2e/study.py",
)
FORBIDDEN = (
    "tests/*",
    "*/tests/*",
    "*/testing/*",
    "*/doubles/*",
    "*adb_standin*",
    "*sshd.py",
    "*conftest.py",
    "*/__pycache__/*",
)


def check_names(names: list[str]) -> list[str]:
    """Problems with a wheel's file list (empty when it is the product)."""
    problems = [f"missing {pattern}" for pattern in REQUIRED if not fnmatch.filter(names, pattern)]
    for pattern in FORBIDDEN:
        problems += [f"must not ship {name} (matches {pattern})" for name in fnmatch.filter(names, pattern)]
    return problems


def check_wheel(path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return check_names(z.namelist())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    problems = check_wheel(argv[0])
    for p in problems:
        print(f"wheel-check: {argv[0]}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
