"""Schema-based testing of fsplit-serve with schemathesis (pinned in the test extra) against a real server on
loopback: generated requests (positive and negative, wrong methods, missing bodies) for every operation of its
own OpenAPI document. Every answer must have a status, content type, headers and body the document declares,
and none may be a server error. The example count is bounded to keep CI time small (benchmarks/attack runs
more)."""

import pytest

from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.limits import ServeLimits
from fsplit_mobile.serve.plumbing import CONNECTION_ERRORS
from serve_support import ThreadedServer, build_tiny_artifact, run_schemathesis

EXAMPLES = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    art = build_tiny_artifact(tmp_path_factory.mktemp("schema") / "a")
    with ThreadedServer(create_app(art, limits=ServeLimits(max_payload=4096))) as srv:
        yield srv


def test_every_answer_is_documented(served, tmp_path):
    run = run_schemathesis(served.url, tmp_path, EXAMPLES)
    assert run["rc"] == 0, run["output"]
    assert run["cases"] >= 3 * 20, run
    assert not any(status >= 500 for status in run["statuses"]), run["statuses"]
    assert {400, 405} <= set(run["statuses"]), run["statuses"]  # bad bodies and wrong methods were tried


def test_openapi_declares_every_status_and_header(tmp_path):
    """Statuses and headers the connection layer can send, on every operation (schemathesis cannot provoke
    timeouts or saturation; this checks the document itself)."""
    doc = create_app(build_tiny_artifact(tmp_path / "a")).openapi()
    for path, want in {
        "/v1/infer": {400, 408, 409, 413, 415, 422, 431, 500, 501, 503, 504},
        "/healthz": set(CONNECTION_ERRORS),
        "/v1/model": set(CONNECTION_ERRORS),
    }.items():
        op = next(iter(doc["paths"][path].values()))
        declared = {int(s) for s in op["responses"] if s != "default"}
        assert want | {200} <= declared, (path, declared)
        assert "Retry-After" in op["responses"]["503"]["headers"], path
        assert op["responses"]["500"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
