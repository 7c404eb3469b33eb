"""Python client of `fsplit-serve`: encode an image with an exported artifact's encoder (in whatever runtime
the artifact's target needs, via fsplit_mobile.runtime), entropy-code the symbols with the C coder into a
stream container, POST it to /v1/infer and return the server's answer with client-side timings.

    with SplitClient("artifacts/default/onnx-none", "http://127.0.0.1:8000") as client:
        result = client.infer("photo.jpg")
        print(result.top5[0], result.timings)

A variable bit-rate artifact (docs/artifact.md "rate_points") has one encoder and table set per rate point; the
client picks one per request: `rate_point=<index>` (fixed) or `rate_point="auto"` (runtime/rate_policy.py: the
largest point whose measured bytes fit `latency_budget_ms` at the bandwidth estimated from earlier requests, or
`bandwidth_bps` when given). The container header carries the index, so the server decodes with that point.

`rate_point="policy"` with a `device_profile` (runtime/offload_policy.py; the Java core's OffloadPolicy is the same
rule) chooses per request between the full network on the device (local), split at each rate point and offloading
the image as JPEG/WebP: latency = the device's own ms + RTT + bytes / bandwidth + server ms (local: device ms), from
the bandwidth estimate and `rtt_ms`; the fastest option whose agreement reaches the floor wins (the profile's
`min_agreement`, else the agreement of its rate point 0 option). The profile is a JSON file or dict
(schema `fsplit-device-profile/1`, see `DeviceProfile`), or a decision report's JSON
(`python -m fsplit_mobile.e2e.decision ... --device-result ...`, whose "profile" it takes). The client sends split
requests only: when local or offload wins, `infer` raises `RouteElsewhere` with the decision, for the caller to
run its own path; `decide()` gives the decision without encoding anything. While requests go elsewhere the
bandwidth estimate is not refreshed (feed it with `client.bandwidth.observe(bytes, network_ms)` from the offload
requests, or set `client.bandwidth.bps`).

`python -m fsplit_mobile.client --artifact DIR --url URL [--rate-point N|auto|policy] [--device-profile FILE]
[--rtt-ms MS] IMAGE...` prints one JSON line per image.
"""

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np


class ClientError(Exception):
    """Base class of the client's errors."""


class ServerUnreachable(ClientError):
    """No HTTP answer (connection refused, reset, timed out)."""


class ServerRejected(ClientError):
    """The server answered with an error status; `status`, `code` and `detail` say why."""

    def __init__(self, status: int, code: str, detail: str, retry_after: str | None = None):
        super().__init__(f"server answered {status} {code}: {detail}")
        self.status, self.code, self.detail, self.retry_after = status, code, detail, retry_after


class RouteElsewhere(ClientError):
    """The offload policy chose local inference or offloading the image for this request (`decision` says which,
    with every option's latency); the client itself only sends split requests."""

    def __init__(self, decision):
        o = decision.option
        super().__init__(f"policy chose {o.kind} ({o.name}, {decision.latency_ms:.1f} ms): not a split request")
        self.decision = decision


