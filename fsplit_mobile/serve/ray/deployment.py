"""The Ray Serve replica: fsplit-serve's FastAPI app (app.create_app: same routes, bodies, JSON errors,
admission gate) built inside each replica on the artifact folder that Ray shipped to its node.

`application()` is what `fsplit-serve --engine ray` deploys; `app_builder` is the same for Ray's own CLI
(`serve run --working-dir DIR fsplit_mobile.serve.ray.deployment:app_builder artifact=. ...`, or a
`serve deploy` config with the same runtime_env).
"""

from pathlib import Path

from ray import serve

from ..limits import ServeLimits
from .options import RayOptions, deployment_options, replica_artifact

DEPLOYMENT_NAME = "fsplit-serve"


@serve.ingress()  # late-bound: the app is built in the replica, after the model is loaded
class FsplitReplica:
    """One replica: loads the artifact (tables checked against the manifest's hash, server.onnx) once."""

    def __init__(self, artifact: str, limits: dict, intra_op_threads: int = 0):
        from ..app import create_app

        path = Path(artifact).resolve()
        # create_app loads the model now: a broken artifact fails the replica's start, so Ray reports the
        # deployment as unhealthy instead of serving 500s
        self._app = create_app(path, limits=ServeLimits(**limits), intra_op_threads=intra_op_threads)

    def __serve_build_asgi_app__(self):
        import ray

        return NodeHeader(self._app, ray.get_runtime_context().get_node_id())


class NodeHeader:
    """ASGI wrapper adding `x-fsplit-node: <Ray node id>` to every answer: which machine served a request
    (load spread, failover checks); nothing else of the answer changes."""

    def __init__(self, app, node_id: str):
        self.app = app
        self.header = (b"x-fsplit-node", node_id.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def tagged(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        return await self.app(scope, receive, tagged)


def application(
    artifact_dir, limits: ServeLimits | None = None, opts: RayOptions | None = None, intra_op_threads: int = 0
):
    """A bound Ray Serve application serving `artifact_dir` with these limits and scaling options."""
    limits = limits or ServeLimits()
    opts = opts or RayOptions()
    # the decorator form: ray types serve.deployment(cls, name=...) as returning the decorator, not the Deployment
    deployment = serve.deployment(name=DEPLOYMENT_NAME)(FsplitReplica)
    deployment = deployment.options(**deployment_options(limits, opts))
    return deployment.bind(replica_artifact(opts, artifact_dir), limits.as_dict(), intra_op_threads)


def app_builder(args: dict):
    """`serve run` / `serve deploy` entry: args artifact=DIR, and optionally any ServeLimits field, replicas,
    min_replicas, max_replicas, cpus_per_replica, max_queued_requests, ship, intra_op_threads."""
    args = dict(args)
    artifact = args.pop("artifact")
    threads = int(args.pop("intra_op_threads", 0))
    limit_fields = set(ServeLimits.__dataclass_fields__)
    option_fields = set(RayOptions.__dataclass_fields__) - {"address", "http_host", "http_port", "proxy_location"}
    unknown = set(args) - limit_fields - option_fields
    if unknown:
        raise ValueError(
            f"unknown arguments {sorted(unknown)}; known: artifact, intra_op_threads, "
            f"{', '.join(sorted(limit_fields | option_fields))}"
        )
    types = {
        **{k: f.type for k, f in ServeLimits.__dataclass_fields__.items()},
        **{k: f.type for k, f in RayOptions.__dataclass_fields__.items()},
    }

    def cast(key, value):
        kind = str(types[key])
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        return str(value)

    limits = ServeLimits(**{k: cast(k, v) for k, v in args.items() if k in limit_fields})
    opts = RayOptions(**{k: cast(k, v) for k, v in args.items() if k in option_fields})
    return application(artifact, limits, opts, threads)
