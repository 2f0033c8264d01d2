"""Kept for imports of the old location: the helpers live in :mod:`metacascade._messages` (foundation)."""

from metacascade._messages import did_you_mean, format_validation_error, validation_messages

__all__ = ["format_validation_error", "validation_messages", "did_you_mean"]
