"""Where the tests find the checkout, whatever folder of tests/ a test file sits in (the test files are grouped by
the package they test: tests/codec/, tests/serve/, ...; the support modules, data/ and doubles/ stay in tests/)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent  # tests/
REPO = TESTS.parent
PACKAGE = REPO / "fsplit_mobile"
