"""The installed package's version, read once (foundation layer: every layer may import it; the
package root re-exports it as ``metacascade.__version__``)."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["package_version"]


@lru_cache(maxsize=1)
def package_version() -> str:
    """The version of the installed ``metacascade`` distribution (importlib.metadata costs ~40
    ms: read on first use); ``0.0.0`` when run from a source tree that is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("metacascade")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
