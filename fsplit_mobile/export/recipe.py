"""Export recipes: one declarative TOML file per shipped model (fsplit_mobile/recipes/*.toml, package data).

    schema = "fsplit-recipe/1"
    [model]        id, architecture, checkpoint (optional: else --checkpoint), split_point (text),
                   rate_points (unit names, variable bit-rate: export/rate_points.py)
    [input]        size = [H, W], mean, std, resize ("bilinear"), normalization_in_graph (true)
    [output]       kind = "symbols" | "latent"
    [calibration]  images (folder), views (per image)
    [evaluation]   images (folder, disjoint from calibration), views, teacher ("efficientnet-lite0" | "none")
    [targets.<name>]  options for that target (e.g. keep_float, reduce_range)

Paths are relative to the recipe file; "@package/..." is inside the installed fsplit_mobile package.
`--recipe` takes a path, "@package/...", or a bundled recipe's name (`entropic_student`): see recipe_path.
Unknown sections/keys and wrong types raise RecipeError naming the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .backends import backend_class, backend_names
from .calibration import MAX_VIEWS
from .errors import RecipeError
from .options import OptionError, validate_options

SCHEMA = "fsplit-recipe/1"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Inside the package (not a top-level folder of the checkout) so the wheel carries them: a pip-installed user
# runs `fsplit-export` from any directory.
RECIPES_DIR = PACKAGE_DIR / "recipes"
DEFAULT_RECIPE = RECIPES_DIR / "light_lite0.toml"  # the bundled default (models/bundled.py)
RESIZE_METHODS = ("bilinear", "bicubic", "nearest", "lanczos")
TEACHERS = ("efficientnet-lite0", "none")


@dataclass
class Recipe:
    path: Path | None
    model_id: str
    architecture: str | None = None
    checkpoint: Path | None = None
    split_point: str | None = None
    rate_points: list[str] | None = None  # units of a bottleneck-unit checkpoint, rate point 0 first
    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    resize: str = "bilinear"
    normalization_in_graph: bool = True
    output: str = "symbols"
    calib_images: Path = PACKAGE_DIR / "data" / "images" / "calib"
    calib_views: int = 8
    eval_images: Path = PACKAGE_DIR / "data" / "images" / "eval"
    eval_views: int = 16
    teacher: str = "none"
    target_options: dict[str, dict] = field(default_factory=dict)

    def options_for(self, target: str) -> dict:
        return dict(self.target_options.get(target, {}))


# ---- field checking ------------------------------------------------------------------------------------------
_SCHEMA_KEYS = {
    "model": {"id", "architecture", "checkpoint", "split_point", "rate_points"},
    "input": {"size", "mean", "std", "resize", "normalization_in_graph"},
    "output": {"kind"},
    "calibration": {"images", "views"},
    "evaluation": {"images", "views", "teacher"},
}


class _Fields:
    def __init__(self, path: Path | None):
        self.where = str(path) if path else "<recipe>"

    def error(self, field_name: str, problem: str) -> RecipeError:
        return RecipeError(f"{self.where}: field {field_name}: {problem}")

    def typed(self, table: dict, key: str, section: str, kind, default=None):
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise self.error(f"{section}.{key}", f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def numbers(self, table: dict, key: str, section: str, count: int, kind=float):
        if key not in table:
            return None
        value = table[key]
        if (
            not isinstance(value, list)
            or len(value) != count
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        ):
            raise self.error(f"{section}.{key}", f"expected {count} numbers, got {value!r}")
        return tuple(kind(v) for v in value)


def bundled_recipes() -> list[str]:
    """Names of the recipes shipped in the package (file stems of fsplit_mobile/recipes/*.toml)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def recipe_path(text) -> Path:
    """A --recipe argument as a file: an existing path; "@package/..." (inside the installed package); or the
    name of a bundled recipe (`entropic_student`, with or without .toml). A path that exists wins, so a local
    file named like a bundled recipe is never shadowed."""
    text = str(text)
    p = Path(text).expanduser()
    if p.is_file() or text.startswith("@package/"):
        return _resolve_path(text, Path.cwd())
    name = text[:-5] if text.endswith(".toml") else text
    if "/" not in text and (RECIPES_DIR / f"{name}.toml").is_file():
        return RECIPES_DIR / f"{name}.toml"
    return p


def _resolve_path(text: str, base: Path) -> Path:
    if text.startswith("@package/"):
        return PACKAGE_DIR / text[len("@package/") :]
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def parse_recipe(data: dict, path: Path | None = None) -> Recipe:
    f = _Fields(path)
    base = path.parent if path else Path.cwd()
    schema = data.get("schema")
    if schema != SCHEMA:
        raise f.error("schema", f"expected {SCHEMA!r}, got {schema!r}")
    unknown = sorted(set(data) - set(_SCHEMA_KEYS) - {"schema", "targets"})
    if unknown:
        raise f.error(unknown[0], f"unknown section (known: {', '.join(sorted(_SCHEMA_KEYS))}, targets)")
    tables = {}
    for section, keys in _SCHEMA_KEYS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise f.error(section, "expected a table")
        extra = sorted(set(table) - keys)
        if extra:
            raise f.error(f"{section}.{extra[0]}", f"unknown key (known: {', '.join(sorted(keys))})")
        tables[section] = table

    m, i, o, c, e = (tables[s] for s in ("model", "input", "output", "calibration", "evaluation"))
    model_id = f.typed(m, "id", "model", str)
    if not model_id:
        raise f.error("model.id", "required (a non-empty string)")
    r = Recipe(path=path, model_id=model_id)
    r.architecture = f.typed(m, "architecture", "model", str)
    ckpt = f.typed(m, "checkpoint", "model", str)
    r.checkpoint = _resolve_path(ckpt, base) if ckpt else None
    r.split_point = f.typed(m, "split_point", "model", str)
    points = m.get("rate_points")
    if points is not None and (
        not isinstance(points, list)
        or not points
        or len(set(map(str, points))) != len(points)
        or not all(isinstance(p, str) and p for p in points)
    ):
        raise f.error("model.rate_points", f"must be a non-empty list of distinct unit names, got {points!r}")
    r.rate_points = list(points) if points is not None else None

    size = f.numbers(i, "size", "input", 2, int)
    if size is not None and (min(size) < 16 or max(size) > 4096 or any(s % 8 for s in size)):
        raise f.error("input.size", f"sides must be multiples of 8 between 16 and 4096, got {list(size)}")
    r.input_size = size
    r.mean = f.numbers(i, "mean", "input", 3)
    r.std = f.numbers(i, "std", "input", 3)
    if r.std is not None and any(s <= 0 for s in r.std):
        raise f.error("input.std", f"must be positive, got {list(r.std)}")
    r.resize = f.typed(i, "resize", "input", str, "bilinear")
    if r.resize not in RESIZE_METHODS:
        raise f.error("input.resize", f"must be one of {', '.join(RESIZE_METHODS)}, got {r.resize!r}")
    r.normalization_in_graph = f.typed(i, "normalization_in_graph", "input", bool, True)

    r.output = f.typed(o, "kind", "output", str, "symbols")
    if r.output not in ("symbols", "latent"):
        raise f.error("output.kind", f"must be 'symbols' or 'latent', got {r.output!r}")

    for table, section, attr in ((c, "calibration", "calib"), (e, "evaluation", "eval")):
        images = f.typed(table, "images", section, str)
        if images:
            setattr(r, f"{attr}_images", _resolve_path(images, base))
        views = f.typed(table, "views", section, int, getattr(r, f"{attr}_views"))
        if not 1 <= views <= MAX_VIEWS:
            raise f.error(f"{section}.views", f"must be between 1 and {MAX_VIEWS}, got {views}")
        setattr(r, f"{attr}_views", views)
    r.teacher = f.typed(e, "teacher", "evaluation", str, "none")
    if r.teacher not in TEACHERS:
        raise f.error("evaluation.teacher", f"must be one of {', '.join(TEACHERS)}, got {r.teacher!r}")

    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise f.error("targets", "expected a table of [targets.<name>] tables")
    known = backend_names()  # read when a recipe is parsed (runtime/targets.py), not when this module loads
    for name, opts in targets.items():
        if name not in known:
            raise f.error(f"targets.{name}", f"unknown target (known: {', '.join(known)})")
        try:  # each backend's option schema (backends/<name>.py): typos and wrong types name the field
            validate_options(backend_class(name).options, opts, name)
        except OptionError as e:
            raise f.error(e.field, e.problem) from None
        r.target_options[name] = dict(opts)
    return r


def load_recipe(path) -> Recipe:
    p = recipe_path(path)
    if not p.is_file():
        raise RecipeError(f"recipe {p} does not exist (a path, or a bundled recipe: {', '.join(bundled_recipes())})")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RecipeError(f"{p}: not valid TOML: {e}") from None
    return parse_recipe(data, p.resolve())


def checkpoint_recipe(checkpoint: Path) -> Recipe:
    """The recipe used for a bare --checkpoint: everything from the checkpoint, bundled images."""
    return Recipe(path=None, model_id="", checkpoint=Path(checkpoint))
