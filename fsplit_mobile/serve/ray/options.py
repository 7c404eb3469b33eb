"""How fsplit-serve's limits and scaling options become a Ray Serve deployment's options.

Admission stays the app's own (limits.AdmissionGate: `max_concurrency` running + `max_queue` waiting per
replica, then 503 `saturated` + Retry-After, the JSON body of fsplit-serve). Ray's router is set so that it
hands a replica somewhat more than that gate admits (`max_ongoing_requests` = 2 x gate capacity): an excess
request reaches the gate and is refused at once with fsplit-serve's JSON instead of waiting in Ray's queue.
Ray's own queue (`max_queued_requests`, in front of every replica) is the last bound; what it refuses gets
503 with the same Retry-After from Ray's proxy (Ray's plain-text body: the one answer that differs).
"""

from dataclasses import dataclass
from pathlib import Path

from ..limits import LimitsError, ServeLimits

SHIP_MODES = ("working-dir", "path")
PROXY_LOCATIONS = ("EveryNode", "HeadOnly")


@dataclass(frozen=True)
class RayOptions:
    replicas: int = 1  # fixed replica count (ignored when autoscaling bounds are given)
    min_replicas: int | None = None  # autoscaling lower bound
    max_replicas: int | None = None  # autoscaling upper bound
    cpus_per_replica: float = 1.0  # Ray's num_cpus of one replica (placement; ORT threads are --intra-op-threads)
    max_queued_requests: int = 64  # Ray's queue in front of all replicas (per proxy), then 503
    ship: str = "working-dir"  # working-dir: Ray uploads the artifact to every node; path: same path on each node
    address: str | None = None  # Ray cluster address ("auto", "ray://host:10001", None: start a local one)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    proxy_location: str = "EveryNode"  # an HTTP proxy on every node (behind a load balancer) or the head only

    def __post_init__(self):
        if self.replicas < 1:
            raise LimitsError(f"replicas must be >= 1, got {self.replicas}")
        if (self.min_replicas is None) != (self.max_replicas is None):
            raise LimitsError("autoscaling needs both --min-replicas and --max-replicas")
        if (
            self.min_replicas is not None
            and self.max_replicas is not None
            and not 0 <= self.min_replicas <= self.max_replicas >= 1
        ):
            raise LimitsError(
                f"autoscaling bounds must satisfy 0 <= min <= max, max >= 1, got "
                f"{self.min_replicas}..{self.max_replicas}"
            )
        if not self.cpus_per_replica > 0:
            raise LimitsError(f"cpus_per_replica must be > 0, got {self.cpus_per_replica}")
        if self.max_queued_requests < 1:
            raise LimitsError(f"max_queued_requests must be >= 1, got {self.max_queued_requests}")
        if self.ship not in SHIP_MODES:
            raise LimitsError(f"ship must be one of {', '.join(SHIP_MODES)}, got {self.ship!r}")
        if self.proxy_location not in PROXY_LOCATIONS:
            raise LimitsError(
                f"proxy_location must be one of {', '.join(PROXY_LOCATIONS)}, got {self.proxy_location!r}"
            )

    @property
    def autoscaling(self) -> bool:
        return self.min_replicas is not None


def max_ongoing(limits: ServeLimits) -> int:
    """Requests Ray's router lets one replica hold: twice what its admission gate admits (see module doc)."""
    return 2 * (limits.max_concurrency + limits.max_queue)


def deployment_options(limits: ServeLimits, opts: RayOptions) -> dict:
    """Keyword arguments of `Deployment.options()` for this artifact, limits and scaling."""
    from ray.serve.config import BackpressureConfig

    out: dict = {
        "max_ongoing_requests": max_ongoing(limits),
        "max_queued_requests": opts.max_queued_requests,
        "backpressure_config": BackpressureConfig(status_code=503, retry_after_s=limits.retry_after_s),
        "ray_actor_options": {"num_cpus": opts.cpus_per_replica},
    }
    if opts.min_replicas is not None:  # opts.autoscaling, spelled so that mypy sees the bound is set
        # target: the gate's running slots busy; more waiting than that asks for another replica
        out["autoscaling_config"] = {
            "min_replicas": opts.min_replicas,
            "max_replicas": opts.max_replicas,
            "initial_replicas": max(opts.min_replicas, 1),
            "target_ongoing_requests": limits.max_concurrency,
            "upscale_delay_s": 2.0,
            "downscale_delay_s": 10.0,
        }
    else:
        out["num_replicas"] = opts.replicas
    return out


def runtime_env(opts: RayOptions, artifact_dir) -> dict:
    """The job's runtime_env (ray.init; Ray accepts a local folder only there, and replicas inherit it).
    working-dir: Ray zips the artifact folder into its object store (GCS) once; each node unpacks it and the
    replica runs in it. path: nothing shipped, every node must have the folder at the same absolute path."""
    if opts.ship == "working-dir":
        return {"working_dir": str(Path(artifact_dir).resolve())}
    return {}


def replica_artifact(opts: RayOptions, artifact_dir) -> str:
    """The artifact path as the replica sees it ("." is its working directory, the shipped copy)."""
    return "." if opts.ship == "working-dir" else str(Path(artifact_dir).resolve())
