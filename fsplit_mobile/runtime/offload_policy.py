"""Where to run one request: on the device (local), split at a rate point, or offloaded as a JPEG/WebP image.

The same rule as the Java core's OffloadPolicy (android_demo/core); both are checked against one table of cases
(tests/data/offload_policy_cases.tsv). Pure arithmetic: no I/O, no clock, no imports above this package.

Each option has a device time, bytes on the wire, a server time and a teacher top-1 agreement:

- ``local``: the whole network on the device; nothing is sent. latency = device_ms.
- ``split`` (a rate point) and ``offload`` (an image codec):
  latency = device_ms + rtt_ms + wire_bytes * 8 / (bandwidth_mbit * 1000) + server_ms.
  Without a bandwidth estimate (``bandwidth_mbit`` None; NaN in Java) the transfer term is 0, as the rate policy
  takes the largest point when it has no estimate: nothing says the link is slow yet.

The choice: among the options whose agreement reaches the floor (``agreement + 1e-9 >= min_agreement``; local
inference has agreement 1.0, so it is always eligible), the lowest latency. Ties (equal latency, exactly) go to the
higher agreement, then local before split before offload, then to the earlier option in the list. The floor is the
caller's: the e2e decision report uses the agreement the study matched the codecs to (its reference rate point),
the client the agreement of rate point 0 unless its profile says otherwise (``reference_floor``).

Device times are the device's own (measured there, or this host's times times a stated slowdown: ``scaled``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

KINDS = ("local", "split", "offload")  # also the tie order
AGREEMENT_SLACK = 1e-9  # agreements are fractions of a sample count: a floor equal to an option's own agreement is met
PROFILE_SCHEMA = "fsplit-device-profile/1"


class OffloadPolicyError(ValueError):
    """An option, link or floor that cannot be used (the message names the field)."""


def _number(owner: str, field: str, value: object, minimum: float = 0.0, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OffloadPolicyError(f"{owner}: {field} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < minimum or (positive and x <= 0):
        need = "> 0" if positive else f">= {minimum:g}"
        raise OffloadPolicyError(f"{owner}: {field} must be a finite number {need}, got {value!r}")
    return x


def _agreement(owner: str, field: str, value: object) -> float:
    x = _number(owner, field, value)
    if x > 1.0:
        raise OffloadPolicyError(f"{owner}: {field} must be in [0, 1], got {value!r}")
    return x


@dataclass(frozen=True)
class Option:
    """One way to serve a request. ``rate_point``: the artifact's rate point index of a split option."""

    name: str
    kind: str
    device_ms: float
    agreement: float
    wire_bytes: float = 0.0
    server_ms: float = 0.0
    rate_point: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise OffloadPolicyError(f"option name must be a non-empty string, got {self.name!r}")
        owner = f"option {self.name!r}"
        if self.kind not in KINDS:
            raise OffloadPolicyError(f"{owner}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "device_ms", _number(owner, "device_ms", self.device_ms))
        object.__setattr__(self, "agreement", _agreement(owner, "agreement", self.agreement))
        object.__setattr__(self, "wire_bytes", _number(owner, "wire_bytes", self.wire_bytes))
        object.__setattr__(self, "server_ms", _number(owner, "server_ms", self.server_ms))
        if self.kind == "local" and (self.wire_bytes or self.server_ms):
            raise OffloadPolicyError(f"{owner}: a local option sends nothing (wire_bytes and server_ms must be 0)")
        if self.rate_point is not None:
            if isinstance(self.rate_point, bool) or not isinstance(self.rate_point, int) or self.rate_point < 0:
                raise OffloadPolicyError(f"{owner}: rate_point must be an index >= 0, got {self.rate_point!r}")
            if self.kind != "split":
                raise OffloadPolicyError(f"{owner}: only a split option has a rate_point")

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "device_ms": self.device_ms,
            "agreement": self.agreement,
            "wire_bytes": self.wire_bytes,
            "server_ms": self.server_ms,
        }
        if self.rate_point is not None:
            out["rate_point"] = self.rate_point
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> Option:
        if not isinstance(d, Mapping):
            raise OffloadPolicyError(f"an option must be an object, got {d!r}")
        owner = f"option {d.get('name')!r}"
        for key in ("name", "kind", "device_ms", "agreement"):
            if key not in d:
                raise OffloadPolicyError(f"{owner}: missing field {key!r}")
        unknown = set(d) - {"name", "kind", "device_ms", "agreement", "wire_bytes", "server_ms", "rate_point"}
        if unknown:
            raise OffloadPolicyError(f"{owner}: unknown field(s) {', '.join(sorted(unknown))}")
        return cls(
            name=d["name"],
            kind=d["kind"],
            device_ms=d["device_ms"],
            agreement=d["agreement"],
            wire_bytes=d.get("wire_bytes", 0.0),
            server_ms=d.get("server_ms", 0.0),
            rate_point=d.get("rate_point"),
        )


def transfer_ms(wire_bytes: float, bandwidth_mbit: float) -> float:
    """Time in ms to send ``wire_bytes`` at ``bandwidth_mbit`` Mbit/s."""
    return wire_bytes * 8.0 / (bandwidth_mbit * 1000.0)


