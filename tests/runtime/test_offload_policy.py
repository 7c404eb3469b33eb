"""The offload policy (runtime/offload_policy.py): local vs split (rate point) vs JPEG/WebP offload per request;
the same choices in the Java core (android_demo/core OffloadPolicy) on the shared case table plus random cases;
the e2e decision report (e2e/decision.py) on a small synthetic study; the Python client's "policy" rate point."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fsplit_mobile.runtime import offload_policy as op
from fsplit_mobile.runtime.offload_policy import DeviceProfile, OffloadPolicyError, Option
from repo_paths import REPO, TESTS

CASES = TESTS / "data" / "offload_policy_cases.tsv"
JUNIT = Path("/usr/share/java/junit-platform-console-standalone.jar")
CORE = REPO / "android_demo" / "core" / "src"


def read_cases(text: str):
    """{set: [Option]}, [(set, bandwidth or None, rtt, floor, expected, line)] from the shared table format."""
    sets, cases = {}, []
    for line in text.splitlines():
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if f[0] == "option":
            _, s, name, kind, dev, wire, server, agreement = f
            sets.setdefault(s, []).append(Option(name, kind, float(dev), float(agreement), float(wire), float(server)))
        else:
            assert f[0] == "case" and len(f) == 6, line
            bw = None if f[2] == "none" else float(f[2])
            cases.append((f[1], bw, float(f[3]), float(f[4]), f[5], line))
    return sets, cases


# -- the rule --------------------------------------------------------------------------------------------------


def test_shared_table_cases():
    sets, cases = read_cases(CASES.read_text())
    assert len(cases) >= 15
    for s, bw, rtt, floor, expected, line in cases:
        d = op.choose(sets[s], bw, rtt, floor)
        assert d.option.name == expected, f"{line}: {d.latencies}"


def test_latency_of_each_kind_hand_computed():
    local = Option("local", "local", 60.0, 1.0)
    split = Option("r2", "split", 50.0, 0.72, wire_bytes=1000, server_ms=2.0, rate_point=0)
    offload = Option("jpeg", "offload", 7.0, 0.77, wire_bytes=10000, server_ms=8.0)
    assert op.latency_ms(local, 0.5, 200.0) == 60.0  # nothing sent: neither bandwidth nor RTT
    assert op.latency_ms(split, 10.0, 20.0) == pytest.approx(50 + 20 + 0.8 + 2)
    assert op.latency_ms(offload, 1.0, 20.0) == 7 + 20 + 80 + 8
    assert op.latency_ms(offload, None, 20.0) == 35.0  # no estimate: no transfer term
    assert op.transfer_ms(1250, 1.0) == 10.0 and op.transfer_ms(1250, 0.5) == 20.0
    d = op.choose([local, split, offload], 10.0, 20.0, 0.72)
    assert d.option is offload and d.latency_ms == 43.0
    assert d.latencies == {"local": 60.0, "r2": pytest.approx(72.8), "jpeg": 43.0}
    assert d.eligible == ("local", "r2", "jpeg") and d.min_agreement == 0.72


def test_ties():
    loc = Option("loc", "local", 30.0, 1.0)
    o1 = Option("o1", "offload", 5.0, 0.8, 1250, 5.0)
    s2 = Option("s2", "split", 10.0, 0.8, 1250, 0.0)
    s1 = Option("s1", "split", 10.0, 0.8, 1250, 0.0)
    # 1 Mbit/s, 10 ms: all four at exactly 30 ms -> the local option (agreement 1.0)
    assert op.choose([o1, s2, s1, loc], 1.0, 10.0).option is loc
    # without it: split before offload although offload is listed first, then the earlier split
    assert op.choose([o1, s2, s1], 1.0, 10.0).option is s2
    assert op.choose([o1, s1, s2], 1.0, 10.0).option is s1
    better = Option("o2", "offload", 5.0, 0.9, 1250, 5.0)  # same latency, higher agreement
    assert op.choose([s1, better], 1.0, 10.0).option is better


def test_agreement_floor():
    loc = Option("loc", "local", 100.0, 1.0)
    r = Option("r", "split", 10.0, 0.723404255319149, 1000, 1.0)
    assert op.choose([loc, r], 10.0, 20.0, 0.723404255319149).option is r  # its own agreement is met
    assert op.choose([loc, r], 10.0, 20.0, 0.7234043).option is loc
    assert op.choose([loc, r], 10.0, 20.0, 1.0).option is loc  # local inference always qualifies
    assert op.choose([loc, r], 10.0, 20.0).option is r  # default floor 0
    with pytest.raises(OffloadPolicyError, match=r"min_agreement 0.9: no option reaches it \(best: r at 0.7234"):
        op.choose([r], 10.0, 20.0, 0.9)
    assert op.reference_floor([loc, r], "r") == r.agreement
    with pytest.raises(OffloadPolicyError, match="reference: no option named 'x'"):
        op.reference_floor([loc, r], "x")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"device_ms": -1.0}, "device_ms"),
        ({"device_ms": float("nan")}, "device_ms"),
        ({"device_ms": "5"}, "device_ms"),
        ({"agreement": 1.5}, "agreement"),
        ({"agreement": -0.1}, "agreement"),
        ({"wire_bytes": float("inf")}, "wire_bytes"),
        ({"server_ms": -2}, "server_ms"),
        ({"kind": "cloud"}, "kind"),
        ({"name": ""}, "name"),
        ({"rate_point": -1}, "rate_point"),
        ({"rate_point": True}, "rate_point"),
    ],
)
def test_bad_option_names_the_field(kwargs, field):
    args = {"name": "s", "kind": "split", "device_ms": 1.0, "agreement": 0.5, "wire_bytes": 10.0, "server_ms": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        Option(**args)


def test_bad_links_floors_and_option_sets():
    opts = [Option("l", "local", 5.0, 1.0), Option("s", "split", 1.0, 0.5, 100, 1.0)]
    for bw, rtt, floor, field in [
        (0.0, 20.0, 0.0, "bandwidth_mbit"),
        (-1.0, 20.0, 0.0, "bandwidth_mbit"),
        (float("inf"), 20.0, 0.0, "bandwidth_mbit"),
        (1.0, -1.0, 0.0, "rtt_ms"),
        (1.0, float("nan"), 0.0, "rtt_ms"),
        (1.0, 20.0, 1.5, "min_agreement"),
    ]:
        with pytest.raises(ValueError, match=field):
            op.choose(opts, bw, rtt, floor)
    with pytest.raises(OffloadPolicyError, match="no option to choose from"):
        op.choose([], 1.0, 20.0)
    with pytest.raises(OffloadPolicyError, match="name 'l' given twice"):
        op.choose([opts[0], opts[0]], 1.0, 20.0)
    with pytest.raises(OffloadPolicyError, match="sends nothing"):
        Option("l", "local", 5.0, 1.0, wire_bytes=10)
    with pytest.raises(OffloadPolicyError, match="only a split option has a rate_point"):
        Option("o", "offload", 5.0, 1.0, 10, 1.0, rate_point=0)


def test_scaled_and_profile_round_trip():
    opts = [Option("l", "local", 6.0, 1.0), Option("s", "split", 5.0, 0.7, 1000, 1.5, rate_point=0)]
    assert [o.device_ms for o in op.scaled(opts, 10)] == [60.0, 50.0]
    assert [o.device_ms for o in op.scaled(opts, 10, names=["s"])] == [6.0, 50.0]
    with pytest.raises(OffloadPolicyError, match="factor"):
        op.scaled(opts, 0)
    prof = DeviceProfile(tuple(opts), min_agreement=0.7)
    assert DeviceProfile.from_dict(json.loads(json.dumps(prof.to_dict()))) == prof
    bad = prof.to_dict()
    bad["options"][1]["wire_bytes"] = -3
    with pytest.raises(OffloadPolicyError, match="option 's': wire_bytes"):
        DeviceProfile.from_dict(bad)
    for patch, msg in [
        ({"schema": "x"}, "schema"),
        ({"options": {}}, "options must be a list"),
        ({"min_agreement": 2}, "min_agreement"),
        ({"options": [{"name": "a", "kind": "local", "device_ms": 1}]}, "missing field 'agreement'"),
        ({"options": [{"name": "a", "kind": "local", "device_ms": 1, "agreement": 1, "cpu": 3}]}, "unknown field"),
    ]:
        with pytest.raises(OffloadPolicyError, match=msg):
            DeviceProfile.from_dict({**prof.to_dict(), **patch})


# -- Java and Python agree ------------------------------------------------------------------------------------------


def _random_cases(n_sets: int, seed: int = 20) -> str:
    """Random option sets (with deliberate exact ties) and links; expected = Python's choice."""
    rng = random.Random(seed)
    lines = []
    for k in range(n_sets):
        s = f"R{k}"
        opts = [Option("local", "local", rng.choice([5.0, 30.0, 60.0, rng.uniform(1, 400)]), 1.0)]
        for i in range(rng.randint(1, 6)):
            kind = rng.choice(["split", "offload"])
            if opts and rng.random() < 0.25:  # an exact copy of an earlier remote option, or of its latency
                src = opts[-1]
                if src.kind != "local":
                    opts.append(Option(f"{kind}{i}", kind, src.device_ms, src.agreement, src.wire_bytes, src.server_ms))
                    continue
            opts.append(
                Option(
                    f"{kind}{i}",
                    kind,
                    round(rng.uniform(0.1, 300), rng.choice([0, 2, 6])),
                    rng.choice([0.42, 0.723404255319149, 0.8, 0.95, round(rng.random(), 3)]),
                    round(rng.uniform(50, 40000), rng.choice([0, 1])),
                    round(rng.uniform(0, 12), 3),
                )
            )
        for o in opts:
            lines.append(
                f"option {s} {o.name} {o.kind} {o.device_ms!r} {o.wire_bytes!r} {o.server_ms!r} {o.agreement!r}"
            )
        for _ in range(6):
            bw = rng.choice([None, 0.5, 1.0, 3.3, 10.0, 100.0, rng.uniform(0.1, 200)])
            rtt = rng.choice([0.0, 5.0, 20.0, 200.0, rng.uniform(0, 300)])
            floor = rng.choice([0.0, 0.723404255319149, 0.8, 1.0, rng.random()])
            name = op.choose(opts, bw, rtt, floor).option.name
            lines.append(f"case {s} {'none' if bw is None else repr(bw)} {rtt!r} {floor!r} {name}")
    return "\n".join(lines) + "\n"