def load_device_profile(profile):
    """A DeviceProfile from a DeviceProfile, a dict, or a JSON file (a profile, or a decision report's JSON whose
    "profile" it takes). OffloadPolicyError (a ValueError) names the bad field."""
    from pathlib import Path

    from .runtime.offload_policy import DeviceProfile, OffloadPolicyError

    if isinstance(profile, DeviceProfile):
        return profile
    if isinstance(profile, (str, Path)):
        try:
            profile = json.loads(Path(profile).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise OffloadPolicyError(f"device profile {profile}: {exc}") from None
    if isinstance(profile, dict) and "profile" in profile and "options" not in profile:
        profile = profile["profile"]
    return DeviceProfile.from_dict(profile)


@dataclass
class ClientTimings:
    preprocess_ms: float = 0.0  # load + resize + convert to the model input
    encode_ms: float = 0.0  # the device encoder (model file in its runtime)
    coding_ms: float = 0.0  # rANS coding into a stream container
    request_ms: float = 0.0  # POST until the whole answer arrived
    network_ms: float = 0.0  # request_ms minus the server's own total (transfer, HTTP, queueing in the stack)
    total_ms: float = 0.0


@dataclass
class ClientResult:
    top5: list[dict]
    payload_bytes: int
    latent_shape: list[int]
    server_timings_ms: dict
    timings: ClientTimings
    response: dict = field(repr=False, default_factory=dict)
    rate_point: int = 0

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("response")
        return out


def post_payload(http, url: str, payload: bytes) -> tuple[dict, float]:
    """POST a stream container to `url`/v1/infer with an httpx.Client; (JSON answer, request ms)."""
    import httpx

    t0 = time.perf_counter()
    try:
        resp = http.post(
            url.rstrip("/") + "/v1/infer", content=payload, headers={"content-type": "application/octet-stream"}
        )
    except httpx.HTTPError as exc:
        raise ServerUnreachable(f"{url}: {type(exc).__name__}: {exc}") from exc
    elapsed = (time.perf_counter() - t0) * 1e3
    if resp.status_code != 200:
        try:
            body = resp.json()
            code, detail = body.get("error", "error"), body.get("detail", resp.text)
        except ValueError:
            code, detail = "error", resp.text
        raise ServerRejected(resp.status_code, code, detail, resp.headers.get("retry-after"))
    return resp.json(), elapsed


class SplitClient:
    """Device side of split computing on this host, talking to one server over a keep-alive connection."""

    def __init__(
        self,
        artifact_dir,
        url: str,
        timeout_s: float = 30.0,
        threads: int | None = None,
        rate_point: int | str = 0,
        latency_budget_ms: float = 50.0,
        bandwidth_bps: float | None = None,
        device_profile=None,
        rtt_ms: float = 20.0,
    ):
        import httpx

        from .runtime import offload_policy, rate_points, rate_policy
        from .runtime.artifact import Artifact

        self.artifact = Artifact.open(artifact_dir)
        self.points = rate_points.rate_points(self.artifact)
        self._threads = threads
        self._opened: dict[int, tuple] = {}  # rate point index -> (tables, encoder), opened on first use
        self._payloads: dict[int, tuple[str, int]] = {}  # rate point index -> (payload format, lanes) to write
        self._writers: dict = {}  # rate point index -> its codec.container.LatentWriter
        self.rate_point = rate_point
        self.latency_budget_ms = latency_budget_ms
        self.bandwidth = rate_policy.BandwidthEstimator(bandwidth_bps)
        self.profile = None if device_profile is None else load_device_profile(device_profile)
        offload_policy.check_link(None, rtt_ms)
        self.rtt_ms = rtt_ms
        if self.profile is not None:
            have = {p.index for p in self.points}
            for o in self.profile.options:
                if o.kind == "split" and o.rate_point not in have:
                    raise offload_policy.OffloadPolicyError(
                        f"device profile: option {o.name!r}: rate_point {o.rate_point} is not in this artifact "
                        f"(has {', '.join(map(str, sorted(have)))})"
                    )
        if rate_point == "policy":
            if self.profile is None:
                raise rate_policy.RatePolicyError("rate_point 'policy' needs a device_profile (the device's timings)")
        else:
            self.select(rate_point)  # a bad choice fails here, not on the first request
        self.tables, self.encoder = self._open(0)
        spec = self.artifact.input_spec
        self.resize_method = spec.get("resize", {}).get("method", "bilinear")
        self.url = url
        self.http = httpx.Client(timeout=timeout_s)

    def _open(self, index: int) -> tuple:
        if index not in self._opened:
            from .runtime import rate_points
            from .runtime.encoders import open_encoder

            view = rate_points.view(self.artifact, index)
            from .codec.container import LatentWriter

            tables = view.tables()
            self._opened[index] = (tables, open_encoder(view, threads=self._threads))
            self._payloads[index] = view.payload
            fmt, lanes = view.payload
            self._writers[index] = LatentWriter(tables, rate_point=index, payload_format=fmt, lanes=lanes)
        return self._opened[index]

    def payload(self, rate_point: int = 0) -> tuple[str, int]:
        """(payload format, lanes) this client writes at a rate point: what the artifact's manifest names
        (docs/artifact.md "payload"; the single stream without it)."""
        self._open(rate_point)
        return self._payloads[rate_point]

    def min_agreement(self) -> float:
        """The policy's floor: the profile's min_agreement, else its rate point 0 option's agreement, else 0."""
        if self.profile is None:
            return 0.0
        if self.profile.min_agreement is not None:
            return self.profile.min_agreement
        at_zero = [o.agreement for o in self.profile.options if o.kind == "split" and o.rate_point == 0]
        return at_zero[0] if at_zero else 0.0

    def decide(self, bandwidth_bps: float | None = None):
        """The offload policy's decision (runtime/offload_policy.Decision) for the next request, from the device
        profile, `bandwidth_bps` or else the bandwidth estimate (none yet: no transfer term), and rtt_ms."""
        from .runtime import offload_policy, rate_policy

        if self.profile is None:
            raise rate_policy.RatePolicyError("no device_profile: the client cannot weigh local/split/offload")
        bps = self.bandwidth.bps if bandwidth_bps is None else bandwidth_bps
        mbit = None if bps is None else bps / 1e6
        return offload_policy.choose(self.profile.options, mbit, self.rtt_ms, self.min_agreement())

    def select(self, rate_point: int | str | None = None) -> int:
        """The rate point index for the next request: fixed (an index), "auto" (rate_policy.choose) or "policy"
        (offload_policy: raises RouteElsewhere when local inference or offloading wins)."""
        from .runtime import rate_policy

        choice = self.rate_point if rate_point is None else rate_point
        if choice == "policy":
            decision = self.decide()
            if decision.option.kind != "split" or decision.option.rate_point is None:
                raise RouteElsewhere(decision)
            return decision.option.rate_point
        if choice == "auto":
            return rate_policy.choose(self.points, self.bandwidth.bps, self.latency_budget_ms).index
        if isinstance(choice, bool) or not isinstance(choice, int):
            raise rate_policy.RatePolicyError(f"rate_point must be an index, 'auto' or 'policy', got {choice!r}")
        return rate_policy.fixed(self.points, choice).index

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def encode(self, image, rate_point: int = 0) -> tuple[bytes, ClientTimings]:
        """Image (path, PIL image or HxWx3 uint8) -> stream container bytes at that rate point (index), with the
        client-side timings."""
        from .runtime.preprocess import load_rgb

        _, encoder = self._open(rate_point)
        t0 = time.perf_counter()
        rgb = load_rgb(image, encoder.input_size, self.resize_method)
        model_input = encoder.input_converter(rgb)
        t1 = time.perf_counter()
        symbols = encoder.output_converter(encoder.run(model_input))
        t2 = time.perf_counter()
        payload = self._writers[rate_point](np.ascontiguousarray(symbols, dtype=np.int32))
        t3 = time.perf_counter()
        return payload, ClientTimings(
            preprocess_ms=(t1 - t0) * 1e3, encode_ms=(t2 - t1) * 1e3, coding_ms=(t3 - t2) * 1e3
        )

    def post(self, payload: bytes) -> tuple[dict, float]:
        return post_payload(self.http, self.url, payload)

    def infer(self, image, rate_point: int | str | None = None) -> ClientResult:
        """One request; `rate_point` (index, "auto" or "policy") overrides the client's setting for it."""
        t0 = time.perf_counter()
        index = self.select(rate_point)
        payload, timings = self.encode(image, index)
        answer, request_ms = self.post(payload)
        timings.request_ms = request_ms
        timings.network_ms = max(0.0, request_ms - float(answer["timings_ms"]["total"]))
        timings.total_ms = (time.perf_counter() - t0) * 1e3
        self.bandwidth.observe(len(payload), timings.network_ms)
        return ClientResult(
            top5=answer["top5"],
            payload_bytes=len(payload),
            latent_shape=answer["latent_shape"],
            server_timings_ms=answer["timings_ms"],
            timings=timings,
            response=answer,
            rate_point=index,
        )


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fsplit_mobile.client", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", required=True, help="artifact folder (encoder + tables)")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="fsplit-serve base URL")
    parser.add_argument(
        "--rate-point",
        default="0",
        help="rate point index, 'auto' (bandwidth policy) or 'policy' (local/split/offload: needs --device-profile)",
    )
    parser.add_argument("--latency-budget-ms", type=float, default=50.0, help="transfer budget of 'auto'")
    parser.add_argument("--device-profile", default=None, help="device timings JSON (fsplit-device-profile/1)")
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="round-trip time the policy assumes")
    parser.add_argument("--bandwidth-mbit", type=float, default=None, help="initial bandwidth estimate")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args(argv)
    point = args.rate_point if args.rate_point in ("auto", "policy") else int(args.rate_point)
    bps = None if args.bandwidth_mbit is None else args.bandwidth_mbit * 1e6
    with SplitClient(
        args.artifact,
        args.url,
        rate_point=point,
        latency_budget_ms=args.latency_budget_ms,
        bandwidth_bps=bps,
        device_profile=args.device_profile,
        rtt_ms=args.rtt_ms,
    ) as client:
        for path in args.images:
            try:
                print(json.dumps({"image": path, **client.infer(path).to_json()}))
            except RouteElsewhere as exc:
                d = exc.decision
                route = {"route": d.option.kind, "option": d.option.name, "latency_ms": d.latency_ms}
                print(json.dumps({"image": path, **route, "latencies_ms": d.latencies}))
            except ClientError as exc:
                print(json.dumps({"image": path, "error": str(exc)}))


if __name__ == "__main__":
    main()
