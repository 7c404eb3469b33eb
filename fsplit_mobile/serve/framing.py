"""ASGI middleware for request framing: refuse ambiguous framing, and end a connection whose request body
was not read.

- `Content-Length` together with `Transfer-Encoding`, several `Content-Length` headers, or a value that is
  not a plain decimal number: 400 `bad_framing` (request smuggling needs exactly such ambiguity; RFC 9112
  allows refusing it). h11 already refuses most of these before the app runs; this is the app-side check.
- A response started before the app read the whole request body carries `Connection: close`; the protocol
  (protocol.py) then closes after a bounded lingering read instead of reading and discarding the rest.
"""

import json
import re

_DIGITS = re.compile(rb"[0-9]{1,18}")


def framing_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why the request's framing headers are ambiguous or malformed, or None."""
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    encodings = [v for k, v in headers if k.lower() == b"transfer-encoding"]
    if lengths and encodings:
        return "both Content-Length and Transfer-Encoding are present"
    if len(lengths) > 1:
        return f"{len(lengths)} Content-Length headers"
    if lengths and not _DIGITS.fullmatch(lengths[0].strip()):
        return f"invalid Content-Length {lengths[0].decode('latin-1')!r}"
    if encodings and b",".join(encodings).strip().lower() != b"chunked":
        return f"unsupported Transfer-Encoding {b', '.join(encodings).decode('latin-1')!r}"
    return None


def expects_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for k, v in headers:
        k = k.lower()
        if k == b"transfer-encoding" or (k == b"content-length" and v.strip() not in (b"0", b"")):
            return True
    return False


class FramingMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope["headers"]
        problem = framing_problem(headers)
        if problem is not None:
            body = json.dumps({"error": "bad_framing", "detail": f"ambiguous request framing: {problem}"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"connection", b"close"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return None
        state = {"complete": not expects_body(headers)}

        async def tracked_receive():
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                state["complete"] = True
            return message

        async def closing_send(message):
            if message["type"] == "http.response.start" and not state["complete"]:
                hdrs = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": hdrs + [(b"connection", b"close")]}
            await send(message)

        return await self.app(scope, tracked_receive, closing_send)
