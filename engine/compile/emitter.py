"""What instruction lowering needs from the function being compiled.

Lowering code (numeric operations, memory accesses) is written against this small
protocol so it stays independent of how control flow and the instance context are
handled by the function translator.
"""
from __future__ import annotations

from typing import Protocol

import llvmlite.ir as ir

from ..errors import TrapCode
from .target import Target


class Emitter(Protocol):
    builder: ir.IRBuilder
    module: ir.Module
    target: Target
    canonicalize_nans: bool
    """Whether float operations give the canonical NaN (``Config.canonicalize_nans``)."""

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        """Branch to a trap with ``code`` when the ``i1`` ``cond`` is true; the builder is
        left positioned in the fall-through block."""

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        """Declare (once) and return an LLVM intrinsic such as ``llvm.ctlz.i32``."""
