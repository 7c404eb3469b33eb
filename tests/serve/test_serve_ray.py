"""`fsplit-serve --engine ray` on a real two-node Ray cluster (head + worker node, token auth) inside a network
namespace the test creates (tests/ray_scenario.py, run under `unshare -n`): the same answers as fsplit-serve on
uvicorn for the same good streams and generated bad inputs, both nodes serve, and a worker node killed under
load costs a bounded number of errors, after which every request succeeds again.

One cluster for the whole module (~1.5-2 min here); every process of the namespace is killed at the end,
whatever happened."""

import json
import shutil
import subprocess
import sys
import time

import pytest

from repo_paths import TESTS

pytest.importorskip("ray.serve")

from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids  # noqa: E402

SCENARIO = TESTS / "ray_scenario.py"
SCENARIO_TIMEOUT_S = 480


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not _can_unshare():
        pytest.skip("needs `unshare -n` (root or user namespaces) and iproute2")
    work = tmp_path_factory.mktemp("ray")
    out = work / "report.json"
    log = open(work / "scenario.log", "w")
    proc = subprocess.Popen(
        ["unshare", "-n", sys.executable, str(SCENARIO), str(work / "run"), str(out)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    ours = netns_of()
    ns = None
    deadline = time.monotonic() + 30
    while ns is None and time.monotonic() < deadline:  # unshare execs the scenario in its new namespace
        try:
            seen = netns_of(proc.pid)
            ns = seen if seen != ours else None
        except OSError:
            break
        time.sleep(0.05)
    try:
        proc.wait(SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    finally:
        log.close()
        left = kill_netns(ns) if ns else []  # whatever the scenario left (it kills its namespace on the way out)
    if not out.exists():
        pytest.fail(f"scenario wrote no report (rc {proc.returncode}): {(work / 'scenario.log').read_text()[-4000:]}")
    data = json.loads(out.read_text())
    yield data
    assert left == [] and (ns is None or netns_pids(ns) == []), "Ray processes left behind"


def _key(answer: dict) -> tuple:
    return answer["status"], answer["body"].get("error")


@pytest.mark.slow
def test_same_top5_as_fsplit_serve(report):
    assert len(report["good"]) == 48
    for ray_answer, reference in report["good"]:
        assert ray_answer["status"] == 200
        assert ray_answer == reference  # model id, table hash, top-5 (index, label, score), sizes: all but timings


@pytest.mark.slow
def test_generated_bad_inputs_get_the_same_status_and_error(report):
    kinds = {kind for kind, *_ in report["bad"]}
    assert kinds >= {"truncated", "bit-flip", "trailing", "garbage", "forged-payload", "other-tables", "shape"}
    assert len(report["bad"]) > 500
    differ = [(kind, a, b) for kind, a, b in report["bad"] if _key(a) != _key(b) or not a["body"].get("detail")]
    assert differ == [], differ[:3]
    assert {_key(a)[0] for _, a, _ in report["bad"]} == {400, 409, 422}


@pytest.mark.slow
def test_http_level_errors_and_model_route_match(report):
    want = {"oversize": 413, "content-type": 415, "wrong-method": 405, "unknown-path": 404, "empty": 400}
    for case, (ray_answer, reference) in report["http"].items():
        assert ray_answer["status"] == want[case], case
        assert ray_answer["body"] == reference["body"], case
    ray_model, reference_model = report["model"]
    assert ray_model == reference_model and ray_model["limits"]["max_payload"] == 4096


@pytest.mark.slow
def test_both_nodes_serve(report):
    assert len(report["nodes"]) == 2 and all(report["nodes"])


@pytest.mark.slow
def test_killed_worker_node_costs_few_errors_then_recovers(report):
    load = report["load"]
    events = load["events"]
    killed_at = load["killed_at"]
    before = [e for e in events if e[0] < killed_at]
    after = [e for e in events if e[0] >= killed_at]
    assert len(before) > 20 and len(after) > 50
    assert {node for _, status, node in before if status == 200} == set(report["nodes"])  # both served the load
    errors = [e for e in events if e[1] != 200]
    assert len(errors) <= max(5, len(events) // 100), errors[:10]  # < 1 %, or a handful on a slow run
    last = [e for e in events if e[0] > events[-1][0] - 3.0]  # the last 3 s: all answered by the survivors
    assert len(last) > 10 and all(status == 200 for _, status, _ in last)


@pytest.mark.slow
def test_back_pressure_is_503_with_retry_after(report):
    burst = report["burst"]
    assert len(burst) == 8
    assert {b["status"] for b in burst} <= {200, 503}, burst
    assert any(b["status"] == 200 for b in burst)
    refused = [b for b in burst if b["status"] == 503]
    assert refused and all(b["retry_after"] == "1" for b in refused), burst
    # at least one refused by the replica's own gate: fsplit-serve's JSON, not Ray's text
    assert any(b["error"] == "saturated" for b in refused), burst
    assert report["burst_after"]["status"] == 200  # and it serves again once the burst is over


@pytest.mark.slow
def test_cli_stops_cleanly_on_sigterm(report):
    assert report["cli_exit"] == 0 and report["cli_exit_last"] == 0, report["log_tail"]


@pytest.mark.slow
def test_cli_stops_cleanly_on_sigterm_while_starting(report):
    """SIGTERM right after the CLI connected (proxies starting, app deploying; or, on a fast run, just
    served): exit 0 after deleting the app, never Ray's failure-signal handler (its trace, then SIGABRT)."""
    log = report["log_starting"]
    assert report["cli_exit_starting"] == 0, log
    assert "SIGTERM received" not in log and "Traceback" not in log, log
    assert "SIGTERM while starting" in log or "serving" in log, log
    assert report["after_starting"]["status"] == 404, report["after_starting"]  # no app left behind
