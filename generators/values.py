"""Values in function bodies: code that pushes one value of a requested type --
constants, locals, globals, numeric operations (NaNs canonicalized), loads, calls,
blocks, ifs, try_tables, or a throw standing in for the value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.syntax.instructions import OPS, Instr, MemArg
from engine.syntax.types import EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, HeapType, ValType

from .body_base import BITWISE_FLOAT_OPS, LOADS, OPS_INTO, Terminated
from .signatures import CONSTS, NUM

if TYPE_CHECKING:
    from .body import BodyGenerator


class ValueCode:
    """The value-making code of :class:`~generators.body.BodyGenerator`."""

    def values(self: "BodyGenerator", types: tuple[ValType, ...]) -> None:
        for t in types:
            self.value(t)

    def value(self: "BodyGenerator", t: ValType) -> None:
        """Code that pushes one value of type ``t``."""
        if self.shallow or self.ch.chance(35):
            return self.leaf(t)
        self.depth += 1
        try:
            if t in NUM:
                self.num_value(t)
            else:
                self.ref_value(t)
        except Terminated:
            pass
        finally:
            self.depth -= 1

    def leaf(self: "BodyGenerator", t: ValType) -> None:
        ch = self.ch
        locals_ = [i for i, lt in enumerate(self.locals) if lt == t]
        globals_ = [i for i, g in enumerate(self.ctx.globals) if g.type == t]
        if locals_ and ch.chance(40):
            self.emit("local.get", ch.choice(locals_))
        elif globals_ and ch.chance(20):
            self.emit("global.get", ch.choice(globals_))
        elif t in NUM:
            self.const(t)
        elif t == FUNCREF and ch.chance(50):
            self.emit("ref.func", ch.int(0, len(self.ctx.funcs) - 1))
        else:
            self.emit("ref.null", {FUNCREF: HeapType.FUNC, EXTERNREF: HeapType.EXTERN,
                                   EXNREF: HeapType.EXN}[t])

    def const(self: "BodyGenerator", t: ValType) -> None:
        ch = self.ch
        value = ch.choice(CONSTS[t]) if ch.chance(70) else ch.int(0, 1000)
        if t == I32:
            value = (value + 2**31) % 2**32 - 2**31
        elif t == I64:
            value = (value + 2**63) % 2**64 - 2**63
        self.emit(f"{t.value}.const", value)

    def num_value(self: "BodyGenerator", t: ValType) -> None:
        ch = self.ch
        kind = ch.weighted([(6, "op"), (2, "load"), (2, "call"), (2, "block"), (2, "if"), (3, "try"),
                            (1, "tee"), (1, "select"), (1, "throw")])
        if kind == "op":
            op = ch.choice(OPS_INTO[t])
            self.values(OPS[op].sig[0])  # type: ignore[index]
            self.emit(op)
            if t in (F32, F64) and op.split(".")[1] not in BITWISE_FLOAT_OPS:
                self.canonicalize_nan(t)
        elif kind == "load":
            self.address()
            op = ch.choice(LOADS[t])
            self.emit(op, MemArg(OPS[op].natural_align or 0, ch.int(0, 8)))
        elif kind == "tee":
            index = self.new_local(t)
            self.value(t)
            self.emit("local.tee", index)
        elif kind == "select":
            self.value(t)
            self.value(t)
            self.value(I32)
            self.emit("select")
        else:
            self.structured(t, kind)

    def canonicalize_nan(self: "BodyGenerator", t: ValType) -> None:
        """Replace a NaN on the stack by the canonical one.  The spec lets a float
        operation return a NaN of either sign and, from a NaN operand, any payload;
        once stored to memory or reinterpreted those bits would differ between correct
        engines (the campaign found exactly that: ``0.0 / 0.0`` stored with ``f64.store``
        is +NaN on one engine, -NaN on the other).  As wasm-smith's ``canonicalize_nans``."""
        tmp = self.new_local(t)
        nan = 0x7FC0_0000 if t == F32 else 0x7FF8_0000_0000_0000
        for op, imm in (("local.tee", (tmp,)), (f"{t.value}.const", (nan,)), ("local.get", (tmp,)),
                        ("local.get", (tmp,)), (f"{t.value}.eq", ()), ("select", ())):
            self.code.append(Instr(op, imm))

    def ref_value(self: "BodyGenerator", t: ValType) -> None:
        kind = self.ch.weighted([(3, "leaf"), (2, "call"), (1, "block"), (1, "if"),
                                 (4 if t == EXNREF else 1, "try"), (1, "select"), (1, "throw"),
                                 (2 if t == EXNREF else 0, "table")])
        if kind == "leaf":
            self.leaf(t)
        elif kind == "select":
            self.value(t)
            self.value(t)
            self.value(I32)
            self.emit("select", (t,))
        elif kind == "table":
            self.emit("i32.const", self.ch.int(0, self.ctx.exn_table_size - (0 if self.ch.chance(10) else 1)))
            self.emit("table.get", self.ctx.exn_table)
        else:
            self.structured(t, kind)

    def structured(self: "BodyGenerator", t: ValType, kind: str) -> None:
        """Values made by calls, blocks, ifs, try_tables, or a throw standing in."""
        if kind == "call":
            funcs = [i for i, ft in enumerate(self.ctx.funcs) if ft.results and ft.results[0] == t]
            if not funcs:
                return self.leaf(t)
            func = self.callee(funcs)
            ft = self.ctx.funcs[func]
            self.values(ft.params)
            self.emit_call(func)
            self.drop_all(ft.results[1:])
        elif kind == "block":
            self.open("block", (), (t,))
            if not self.statements():
                self.value(t)
            self.close()
        elif kind == "if":
            self.value(I32)
            self.open("if", (), (t,))
            if not self.statements():
                self.value(t)
            self.emit("else")
            if not self.statements():
                self.value(t)
            self.close()
        elif kind == "try":
            self.try_table((t,))
        else:
            self.stmt_throw()

    def address(self: "BodyGenerator") -> None:
        """A memory address: usually masked into the first page, sometimes not (a trap)."""
        self.value(I32)
        if self.ch.chance(85):
            self.emit("i32.const", 0xFFF0)
            self.emit("i32.and")
        else:
            self.features["unmasked address"] += 1


__all__ = ["BodyGenerator", "NUM"]
