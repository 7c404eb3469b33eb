"""The Triton python-backend model of an fsplit model repository (repository.py writes a short `model.py` that
imports `TritonPythonModel` from here): each request carries one stream container as a KServe v2 UINT8 tensor
`stream` of shape [1, n] (the container's bytes); it is checked, decoded and finished by the same `ServerEngine`
as `fsplit-serve`, so the answers are identical. Outputs per batch item: `top5_index` (INT64 [5]),
`top5_score` (FP64 [5], softmax), `rate_point` (INT32 [1]) and `answer` (UINT8 [m]: fsplit-serve's JSON answer,
UTF-8, labels and timings included; right-padded with spaces when a request holds several items).

A stream the engine refuses gets an error response (the other requests of the batch are unaffected) whose message
starts with fsplit-serve's error code: `"<code>: <detail>"` (e.g. `corrupt_payload: ...`). It is raised as
INVALID_ARG, which Triton's HTTP front answers with 400 for every such code; fsplit-serve's 409 and 422 have no
Triton counterpart (2.51 answers ALREADY_EXISTS with 400 as well), so the code string is what matches.

Tensors cross the stub boundary by DLPack only: the stub of the `nvidia-pytriton` 0.7.0 wheel was built against
NumPy 1.x, and its NumPy bridge (`as_numpy`, `Tensor(name, ndarray)`) reads NumPy 2 arrays wrongly (zeroed input
bytes, wrong sizes). The module imports `triton_python_backend_utils` only inside Triton's stub process, so it can
be imported (and tested) anywhere.
"""

import ctypes
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..engine import ServerEngine

INPUT = "stream"
OUTPUTS = ("top5_index", "top5_score", "rate_point", "answer")
ARTIFACT_DIR = "artifact"  # inside the version folder: <repository>/<model>/<version>/artifact/


def error_message(code: str, detail: str) -> str:
    """The message of a refused stream: fsplit-serve's error code, a colon, its detail."""
    return f"{code}: {detail}"


def parse_error_message(message: str) -> tuple[str, str]:
    """(code, detail) of an error message written by error_message (Triton's HTTP body: {"error": message})."""
    code, _, detail = message.partition(": ")
    return code, detail


# The stub renames a DLPack capsule it consumed "used_dlpack" where the standard (and NumPy) say "used_dltensor";
# NumPy's capsule destructor then reports a ValueError traceback for every output tensor (the stub itself calls
# the tensor's deleter when it is done with it). Giving the capsule the standard name once the stub has taken it
# keeps the logs clean; the name must outlive the capsule, hence a module-level buffer.
_USED_NAME = ctypes.create_string_buffer(b"used_dltensor")
_set_capsule_name = ctypes.pythonapi.PyCapsule_SetName
_set_capsule_name.argtypes = [ctypes.py_object, ctypes.c_void_p]
_set_capsule_name.restype = ctypes.c_int


def to_triton(pb_utils, name: str, array: np.ndarray):
    """A pb_utils.Tensor holding `array` (through DLPack: the stub's NumPy bridge is NumPy 1.x only)."""
    capsule = np.ascontiguousarray(array).__dlpack__()
    tensor = pb_utils.Tensor.from_dlpack(name, capsule)
    _set_capsule_name(capsule, ctypes.addressof(_USED_NAME))
    return tensor


class TritonPythonModel:
    """Triton's python-backend entry points: initialize(args), execute(requests), finalize()."""

    engine: "ServerEngine | None"  # set by initialize, dropped by finalize

    def initialize(self, args):
        from ..engine import ServerEngine

        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in (config.get("parameters") or {}).items()}
        version_dir = Path(args["model_repository"]) / str(args["model_version"])
        artifact = Path(params.get("artifact") or ARTIFACT_DIR)
        if not artifact.is_absolute():
            artifact = version_dir / artifact
        self.engine = ServerEngine(artifact, intra_op_threads=int(params.get("intra_op_threads") or 0))

    def answer(self, streams: np.ndarray) -> dict[str, np.ndarray]:
        """The output arrays for one request's streams (uint8 [n, bytes]); RequestError (fsplit-serve's) when the
        engine refuses one."""
        engine = self.engine
        assert engine is not None, "answer() called before initialize() or after finalize()"
        results = [engine.infer(bytes(row)) for row in np.asarray(streams, dtype=np.uint8).reshape(len(streams), -1)]
        answers = [json.dumps(r.to_json(engine.model_id, engine.table_hash)).encode() for r in results]
        width = max(len(a) for a in answers)
        return {
            "top5_index": np.array([[c["index"] for c in r.top5] for r in results], dtype=np.int64),
            "top5_score": np.array([[c["score"] for c in r.top5] for r in results], dtype=np.float64),
            "rate_point": np.array([[r.rate_point] for r in results], dtype=np.int32),
            "answer": np.frombuffer(b"".join(a.ljust(width) for a in answers), dtype=np.uint8)
            .reshape(-1, width)
            .copy(),
        }

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        from ..errors import RequestError

        responses = []
        for request in requests:  # dynamic batching hands several requests at once; each gets its own answer
            try:
                tensor = pb_utils.get_input_tensor_by_name(request, INPUT)
                if tensor is None:
                    raise RequestError(f"missing input tensor {INPUT!r}")
                outputs = self.answer(np.from_dlpack(tensor))
                tensors = [to_triton(pb_utils, k, v) for k, v in outputs.items()]
                responses.append(pb_utils.InferenceResponse(tensors))
            except RequestError as exc:
                err = pb_utils.TritonError(error_message(exc.code, str(exc)), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=err))
            except Exception as exc:  # a bug: the request gets Triton's 500, the model stays up
                err = pb_utils.TritonError(error_message("internal_error", repr(exc)), pb_utils.TritonError.INTERNAL)
                responses.append(pb_utils.InferenceResponse(error=err))
        return responses

    def finalize(self):
        self.engine = None
