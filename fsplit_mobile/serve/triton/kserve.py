"""KServe v2 (Triton's HTTP/REST protocol) for the fsplit model: the stream container's bytes as a UINT8 tensor in
binary framing (a JSON header, then the raw bytes; `Inference-Header-Content-Length` gives the header's length),
and the answer read back as fsplit-serve's JSON. Plain httpx; `tritonclient[http]` builds the same request
(docs/triton.md)."""

import json

from .model import INPUT, parse_error_message

HEADER_LENGTH = "Inference-Header-Content-Length"


def infer_path(model: str = "fsplit") -> str:
    return f"/v2/models/{model}/infer"


def request_body(stream: bytes) -> tuple[bytes, dict]:
    """(body, headers) of an infer request for one stream container; the answer comes back as binary framing with
    `answer` (fsplit-serve's JSON) as raw bytes."""
    header = {
        "inputs": [
            {
                "name": INPUT,
                "shape": [1, len(stream)],
                "datatype": "UINT8",
                "parameters": {"binary_data_size": len(stream)},
            }
        ],
        "outputs": [{"name": "answer", "parameters": {"binary_data": True}}],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return head + bytes(stream), {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}


def outputs(body: bytes, headers) -> dict[str, dict]:
    """name -> output entry of an infer answer; binary outputs get their raw bytes under "raw"."""
    n = int(headers.get(HEADER_LENGTH.lower()) or headers.get(HEADER_LENGTH) or len(body))
    meta = json.loads(body[:n])
    offset, out = n, {}
    for entry in meta.get("outputs", []):
        size = (entry.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            entry["raw"] = body[offset : offset + size]
            offset += size
        out[entry["name"]] = entry
    return out


def answer(body: bytes, headers) -> dict:
    """fsplit-serve's JSON answer (model_id, table_hash, rate_point, top5, payload_bytes, latent_shape, timings_ms)
    from a 200 answer to request_body's request."""
    entry = outputs(body, headers)["answer"]
    raw = entry["raw"] if "raw" in entry else bytes(entry["data"])
    return json.loads(raw)


def error_code(body: bytes) -> tuple[str, str]:
    """(code, detail) of Triton's error body {"error": "<code>: <detail>"} (fsplit-serve's codes for streams;
    Triton's own refusals, e.g. of a malformed request, carry no code: their first word comes back)."""
    try:
        message = str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace")
    return parse_error_message(message)