def check_link(bandwidth_mbit: float | None, rtt_ms: float) -> None:
    if bandwidth_mbit is not None:
        _number("link", "bandwidth_mbit", bandwidth_mbit, positive=True)
    _number("link", "rtt_ms", rtt_ms)


def latency_ms(option: Option, bandwidth_mbit: float | None, rtt_ms: float) -> float:
    """The option's latency on this link (module docstring). Checks the link."""
    check_link(bandwidth_mbit, rtt_ms)
    return _latency(option, bandwidth_mbit, rtt_ms)


def _latency(option: Option, bandwidth_mbit: float | None, rtt_ms: float) -> float:
    if option.kind == "local":
        return option.device_ms
    transfer = 0.0 if bandwidth_mbit is None else transfer_ms(option.wire_bytes, bandwidth_mbit)
    return option.device_ms + rtt_ms + transfer + option.server_ms


def eligible(option: Option, min_agreement: float) -> bool:
    return option.agreement + AGREEMENT_SLACK >= min_agreement


@dataclass(frozen=True)
class Decision:
    option: Option
    latency_ms: float
    latencies: dict[str, float]  # every option's latency on this link, eligible or not
    eligible: tuple[str, ...]  # names of the options that reach the floor
    min_agreement: float


def check_options(options: Sequence[Option]) -> None:
    if not options:
        raise OffloadPolicyError("options: no option to choose from")
    seen = set()
    for o in options:
        if not isinstance(o, Option):
            raise OffloadPolicyError(f"options: expected Option, got {type(o).__name__}")
        if o.name in seen:
            raise OffloadPolicyError(f"options: name {o.name!r} given twice")
        seen.add(o.name)


def choose(
    options: Sequence[Option], bandwidth_mbit: float | None, rtt_ms: float, min_agreement: float = 0.0
) -> Decision:
    """The option the rule in the module docstring picks on this link."""
    check_options(options)
    check_link(bandwidth_mbit, rtt_ms)
    floor = _agreement("policy", "min_agreement", min_agreement)
    latencies = {o.name: _latency(o, bandwidth_mbit, rtt_ms) for o in options}
    ok = [(i, o) for i, o in enumerate(options) if eligible(o, floor)]
    if not ok:
        best = max(options, key=lambda o: o.agreement)
        raise OffloadPolicyError(
            f"min_agreement {floor:g}: no option reaches it (best: {best.name} at {best.agreement:g})"
        )
    _, pick = min(ok, key=lambda io: (latencies[io[1].name], -io[1].agreement, KINDS.index(io[1].kind), io[0]))
    return Decision(
        option=pick,
        latency_ms=latencies[pick.name],
        latencies=latencies,
        eligible=tuple(o.name for _, o in ok),
        min_agreement=floor,
    )


def scaled(options: Sequence[Option], factor: float, names: Sequence[str] | None = None) -> list[Option]:
    """The options with device_ms multiplied by ``factor`` (a stated slowdown); only ``names`` when given."""
    f = _number("slowdown", "factor", factor, positive=True)
    return [o if names is not None and o.name not in names else replace(o, device_ms=o.device_ms * f) for o in options]


def reference_floor(options: Sequence[Option], reference: str) -> float:
    """The agreement of the option named ``reference`` (the default floor: codecs are matched to it)."""
    for o in options:
        if o.name == reference:
            return o.agreement
    raise OffloadPolicyError(f"reference: no option named {reference!r} (have {', '.join(o.name for o in options)})")


@dataclass(frozen=True)
class DeviceProfile:
    """A device's options and floor, as a user writes them (JSON schema ``fsplit-device-profile/1``):

    {"schema": "fsplit-device-profile/1", "min_agreement": 0.72,      # optional
     "options": [{"name": "local", "kind": "local", "device_ms": 60.0, "agreement": 1.0},
                 {"name": "r2", "kind": "split", "rate_point": 0, "device_ms": 50.4, "wire_bytes": 1035,
                  "server_ms": 1.5, "agreement": 0.723}, ...]}
    """

    options: tuple[Option, ...]
    min_agreement: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping) -> DeviceProfile:
        if not isinstance(d, Mapping):
            raise OffloadPolicyError(f"device profile must be a JSON object, got {type(d).__name__}")
        if d.get("schema", PROFILE_SCHEMA) != PROFILE_SCHEMA:
            raise OffloadPolicyError(f"device profile: schema is {d.get('schema')!r}, expected {PROFILE_SCHEMA!r}")
        raw = d.get("options")
        if not isinstance(raw, list):
            raise OffloadPolicyError("device profile: options must be a list of options")
        options = tuple(Option.from_dict(o) for o in raw)
        check_options(options)
        floor = d.get("min_agreement")
        if floor is not None:
            floor = _agreement("device profile", "min_agreement", floor)
        return cls(options=options, min_agreement=floor)

    def to_dict(self) -> dict:
        out: dict = {"schema": PROFILE_SCHEMA}
        if self.min_agreement is not None:
            out["min_agreement"] = self.min_agreement
        out["options"] = [o.to_dict() for o in self.options]
        return out