def test_java_core_agrees_with_python(tmp_path):
    """OffloadPolicyTest (JUnit) checks the Java choices on the shared table plus 300 random cases that carry
    Python's choices; it also runs with the core's other JUnit tests (tests/bench/test_android_core.py)."""
    missing = [t for t in ("javac", "java") if shutil.which(t) is None]
    if missing or not JUNIT.is_file():
        pytest.fail(f"Java toolchain incomplete (missing: {missing} {JUNIT}); run scripts/install_system_deps.sh")
    main, test = tmp_path / "main", tmp_path / "test"
    policy_src = CORE / "main" / "java" / "dev" / "fsplit" / "demo" / "core" / "OffloadPolicy.java"
    test_src = CORE / "test" / "java" / "dev" / "fsplit" / "demo" / "core" / "OffloadPolicyTest.java"
    for out, cp, src, release in [(main, [], policy_src, "8"), (test, [JUNIT, main], test_src, "11")]:
        cmd = ["javac", "--release", release, "-encoding", "UTF-8", "-Xlint:all,-options", "-Werror", "-d", str(out)]
        res = subprocess.run(cmd + (["-cp", ":".join(map(str, cp))] if cp else []) + [str(src)], capture_output=True)
        assert res.returncode == 0, res.stderr.decode()
    cases = tmp_path / "cases.tsv"
    cases.write_text(CASES.read_text() + _random_cases(50))
    res = subprocess.run(
        ["java", f"-Dfsplit.offloadCases={cases}", "-jar", str(JUNIT), "-cp", f"{main}:{test}"]
        + ["--select-class", "dev.fsplit.demo.core.OffloadPolicyTest", "--fail-if-no-tests", "--disable-banner"]
        + ["--details=summary", "--disable-ansi-colors"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "3 tests successful" in res.stdout, res.stdout[-3000:]


# -- the e2e decision report ----------------------------------------------------------------------------------------


def synthetic_study() -> dict:
    """At RTT 20 ms: local 40; s0 32 + 10/bw; s1 32 + 40/bw; jpeg 26 + 100/bw (ms, bw in Mbit/s). Floor: s0's 0.8.
    -> local below 1.25 Mbit/s, s0 from 1.25 to 15, jpeg above 15."""

    def method(name, device, wire, server, agreement, **extra):
        return {
            "name": name,
            "agreement": agreement,
            "payload_bytes": {"mean": wire},
            "client_total_ms": device,
            "server_ms": {"total": server},
            **extra,
        }

    bws = [1, 10, 100]
    dc = {"macs": 21_224_448, "share": 0.0551, "network_macs": 385_187_552}
    return {
        "schema": "fsplit-e2e/1",
        "bandwidths_mbit": bws,
        "rtt_ms": 20.0,
        "crops": 4,
        "split_methods": ["s0", "s1"],
        "offload_methods": ["jpeg-q50"],
        "methods": {
            "s0": method("s0", 10.0, 1250, 2.0, 0.8, rate_point=0, artifact="a/onnx-int8", device_compute=dc),
            "s1": method("s1", 10.0, 5000, 2.0, 0.9, rate_point=1, artifact="a/onnx-int8"),
            "jpeg-q50": method("jpeg-q50", 1.0, 12500, 5.0, 0.85, codec="jpeg", quality=50),
        },
        "matching": {"target": "s0", "target_agreement": 0.8},
        "local_teacher": {"name": "teacher-on-device", "agreement": 1.0, "total_ms": 40.0},
        "e2e_ms": {m: {str(b): {"total": 50.0} for b in bws} for m in ("s0", "s1", "jpeg-q50")},
        "transfer": {"mode": "computed"},
        "machine": {"date": "2026-12-02", "cpu_model": "test", "cores": 2},
    }


def _bench_result(path: Path, total_ms: float, status: str = "complete", rate_point: int | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    point = None if rate_point is None else {"index": rate_point, "name": f"r{rate_point}"}
    result = {
        "schema": "fsplit-bench-result/1",
        "status": status,
        "artifact": {"path": "x", "rate_point": point},
        "device": {"arch": "aarch64", "transport": "adb:TEST"},
        "stages": {"total_ms": {"n": 3, "p50": total_ms}},
        "images": [],
    }
    (path / "result.json").write_text(json.dumps(result))
    return path / "result.json"


def test_decision_report_winners_crossovers_and_png(tmp_path):
    from fsplit_mobile.e2e import decision

    study = tmp_path / "e2e.json"
    study.write_text(json.dumps(synthetic_study()))
    report, paths = decision.run(study, tmp_path / "out")
    assert [p.name for p in paths] == ["host.json", "host.md", "host.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[2].stat().st_size > 10_000
    a = report["analysis"]
    assert report["floor"] == 0.8
    assert {o["name"]: o["eligible"] for o in report["options"]} == {
        "local": True,
        "s0": True,
        "s1": True,
        "jpeg-q50": True,
    }
    row = {bw: cell["winner"] for bw, cell in a["grid"]["20"].items()}
    want = ["local", "local", "s0", "s0", "s0", "jpeg-q50", "jpeg-q50", "jpeg-q50"]
    assert row == dict(zip(["0.5", "1", "2", "5", "10", "20", "50", "100"], want))
    assert a["grid"]["20"]["2"]["latency_ms"] == 37.0
    segs = a["per_rtt"]["20"]["segments"]
    assert [s["winner"] for s in segs] == ["local", "s0", "jpeg-q50"]
    assert [c["mbit"] for c in a["per_rtt"]["20"]["crossovers"]] == [pytest.approx(1.25), pytest.approx(15.0)]
    # RTT 5: s0 beats local already at 0.5 Mbit/s (17 + 20 < 40); RTT 200: every remote option > 200 ms
    assert [s["winner"] for s in a["per_rtt"]["5"]["segments"]] == ["s0", "jpeg-q50"]
    assert [s["winner"] for s in a["per_rtt"]["200"]["segments"]] == ["local"]
    assert a["target"]["met"] is False  # local wins below 1.25 Mbit/s
    # s0 outside its device time: 22 + 10/bw; local 40 at 0.5 Mbit/s leaves 40 - 42 = -2 ms
    assert a["target"]["split_budget"]["s0"] == {
        "device_ms": 10.0,
        "max_device_ms": pytest.approx(-2.0),
        "binding": "local",
        "at_mbit": 0.5,
    }
    md = paths[1].read_text()
    assert "| 20 ms | 0.5-1.25: local; 1.25-15: s0; 15-100: jpeg-q50 |" in md
    # SC2's first criterion beside each option: the split's encoder MACs, the whole network, a codec
    assert report["device_compute"] == {
        "local": "385.2 M (100 %)",
        "s0": "21.2 M (5.5 %)",
        "s1": "not recorded",
        "jpeg-q50": "codec only",
    }
    assert "| s0 | split | 21.2 M (5.5 %) | 10.00 |" in md
    assert "**Not met**" in md and "![win map](host.png)" in md
    assert json.loads(paths[0].read_text())["schema"] == "fsplit-e2e-decision/1"
    prof = DeviceProfile.from_dict(report["profile"])  # the client's profile: local, s0, s1, jpeg
    assert [o.name for o in prof.options] == ["local", "s0", "s1", "jpeg-q50"] and prof.min_agreement == 0.8

    # a narrower bandwidth range meets the target; a floor of 0.85 drops s0
    report, _ = decision.run(study, tmp_path / "out", bandwidths=[2, 5, 10, 20], name="narrow")
    assert report["analysis"]["target"]["met"] is True
    report, _ = decision.run(study, tmp_path / "out", min_agreement=0.85, name="floor")
    assert not report["options"][1]["eligible"]
    # s1 (0.9): 32 + 40/bw beats local above 5 Mbit/s and jpeg below 10
    segs = report["analysis"]["per_rtt"]["20"]["segments"]
    assert [(s["winner"], round(s["to"], 9)) for s in segs] == [("local", 5), ("s1", 10), ("jpeg-q50", 100)]


def test_decision_report_slowdown_and_device_results(tmp_path):
    from fsplit_mobile.e2e import decision

    study = tmp_path / "e2e.json"
    study.write_text(json.dumps(synthetic_study()))
    # x2: local 80; s0 42 + 10/bw; jpeg 27 + 100/bw -> s0 up to 6 Mbit/s, jpeg above
    report, paths = decision.run(study, tmp_path / "out", slowdown=2)
    assert paths[0].name == "slowdown-2x.json" and "ASSUMPTION" in report["device"]
    segs = report["analysis"]["per_rtt"]["20"]["segments"]
    assert [s["winner"] for s in segs] == ["s0", "jpeg-q50"] and segs[0]["to"] == pytest.approx(6.0)
    # measured on a device: split 5 ms (every split method), full network 100 ms; the JPEG encode stays x 2
    split = _bench_result(tmp_path / "split", 5.0)
    full = _bench_result(tmp_path / "full", 100.0)
    report, paths = decision.run(
        study, tmp_path / "out", slowdown=2, device_results=[str(split)], device_result_local=full
    )
    assert paths[0].name == "device.json"
    ms = {o["name"]: o["device_ms"] for o in report["options"]}
    assert ms == {"local": 100.0, "s0": 5.0, "s1": 5.0, "jpeg-q50": 2.0}
    assert report["device_ms_source"]["s0"].startswith("device: ") and "x 2" in report["device_ms_source"]["jpeg-q50"]
    # measured on the study's host by another runner (e.g. the native one): the stated slowdown applies to them too
    report, _ = decision.run(
        study, tmp_path / "out", slowdown=2, device_results=[f"s0={split}"], scale_results=True, name="scaled"
    )
    ms = {o["name"]: o["device_ms"] for o in report["options"]}
    assert ms == {"local": 80.0, "s0": 10.0, "s1": 20.0, "jpeg-q50": 2.0}  # s0: 5 ms measured x 2
    assert report["device_results_scaled"] and "x 2 (stated)" in report["device_ms_source"]["s0"]
    assert "ASSUMPTION" in report["device"] and "--scale-results" in report["command"]
    # only s1 measured
    report, _ = decision.run(study, tmp_path / "out", device_results=[f"s1={split}"], name="one")
    assert {o["name"]: o["device_ms"] for o in report["options"]}["s0"] == 10.0
    for kwargs, msg in [
        ({"device_results": [f"s9={split}"]}, "no such split method"),
        ({"device_results": [str(tmp_path / "nowhere")]}, "not found"),
        ({"device_result_local": _bench_result(tmp_path / "part", 1.0, "partial")}, "status is 'partial'"),
        ({"min_agreement": 1.5}, "min_agreement"),
        ({"slowdown": 0}, "slowdown"),
    ]:
        with pytest.raises(decision.DecisionError, match=msg):
            decision.run(study, tmp_path / "bad", **kwargs)
    with pytest.raises(decision.DecisionError, match="not found"):
        decision.run(tmp_path / "missing.json", tmp_path / "bad")


def test_decision_matches_a_result_s_rate_point_to_the_method_s(tmp_path):
    """A result measured at one rate point (fsplit-bench run --rate-point) times that point's method only."""
    from fsplit_mobile.e2e import decision

    study = tmp_path / "e2e.json"
    study.write_text(json.dumps(synthetic_study()))
    at1 = _bench_result(tmp_path / "at1", 7.0, rate_point=1)
    at0 = _bench_result(tmp_path / "at0", 6.0, rate_point=0)
    report, _ = decision.run(study, tmp_path / "out", device_results=[f"s0={at0}", f"s1={at1}"], name="both")
    assert {o["name"]: o["device_ms"] for o in report["options"]} == {
        "local": 40.0,
        "s0": 6.0,
        "s1": 7.0,
        "jpeg-q50": 1.0,
    }
    with pytest.raises(decision.DecisionError, match="measured at rate point 1, but s0 is rate point 0"):
        decision.run(study, tmp_path / "bad", device_results=[f"s0={at1}"])
    with pytest.raises(decision.DecisionError, match=r"\(every split method\) was measured at rate point 1"):
        decision.run(study, tmp_path / "bad", device_results=[str(at1)])


def test_decision_module_cli(tmp_path):
    study = tmp_path / "e2e.json"
    study.write_text(json.dumps(synthetic_study()))
    cmd = [sys.executable, "-m", "fsplit_mobile.e2e.decision", "--study", str(study), "--out", str(tmp_path / "o")]
    res = subprocess.run(cmd + ["--slowdown", "10", "--rtts", "5,20"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o" / "slowdown-10x.png").is_file() and "target" in res.stdout
    res = subprocess.run(cmd + ["--bandwidths", "0,1"], capture_output=True, text=True)
    assert res.returncode == 1 and "bandwidths" in res.stderr


# -- the Python client ------------------------------------------------------------------------------------------------


def test_client_policy_routes_per_request(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from fsplit_mobile.client import RouteElsewhere, SplitClient
    from fsplit_mobile.runtime.rate_policy import RatePolicyError
    from serve_support import build_tiny_artifact

    art = build_tiny_artifact(tmp_path / "art")
    profile = {
        "schema": "fsplit-device-profile/1",
        "options": [
            {"name": "local", "kind": "local", "device_ms": 40.0, "agreement": 1.0},
            {
                "name": "s0",
                "kind": "split",
                "rate_point": 0,
                "device_ms": 10,
                "wire_bytes": 1250,
                "server_ms": 2,
                "agreement": 0.8,
            },
            {"name": "jpeg", "kind": "offload", "device_ms": 1, "wire_bytes": 12500, "server_ms": 5, "agreement": 0.85},
        ],
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"schema": "fsplit-e2e-decision/1", "profile": profile}))  # a decision report's JSON
    with SplitClient(art, "http://127.0.0.1:9", rate_point="policy", device_profile=path, rtt_ms=20.0) as client:
        assert client.min_agreement() == 0.8  # rate point 0's agreement
        client.bandwidth.bps = 1e6  # local below 1.25 Mbit/s
        with pytest.raises(RouteElsewhere, match="policy chose local") as info:
            client.infer(art.parent / "nothing.jpg")  # routed before the image is read
        assert info.value.decision.latencies["s0"] == 10 + 20 + 10 + 2
        assert client.decide(bandwidth_bps=5e6).option.name == "s0"
        assert client.decide(bandwidth_bps=50e6).option.name == "jpeg"
        client.bandwidth.bps = 5e6
        assert client.select() == 0
        seen = {}

        def fake_post(payload):
            seen["bytes"] = len(payload)
            return {"top5": [], "latent_shape": [1], "timings_ms": {"total": 1.0}}, 3.0

        monkeypatch.setattr(client, "post", fake_post)
        import numpy as np

        result = client.infer(np.zeros((32, 32, 3), np.uint8))
        assert result.rate_point == 0 and result.payload_bytes == seen["bytes"]
        assert client.select(0) == 0  # a fixed index still works
    bad = dict(profile, options=[dict(profile["options"][1], rate_point=3)])
    with pytest.raises(ValueError, match="rate_point 3 is not in this artifact"):
        SplitClient(art, "http://127.0.0.1:9", device_profile=bad)
    with pytest.raises(RatePolicyError, match="needs a device_profile"):
        SplitClient(art, "http://127.0.0.1:9", rate_point="policy")
    with pytest.raises(ValueError, match="rtt_ms"):
        SplitClient(art, "http://127.0.0.1:9", device_profile=profile, rtt_ms=-1)
