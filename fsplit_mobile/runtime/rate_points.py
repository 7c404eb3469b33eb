"""The rate points of an artifact (variable bit-rate, docs/artifact.md "rate_points").

An artifact may carry several rate points, each with its own encoder, codec tables and server part. The
manifest's top-level `files`/`tables`/`latent`/`output`/`server` describe rate point 0, so a reader that knows
nothing of rate points still runs a correct (single-rate) artifact; an artifact without `rate_points` is one rate
point, index 0. `view(artifact, index)` gives an `Artifact` whose top level is that rate point, so everything that
runs one artifact (encoders, tables, server) runs any of its rate points unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from .artifact import MAX_RATE_POINT_INDEX, Artifact, ArtifactError

MAX_INDEX = MAX_RATE_POINT_INDEX  # the container's rate point field is 8 bits (docs/formats.md section 3)

# keys of a rate point entry that replace the manifest's top-level ones in its view
VIEW_KEYS = ("files", "tables", "latent", "output", "server", "payload")


@dataclass(frozen=True)
class RatePoint:
    index: int
    name: str
    table_hash: str
    latent_shape: tuple[int, int, int]
    expected_bytes: float | None  # mean stream size measured at export (None: not measured)
    bpp: float | None

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "table_hash": self.table_hash,
            "latent_shape": list(self.latent_shape),
            "expected_bytes": self.expected_bytes,
            "bpp": self.bpp,
        }


def entries(manifest: dict) -> list[dict]:
    """The manifest's rate point entries; a manifest without them is one entry built from its top level."""
    listed = manifest.get("rate_points")
    if listed is None:
        return [{"index": 0, "name": "default", **{k: manifest[k] for k in VIEW_KEYS if k in manifest}}]
    return list(listed)


def validate(artifact: Artifact) -> None:
    """Indices distinct in 0..255 with 0 present and equal to the top level; every listed file exists. The check
    belongs to the manifest and runs in :meth:`Artifact.validate`; this name stays for callers."""
    artifact.check_rate_points()


def view(artifact: Artifact, index: int) -> Artifact:
    """The artifact as seen at one rate point (its files, tables, latent, output and server at the top level)."""
    for entry in entries(artifact.manifest):
        if entry["index"] == index:
            manifest = dict(artifact.manifest)
            manifest.update({k: entry[k] for k in VIEW_KEYS if k in entry})
            manifest["rate_point"] = {"index": index, "name": entry["name"]}
            return Artifact(artifact.path, manifest)
    raise ArtifactError(f"{artifact.path}: no rate point {index} (has {', '.join(map(str, indices(artifact)))})")


def resolve(artifact: Artifact, selector) -> int:
    """A rate point's index from a user's selector: its index (an int or decimal text) or its name."""
    listed = entries(artifact.manifest)
    text = str(selector).strip()
    for e in listed:
        if text == str(e["name"]):
            return int(e["index"])
    if text.isdigit() and any(int(e["index"]) == int(text) for e in listed):
        return int(text)
    have = ", ".join(f"{e['index']} ({e['name']})" for e in listed)
    raise ArtifactError(f"{artifact.path}: no rate point {selector!r} (has {have})")


def device_manifest(artifact: Artifact) -> dict:
    """The manifest a device runner gets for one rate point's view: that point at the top level as a single-rate
    artifact (no `rate_points`, whose other files are not shipped), with `rate_point` naming the point."""
    manifest = {k: v for k, v in artifact.manifest.items() if k != "rate_points"}
    names = set(manifest["files"].values())
    manifest["sha256"] = {k: v for k, v in (manifest.get("sha256") or {}).items() if k in names}
    return manifest


def indices(artifact: Artifact) -> list[int]:
    return [int(e["index"]) for e in entries(artifact.manifest)]


def rate_points(artifact: Artifact) -> list[RatePoint]:
    """The artifact's rate points in manifest order (index 0 first)."""
    out = []
    for e in entries(artifact.manifest):
        lat, measured = e.get("latent", {}), e.get("measured") or {}
        out.append(
            RatePoint(
                index=int(e["index"]),
                name=str(e["name"]),
                table_hash=str(e.get("tables", {}).get("content_hash")),
                latent_shape=(int(lat["channels"]), int(lat["height"]), int(lat["width"])),
                expected_bytes=measured.get("bytes_mean"),
                bpp=measured.get("bpp"),
            )
        )
    return out
