"""What every part of the body generator shares: limits, instruction tables, labels."""
from __future__ import annotations

from dataclasses import dataclass

from engine.syntax.instructions import OPS, CatchKind, Imm
from engine.syntax.types import F32, F64, I32, I64, ValType

from .signatures import NUM

MAX_DEPTH = 8
"""How deeply blocks, try_tables and values nest."""
LIVE_COUNTS = (4, 8, 12, 16, 24)
"""How many values a function keeps live across a call that may throw."""
OPS_INTO: dict[ValType, list[str]] = {t: [] for t in NUM}
for _op in OPS.values():
    if _op.imm is Imm.NONE and _op.sig and len(_op.sig[1]) == 1 and _op.sig[0] \
            and all(p in NUM for p in _op.sig[0]) and _op.sig[1][0] in NUM:
        OPS_INTO[_op.sig[1][0]].append(_op.name)
LOADS = {I32: ("i32.load", "i32.load8_s", "i32.load16_u"), I64: ("i64.load", "i64.load32_s", "i64.load8_u"),
         F32: ("f32.load",), F64: ("f64.load",)}
STORES = {I32: ("i32.store", "i32.store8"), I64: ("i64.store", "i64.store16"), F32: ("f32.store",),
          F64: ("f64.store",)}
BITWISE_FLOAT_OPS = ("abs", "neg", "copysign", "reinterpret_i32", "reinterpret_i64",
                     "convert_i32_s", "convert_i32_u", "convert_i64_s", "convert_i64_u")
"""Float operations whose result bits are fully determined: no NaN canonicalization."""
THROWING = ("throw", "throw_ref", "call", "call_indirect", "return_call", "return_call_indirect")
DELIVERS = {CatchKind.CATCH: False, CatchKind.CATCH_REF: True, CatchKind.CATCH_ALL: False,
            CatchKind.CATCH_ALL_REF: True}


@dataclass
class Label:
    """An enclosing label: the types a branch to it carries, and the kind of
    construct it belongs to (``func``, ``block``, ``loop``, ``if``, ``try_table``)."""
    types: tuple[ValType, ...]
    nests: bool = True
    kind: str = "block"


class Terminated(Exception):
    """Not an error: unwinds generation of a sequence after a terminator."""


