"""How fsplit-serve's limits and scaling options become Ray Serve deployment options (no cluster: fast), and the
CLI refusing inconsistent --engine ray settings before touching a cluster."""

import pytest
from click.testing import CliRunner

pytest.importorskip("ray.serve")

from fsplit_mobile.serve.cli import main  # noqa: E402
from fsplit_mobile.serve.limits import LimitsError, ServeLimits  # noqa: E402
from fsplit_mobile.serve.ray.options import RayOptions, deployment_options, replica_artifact, runtime_env  # noqa: E402


def test_fixed_replicas_and_backpressure_mapping(tmp_path):
    limits = ServeLimits(max_concurrency=3, max_queue=5, retry_after_s=2)
    opts = RayOptions(replicas=4, cpus_per_replica=1.5, max_queued_requests=20)
    out = deployment_options(limits, opts)
    assert out["num_replicas"] == 4 and "autoscaling_config" not in out
    assert out["max_ongoing_requests"] == 16  # twice the gate (3 + 5): excess reaches the gate's JSON 503
    assert out["max_queued_requests"] == 20
    assert out["backpressure_config"].status_code == 503 and out["backpressure_config"].retry_after_s == 2
    assert out["ray_actor_options"] == {"num_cpus": 1.5}
    assert runtime_env(opts, tmp_path) == {"working_dir": str(tmp_path.resolve())}
    assert replica_artifact(opts, tmp_path) == "."
    path_opts = RayOptions(ship="path")
    assert runtime_env(path_opts, tmp_path) == {} and replica_artifact(path_opts, tmp_path) == str(tmp_path.resolve())


def test_autoscaling_bounds():
    out = deployment_options(ServeLimits(max_concurrency=2), RayOptions(min_replicas=0, max_replicas=3))
    cfg = out["autoscaling_config"]
    assert "num_replicas" not in out
    assert (cfg["min_replicas"], cfg["max_replicas"], cfg["initial_replicas"]) == (0, 3, 1)
    assert cfg["target_ongoing_requests"] == 2


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"replicas": 0}, "replicas"),
        ({"min_replicas": 1}, "both"),
        ({"min_replicas": 3, "max_replicas": 2}, "bounds"),
        ({"cpus_per_replica": 0}, "cpus_per_replica"),
        ({"ship": "ftp"}, "ship"),
        ({"proxy_location": "Nowhere"}, "proxy_location"),
    ],
)
def test_bad_options_are_refused_with_their_name(kwargs, word):
    with pytest.raises(LimitsError, match=word):
        RayOptions(**kwargs)


def test_app_builder_casts_and_refuses_unknown_arguments(tmp_path):
    from fsplit_mobile.serve.ray.deployment import app_builder

    app = app_builder(
        {"artifact": str(tmp_path), "replicas": "2", "max_concurrency": "3", "timeout_s": "2.5", "ship": "path"}
    )
    deployment = app._bound_deployment
    assert deployment.num_replicas == 2 and deployment.max_ongoing_requests == 2 * (3 + ServeLimits.max_queue)
    artifact, limits, _threads = deployment.init_args
    assert artifact == str(tmp_path.resolve()) and limits["timeout_s"] == 2.5 and limits["max_concurrency"] == 3
    with pytest.raises(ValueError, match="unknown arguments"):
        app_builder({"artifact": str(tmp_path), "replica": "2"})


def test_cli_refuses_before_any_cluster_starts(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["--engine", "ray", "--artifact", str(tmp_path), "--workers", "2"])
    assert r.exit_code == 2 and "--replicas" in r.output
    r = runner.invoke(main, ["--engine", "ray", "--artifact", str(tmp_path), "--min-replicas", "1"])
    assert r.exit_code == 2 and "max-replicas" in r.output
    r = runner.invoke(main, ["--engine", "ray", "--artifact", str(tmp_path)])  # no manifest: not servable
    assert r.exit_code == 2 and "manifest" in r.output.lower()


def test_app_deletion_failure_is_reported_and_still_disconnects(capsys):
    """Stopping: a failing serve.delete is said on stderr and makes the exit status non-zero (serve_forever), and
    the driver leaves the cluster all the same. (The real stop paths run on a real cluster: test_serve_ray.py.)"""
    from fsplit_mobile.serve.ray.run import _delete_and_disconnect

    calls = []

    class Cluster:
        def is_initialized(self):
            return True

        def shutdown(self):
            calls.append("shutdown")

    class Serve:
        def __init__(self, error):
            self.error = error

        def delete(self, name):
            calls.append(f"delete {name}")
            if self.error:
                raise self.error

    assert _delete_and_disconnect(Cluster(), Serve(None)) is True
    assert calls == ["delete fsplit", "shutdown"]
    calls.clear()
    assert _delete_and_disconnect(Cluster(), Serve(RuntimeError("There is no Serve instance running"))) is False
    assert calls == ["delete fsplit", "shutdown"]
    assert "could not delete the app: There is no Serve instance running" in capsys.readouterr().err
