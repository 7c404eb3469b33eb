"""The server process of the end-to-end benchmark (run inside the server network namespace):
fsplit-serve apps for each split artifact under /split/<name>, the offloading baseline under /offload.

    python -m fsplit_mobile.e2e.server --split fp32=DIR --split int8=DIR --teacher T.onnx --host H --port P
"""

import argparse


def build_app(splits: dict, teacher, labels, limits):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import BaseRoute, Mount, Route

    from ..serve.app import create_app
    from .offload import OffloadEngine, create_offload_app

    routes: list[BaseRoute] = [Route("/healthz", lambda _r: JSONResponse({"status": "ok"}))]
    routes += [Mount(f"/split/{name}", app=create_app(path, limits=limits)) for name, path in splits.items()]
    if teacher:
        routes.append(Mount("/offload", app=create_offload_app(OffloadEngine(teacher, labels), limits)))
    return Starlette(routes=routes)


def main(argv=None):
    import uvicorn

    from ..models.frankensplit_lite0 import imagenet_labels
    from ..serve.limits import ServeLimits

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", action="append", default=[], help="NAME=ARTIFACT_DIR (repeatable)")
    parser.add_argument("--teacher", default=None, help="teacher ONNX for the offloading baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    splits = dict(item.split("=", 1) for item in args.split)
    limits = ServeLimits(max_payload=16 << 20, timeout_s=60.0, max_concurrency=1, max_queue=64)
    app = build_app(splits, args.teacher, imagenet_labels(), limits)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http="h11")


if __name__ == "__main__":
    main()
