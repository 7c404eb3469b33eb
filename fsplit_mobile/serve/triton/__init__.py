"""Serving an artifact with NVIDIA Triton Inference Server (docs/triton.md): `repository.py` writes a Triton model
repository for an artifact folder, `model.py` is its python-backend model (the same ServerEngine as fsplit-serve),
`server.py` runs the `tritonserver` binary that the `nvidia-pytriton` wheel ships, `kserve.py` speaks KServe v2."""
