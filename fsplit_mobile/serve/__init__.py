"""`fsplit-serve`: the server side of split computing (docs/serve.md).

engine (stream container -> top-5, no HTTP), app (FastAPI routes), plumbing (admission, limits, worker threads,
JSON errors), limits, errors, cli, loadgen. The offloading baseline of the e2e study is fsplit_mobile.e2e.offload.
"""
