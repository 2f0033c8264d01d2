"""metacascade: a mechanistic simulator of distant metastasis."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metacascade")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
