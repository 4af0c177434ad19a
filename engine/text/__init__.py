"""The text format: printing modules as WAT."""
from .print import print_module

__all__ = ["print_module"]
