"""Type checking of instruction sequences (spec 3.3 and the validation algorithm of
the spec's appendix), with the exception-handling and tail-call rules.

The operand stack holds value types, or ``None`` for the unknown type that
unreachable code produces (the polymorphic stack).  Non-defaultable locals (such as
``(ref exn)``) are tracked for initialisation as in the function-references proposal:
a ``local.set`` inside a block counts only until that block ends.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import ValidationError
from ..syntax.instructions import OPS, CatchKind, Instr
from ..syntax.types import (EXNREF, FUNCREF, I32, I64, F32, F64, HeapType, NumType, RefType,
                            ValType, defaultable, subtype)
from .context import Context

Stack = Optional[ValType]          # None: the unknown type of unreachable code
_REF_EXN = RefType(False, HeapType.EXN)
_REF_FUNC = RefType(False, HeapType.FUNC)
_CONSTS = {"i32.const": I32, "i64.const": I64, "f32.const": F32, "f64.const": F64}


@dataclass(slots=True)
class Ctrl:
    op: str
    start: tuple[ValType, ...]
    end: tuple[ValType, ...]
    height: int
    init_height: int
    unreachable: bool = False

    @property
    def label_types(self) -> tuple[ValType, ...]:
        return self.start if self.op == "loop" else self.end


class _Invalid(Exception):
    """Raised inside the checker; turned into a ValidationError with position."""


def _fmt(ts: Sequence[Stack]) -> str:
    return "[" + " ".join("?" if t is None else str(t) for t in ts) + "]"


class BodyChecker:
    """Checks one function body or constant expression against its type."""

    def __init__(self, ctx: Context, params: Sequence[ValType], results: tuple[ValType, ...],
                 local_types: Sequence[ValType] = ()) -> None:
        self.ctx = ctx
        self.locals = list(params) + list(local_types)
        self.inits = [True] * len(params) + [defaultable(t) for t in local_types]
        self.init_stack: list[int] = []
        self.results = results
        self.vals: list[Stack] = []
        self.ctrls: list[Ctrl] = [Ctrl("func", (), results, 0, 0)]

    # -- the operand and control stacks (spec appendix) -------------------------------

    def push(self, t: Stack) -> None:
        self.vals.append(t)

    def pop(self, expect: Stack = None) -> Stack:
        vals = self.vals
        frame = self.ctrls[-1]
        if len(vals) == frame.height:
            if frame.unreachable:
                return None
            raise _Invalid(f"type mismatch: expected {expect or 'a value'}, found nothing on stack")
        actual = vals.pop()
        if expect is not None and actual is not None and actual != expect \
                and not subtype(actual, expect):
            raise _Invalid(f"type mismatch: expected {expect}, found {actual}")
        return actual

    def pop_vals(self, types: Sequence[ValType]) -> list[Stack]:
        popped = [self.pop(t) for t in reversed(types)]
        popped.reverse()
        return popped

    def push_ctrl(self, op: str, start: tuple[ValType, ...], end: tuple[ValType, ...]) -> None:
        self.ctrls.append(Ctrl(op, start, end, len(self.vals), len(self.init_stack)))
        self.vals.extend(start)

    def pop_ctrl(self) -> Ctrl:
        frame = self.ctrls[-1]
        self.pop_vals(frame.end)
        if len(self.vals) != frame.height:
            raise _Invalid(f"type mismatch: values remaining on stack at end of block "
                           f"{_fmt(self.vals[frame.height:])}")
        self.ctrls.pop()
        for x in self.init_stack[frame.init_height:]:
            self.inits[x] = False
        del self.init_stack[frame.init_height:]
        return frame

    def set_unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.vals[frame.height:]
        frame.unreachable = True

    def label(self, depth: int) -> Ctrl:
        if depth >= len(self.ctrls):
            raise _Invalid(f"unknown label {depth}")
        return self.ctrls[-1 - depth]

    # -- lookups ---------------------------------------------------------------------

    def block_type(self, bt: object) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
        if bt is None:
            return (), ()
        if isinstance(bt, int):
            if bt >= len(self.ctx.types):
                raise _Invalid(f"unknown type {bt}")
            ft = self.ctx.types[bt]
            return ft.params, ft.results
        return (), (bt,)  # type: ignore[return-value]

    def local(self, x: int) -> ValType:
        if x >= len(self.locals):
            raise _Invalid(f"unknown local {x}")
        return self.locals[x]

    def set_local(self, x: int) -> ValType:
        t = self.local(x)
        if not self.inits[x]:
            self.inits[x] = True
            self.init_stack.append(x)
        return t

    def table(self, x: int) -> RefType:
        if x >= len(self.ctx.tables):
            raise _Invalid(f"unknown table {x}")
        return self.ctx.tables[x].elem

    def memory(self, x: int = 0) -> None:
        if x >= len(self.ctx.mems):
            raise _Invalid(f"unknown memory {x}")

    def func(self, x: int):
        if x >= len(self.ctx.funcs):
            raise _Invalid(f"unknown function {x}")
        return self.ctx.funcs[x]

    def tag(self, x: int):
        if x >= len(self.ctx.tags):
            raise _Invalid(f"unknown tag {x}")
        return self.ctx.tags[x]

    def type_(self, x: int):
        if x >= len(self.ctx.types):
            raise _Invalid(f"unknown type {x}")
        return self.ctx.types[x]

    def elem(self, x: int) -> RefType:
        if x >= len(self.ctx.elems):
            raise _Invalid(f"unknown elem segment {x}")
        return self.ctx.elems[x]

    def data(self, x: int) -> None:
        if self.ctx.datas is None or x >= self.ctx.datas:
            raise _Invalid(f"unknown data segment {x}")

    def indirect_table(self, x: int) -> None:
        if not subtype(self.table(x), FUNCREF):
            raise _Invalid("type mismatch: indirect calls must go through a table of funcref")

    def check_tail_results(self, results: tuple[ValType, ...]) -> None:
        if len(results) != len(self.results) or not all(
                subtype(a, b) for a, b in zip(results, self.results)):
            raise _Invalid("type mismatch: tail call's results do not match the caller's")

    # -- the checker -----------------------------------------------------------------

    def check(self, body: Sequence[Instr]) -> None:
        """Check ``body`` then its closing ``end``; raises ``_Invalid`` at the first error,
        leaving ``self.index`` at the failing instruction."""
        self.index = 0
        for i, ins in enumerate(body):
            self.index = i
            self.instr(ins)
        self.index = len(body)
        if len(self.ctrls) != 1:
            raise _Invalid("END opcode expected")
        self.pop_ctrl()

    def instr(self, ins: Instr) -> None:
        op = ins.op
        info = OPS[op]
        sig = info.sig
        if sig is not None:
            if info.natural_align is not None:
                self.memory(0)
                if ins.imm[0].align > info.natural_align:
                    raise _Invalid("alignment must not be larger than natural")
            params, results = sig
            vals = self.vals
            height = self.ctrls[-1].height
            # Most operands are on the stack with exactly their types: the general
            # popping (unknown types, subtyping, messages) is for the rest.
            if len(params) == 1 and len(vals) > height and vals[-1] is params[0]:
                vals.pop()
            elif len(params) == 2 and len(vals) - 2 >= height and vals[-1] is params[1] \
                    and vals[-2] is params[0]:
                del vals[-2:]
            else:
                for t in reversed(params):
                    self.pop(t)
            vals.extend(results)
            return
        handler = _HANDLERS.get(op)
        if handler is None:
            raise _Invalid(f"unexpected instruction {op}")
        handler(self, *ins.imm)

    # control instructions

    def _unreachable(self) -> None:
        self.set_unreachable()

    def _nop(self) -> None:
        pass

    def _block(self, bt: object) -> None:
        start, end = self.block_type(bt)
        self.pop_vals(start)
        self.push_ctrl("block", start, end)

    def _loop(self, bt: object) -> None:
        start, end = self.block_type(bt)
        self.pop_vals(start)
        self.push_ctrl("loop", start, end)

    def _if(self, bt: object) -> None:
        start, end = self.block_type(bt)
        self.pop(I32)
        self.pop_vals(start)
        self.push_ctrl("if", start, end)

    def _else(self) -> None:
        if self.ctrls[-1].op != "if":
            raise _Invalid("else found outside of an if block")
        frame = self.pop_ctrl()
        self.push_ctrl("else", frame.start, frame.end)

    def _end(self) -> None:
        if len(self.ctrls) == 1:
            raise _Invalid("operators remaining after end of function")
        frame = self.pop_ctrl()
        if frame.op == "if" and (len(frame.start) != len(frame.end) or not all(
                subtype(a, b) for a, b in zip(frame.start, frame.end))):
            raise _Invalid("type mismatch: if without else must leave its parameters as results")
        self.vals.extend(frame.end)

    def _try_table(self, bt: object, catches: tuple) -> None:
        start, end = self.block_type(bt)
        for c in catches:
            produced: tuple[ValType, ...] = ()
            if c.kind in (CatchKind.CATCH, CatchKind.CATCH_REF):
                produced = self.tag(c.tag).params
            if c.kind in (CatchKind.CATCH_REF, CatchKind.CATCH_ALL_REF):
                produced = produced + (_REF_EXN,)
            target = self.label(c.label).label_types
            if len(produced) != len(target) or not all(
                    subtype(a, b) for a, b in zip(produced, target)):
                raise _Invalid(f"type mismatch: catch clause gives {_fmt(produced)}, "
                               f"label {c.label} expects {_fmt(target)}")
        self.pop_vals(start)
        self.push_ctrl("try_table", start, end)

    def _throw(self, x: int) -> None:
        self.pop_vals(self.tag(x).params)
        self.set_unreachable()

    def _throw_ref(self) -> None:
        self.pop(EXNREF)
        self.set_unreachable()

    def _br(self, l: int) -> None:
        self.pop_vals(self.label(l).label_types)
        self.set_unreachable()

    def _br_if(self, l: int) -> None:
        types = self.label(l).label_types
        self.pop(I32)
        self.pop_vals(types)
        self.vals.extend(types)

    def _br_table(self, labels: tuple[int, ...], default: int) -> None:
        self.pop(I32)
        default_types = self.label(default).label_types
        arity = len(default_types)
        for l in labels:
            types = self.label(l).label_types
            if len(types) != arity:
                raise _Invalid("type mismatch: br_table targets have different arities")
            self.vals.extend(self.pop_vals(types))
        self.pop_vals(default_types)
        self.set_unreachable()

    def _return(self) -> None:
        self.pop_vals(self.results)
        self.set_unreachable()

    def _call(self, x: int) -> None:
        ft = self.func(x)
        self.pop_vals(ft.params)
        self.vals.extend(ft.results)

    def _call_indirect(self, type_idx: int, table: int) -> None:
        self.indirect_table(table)
        ft = self.type_(type_idx)
        self.pop(I32)
        self.pop_vals(ft.params)
        self.vals.extend(ft.results)

    def _return_call(self, x: int) -> None:
        ft = self.func(x)
        self.check_tail_results(ft.results)
        self.pop_vals(ft.params)
        self.set_unreachable()

    def _return_call_indirect(self, type_idx: int, table: int) -> None:
        self.indirect_table(table)
        ft = self.type_(type_idx)
        self.check_tail_results(ft.results)
        self.pop(I32)
        self.pop_vals(ft.params)
        self.set_unreachable()

    # parametric instructions

    def _drop(self) -> None:
        self.pop()

    def _select(self, types: tuple[ValType, ...] | None = None) -> None:
        if types is not None:
            if len(types) != 1:
                raise _Invalid("invalid result arity")
            self.pop(I32)
            self.pop(types[0])
            self.pop(types[0])
            self.push(types[0])
            return
        self.pop(I32)
        t1 = self.pop()
        t2 = self.pop()
        if isinstance(t1, RefType) or isinstance(t2, RefType):
            raise _Invalid("type mismatch: select without a type only takes numeric operands")
        if t1 is not None and t2 is not None and t1 != t2:
            raise _Invalid(f"type mismatch: select operands {t2} and {t1} differ")
        self.push(t2 if t1 is None else t1)

    # variable instructions

    def _local_get(self, x: int) -> None:
        t = self.local(x)
        if not self.inits[x]:
            raise _Invalid(f"uninitialized local {x}")
        self.push(t)

    def _local_set(self, x: int) -> None:
        self.pop(self.set_local(x))

    def _local_tee(self, x: int) -> None:
        t = self.set_local(x)
        self.pop(t)
        self.push(t)

    def _global_get(self, x: int) -> None:
        if x >= len(self.ctx.globals):
            raise _Invalid(f"unknown global {x}")
        self.push(self.ctx.globals[x].type)

    def _global_set(self, x: int) -> None:
        if x >= len(self.ctx.globals):
            raise _Invalid(f"unknown global {x}")
        g = self.ctx.globals[x]
        if not g.mut:
            raise _Invalid("global is immutable")
        self.pop(g.type)

    # table instructions

    def _table_get(self, x: int) -> None:
        t = self.table(x)
        self.pop(I32)
        self.push(t)

    def _table_set(self, x: int) -> None:
        t = self.table(x)
        self.pop(t)
        self.pop(I32)

    def _table_size(self, x: int) -> None:
        self.table(x)
        self.push(I32)

    def _table_grow(self, x: int) -> None:
        t = self.table(x)
        self.pop(I32)
        self.pop(t)
        self.push(I32)

    def _table_fill(self, x: int) -> None:
        t = self.table(x)
        self.pop(I32)
        self.pop(t)
        self.pop(I32)

    def _table_copy(self, dst: int, src: int) -> None:
        if not subtype(self.table(src), self.table(dst)):
            raise _Invalid("type mismatch: table.copy between incompatible tables")
        self.pop_vals((I32, I32, I32))

    def _table_init(self, elem: int, table: int) -> None:
        t = self.table(table)
        if not subtype(self.elem(elem), t):
            raise _Invalid("type mismatch: table.init of an incompatible segment")
        self.pop_vals((I32, I32, I32))

    def _elem_drop(self, x: int) -> None:
        self.elem(x)

    # memory instructions

    def _memory_size(self, x: int) -> None:
        self.memory(x)
        self.push(I32)

    def _memory_grow(self, x: int) -> None:
        self.memory(x)
        self.pop(I32)
        self.push(I32)

    def _memory_fill(self, x: int) -> None:
        self.memory(x)
        self.pop_vals((I32, I32, I32))

    def _memory_copy(self, dst: int, src: int) -> None:
        self.memory(dst)
        self.memory(src)
        self.pop_vals((I32, I32, I32))

    def _memory_init(self, data: int, mem: int) -> None:
        self.memory(mem)
        self.data(data)
        self.pop_vals((I32, I32, I32))

    def _data_drop(self, x: int) -> None:
        self.data(x)

    # numeric and reference instructions

    def _ref_null(self, heap: HeapType) -> None:
        self.push(RefType(True, heap))

    def _ref_is_null(self) -> None:
        t = self.pop()
        if isinstance(t, NumType):
            raise _Invalid(f"type mismatch: ref.is_null expects a reference, found {t}")
        self.push(I32)

    def _ref_func(self, x: int) -> None:
        self.func(x)
        if x not in self.ctx.refs:
            raise _Invalid("undeclared function reference")
        self.push(_REF_FUNC)


def _const_handler(t: NumType):
    def handler(self: BodyChecker, _value: int) -> None:
        self.vals.append(t)
    return handler


_B = BodyChecker
_HANDLERS = {
    "unreachable": _B._unreachable, "nop": _B._nop, "block": _B._block, "loop": _B._loop,
    "if": _B._if, "else": _B._else, "end": _B._end, "try_table": _B._try_table,
    "throw": _B._throw, "throw_ref": _B._throw_ref, "br": _B._br, "br_if": _B._br_if,
    "br_table": _B._br_table, "return": _B._return, "call": _B._call,
    "call_indirect": _B._call_indirect, "return_call": _B._return_call,
    "return_call_indirect": _B._return_call_indirect, "drop": _B._drop, "select": _B._select,
    "local.get": _B._local_get, "local.set": _B._local_set, "local.tee": _B._local_tee,
    "global.get": _B._global_get, "global.set": _B._global_set, "table.get": _B._table_get,
    "table.set": _B._table_set, "table.size": _B._table_size, "table.grow": _B._table_grow,
    "table.fill": _B._table_fill, "table.copy": _B._table_copy, "table.init": _B._table_init,
    "elem.drop": _B._elem_drop, "memory.size": _B._memory_size, "memory.grow": _B._memory_grow,
    "memory.fill": _B._memory_fill, "memory.copy": _B._memory_copy,
    "memory.init": _B._memory_init, "data.drop": _B._data_drop, "ref.null": _B._ref_null,
    "ref.is_null": _B._ref_is_null, "ref.func": _B._ref_func,
    **{name: _const_handler(t) for name, t in _CONSTS.items()},
}


def check_body(ctx: Context, params: Sequence[ValType], results: tuple[ValType, ...],
               local_types: Sequence[ValType], body: Sequence[Instr],
               offsets: Sequence[int] | None, func_index: int | None) -> None:
    """Validate a function body or constant expression; raise :class:`ValidationError`."""
    checker = BodyChecker(ctx, params, results, local_types)
    try:
        checker.check(body)
    except _Invalid as e:
        i = checker.index
        offset = offsets[i] if offsets is not None and i < len(offsets) else None
        instr = body[i].op if i < len(body) else "end"
        raise ValidationError(str(e), offset, func_index, instr) from None
