"""Error-message helpers (foundation layer): pydantic errors as one friendly message, "did you mean" hints."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["format_validation_error", "validation_messages", "did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" hint, or an empty string when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def validation_messages(exc: ValidationError, root: type[BaseModel]) -> list[tuple[tuple[Any, ...], str]]:
    """``(loc, "what is wrong (got value); allowed ...")`` for every problem of ``exc``."""
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            owner = _model_at(root, loc[:-1])
            allowed = sorted(owner.model_fields) if owner else []
            key = str(loc[-1])
            out.append((loc, f"unknown key{did_you_mean(key, allowed)}; allowed keys: {', '.join(allowed)}"))
            continue
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        got = err.get("input")
        got_txt = "" if kind == "missing" or isinstance(got, dict) else f" (got {got!r})"
        out.append((loc, f"{msg}{got_txt}"))
    return out


def format_validation_error(exc: ValidationError, root: type[BaseModel], source: str) -> str:
    """One message per problem: ``source: field: what is wrong (got value); allowed ...``."""
    lines = [f"{'.'.join(str(p) for p in loc) or '(top level)'}: {msg}" for loc, msg in validation_messages(exc, root)]
    return f"{source}: " + ("\n  ".join(lines) if len(lines) == 1 else "\n  " + "\n  ".join(lines))
