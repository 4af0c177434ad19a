"""Validation (spec chapter 3): :func:`validate_module` raises ValidationError."""
from .module import validate_module

__all__ = ["validate_module"]
