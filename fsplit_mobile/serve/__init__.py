"""`fsplit-serve`: the server side of split computing (docs/serve.md).

engine (stream container -> top-5, no HTTP), app (FastAPI routes), plumbing (admission, limits, worker threads,
JSON errors), limits, errors, cli, offload (the offloading baseline of the benchmark), loadgen.
"""
