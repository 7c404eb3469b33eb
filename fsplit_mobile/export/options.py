"""Backend options: the typed schema of a recipe's `[targets.<name>]` table, checked in one place.

Every backend declares `options: dict[str, Option]` (COMMON_OPTIONS plus its own). The recipe parser checks
a table against it when the file is read, so a typo such as `keep_flaot` or a string where a bool belongs is
an error naming the file and the field instead of a silent fall-back to the default; the export stages check
requests built in code the same way and fill in the defaults, so a backend reads `req.options[key]` and never
repeats a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ExportError

# The layer producing the latent stays float under int8 by default: an int8 latent has a step of range/255
# (0.1-0.2 for typical latents) right before round(y - median), which flips many symbols (bundled model:
# 1.93 % symbol flips all-int8 in LiteRT, 1.37 % with it in float; README). "auto" names that layer.
DEFAULT_KEEP_FLOAT = ("auto",)


@dataclass(frozen=True)
class Option:
    """One option: accepted Python types, default, and (optionally) the allowed values or list item type."""

    kinds: tuple[type, ...]
    default: Any
    choices: tuple = ()  # allowed values (compared case-insensitively for strings when fold_case)
    items: type | None = None  # element type when the option is a list
    fold_case: bool = False
    what: str = ""  # how the expected value reads in an error ("a list of module names")

    def describe(self) -> str:
        if self.what:
            return self.what
        if self.choices:
            return " or ".join(_show(c) for c in self.choices)
        return " or ".join(k.__name__ for k in self.kinds)


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else str(value)


COMMON_OPTIONS: dict[str, Option] = {
    "keep_float": Option((list,), list(DEFAULT_KEEP_FLOAT), items=str, what="a list of module names"),
    "per_channel": Option((bool,), True),
}


class OptionError(ExportError):
    """A bad backend option; `field` is its dotted name (targets.<name>.<key>), `problem` what is wrong."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"field {field}: {problem}")


def _check(option: Option, value: Any, field: str) -> Any:
    kinds = option.kinds
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise OptionError(field, f"expected {option.describe()}, got {type(value).__name__} {value!r}")
    if option.items is not None and not all(isinstance(v, option.items) for v in value):
        raise OptionError(field, f"expected {option.describe()}, got {value!r}")
    if option.choices:
        probe = value.lower() if option.fold_case and isinstance(value, str) else value
        # bool is an int: compare (type, value) so that 1 never matches True
        if not any(type(probe) is type(c) and probe == c for c in option.choices):
            raise OptionError(field, f"must be {option.describe()}, got {value!r}")
        value = probe
    return value


def validate_options(schema: Mapping[str, Option], options: Mapping[str, Any], target: str) -> dict[str, Any]:
    """`options` checked against `schema`, defaults filled in; OptionError names targets.<target>.<key>."""
    if not isinstance(options, Mapping):
        raise OptionError(f"targets.{target}", "expected a table")
    unknown = sorted(set(options) - set(schema))
    if unknown:
        raise OptionError(f"targets.{target}.{unknown[0]}", f"unknown option (known: {', '.join(sorted(schema))})")
    out = {}
    for key, option in schema.items():
        if key in options:
            out[key] = _check(option, options[key], f"targets.{target}.{key}")
        else:
            out[key] = list(option.default) if isinstance(option.default, list) else option.default
    return out
