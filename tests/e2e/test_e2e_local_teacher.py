"""The e2e benchmark's third baseline, the full teacher on the device: its comparison with every method (ratio
per bandwidth, crossover bandwidths, where sending wins) and the report section, on hand-made results."""

import pytest

from fsplit_mobile.e2e.report import local_comparison, local_lines

BWS = [1, 10, 100]


def _results(local_ms=60.0):
    return {
        "bandwidths_mbit": BWS,
        "e2e_ms": {
            "split": {str(b): {"total": t} for b, t in zip(BWS, [120.0, 40.0, 30.0])},
            "webp-q1": {str(b): {"total": t} for b, t in zip(BWS, [300.0, 90.0, 70.0])},
        },
        "methods": {"split": {"agreement": 0.9}, "webp-q1": {"agreement": 0.6}},
        "local_teacher": {
            "name": "teacher-on-device",
            "agreement": 1.0,
            "total_ms": local_ms,
            "device_ms": {"preprocess": 1.0, "teacher": local_ms - 1.0},
            "runtime": "test",
        },
    }


def test_split_beats_the_local_teacher_above_the_crossover():
    c = local_comparison(_results())
    assert c["split"]["per_bandwidth"] == {"1": 0.5, "10": 1.5, "100": 2.0}
    assert c["split"]["faster_at"] == [10, 100]
    (cross,) = c["split"]["crossover"]
    assert cross["split_faster_below"] is False  # sending wins above it
    assert 1 < cross["mbit"] < 10
    # log-linear interpolation of local - split: -60 at 1 Mbit/s, +20 at 10 Mbit/s -> 10 ** (60 / 80)
    assert cross["mbit"] == pytest.approx(10**0.75, abs=0.01)
    assert c["webp-q1"]["crossover"] == [] and c["webp-q1"]["faster_at"] == []


def test_report_section_and_old_results_without_the_baseline():
    results = _results()
    text = "\n".join(local_lines(results))
    assert "teacher-on-device: 60.0 ms at every bandwidth" in text
    assert "split (agreement 0.900)" in text and "sending faster above" in text
    assert "webp-q1 (agreement 0.600)" in text and "the local teacher is faster at every bandwidth tried" in text
    results.pop("local_teacher")
    assert local_comparison(results) == {} and local_lines(results) == []


def test_quality_table_states_the_device_compute_of_each_split_method():
    from fsplit_mobile.e2e.report import device_compute_text

    dc = {"macs": 34721792, "network_macs": 385187552, "share": 34721792 / 385187552}
    assert device_compute_text({"artifact": "a", "device_compute": dc}) == "34.7 M (9.0 %)"
    assert device_compute_text({"artifact": "a", "device_compute": None}) == "not recorded"
    assert device_compute_text({"agreement": 0.6}) == "codec only"  # an offloading method: no artifact
