"""Lowering of the exception-handling instructions: ``throw``, ``throw_ref`` and
``try_table``.

Exceptions ride the one unwinding path (see :mod:`.function`): an exception in flight
is the store's ``EXCEPTION`` with ``UNWIND`` set to ``EXCEPTION``.  Code that raises
one -- ``throw``, ``throw_ref``, or a call that returns a non-zero status -- branches
to the *handler* of the innermost enclosing ``try_table``, or to the function's
unwind block (return the status to the caller) when there is none.

A handler first passes traps straight on to the unwind block: traps share the path
but no handler ever sees one.  It then tries its clauses in order, comparing the
exception's tag by identity (the address of its
:class:`~engine.compile.layout.TagRecord`); a matching clause clears the unwinding
state and branches to its label with the payload (``catch``), the payload and the
exnref (``catch_ref``), nothing (``catch_all``) or the exnref (``catch_all_ref``).
When no clause matches, the handler goes on to the next enclosing handler.

Exception objects come from the store's allocator (``StoreState.EXN_ALLOC``), which
owns them and frees them once the collector finds them unreachable; an ``exnref`` is
the object's address, so ``throw_ref`` rethrows the very same object.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import Catch, CatchKind
from ..syntax.types import FuncType
from . import events, faults
from .irtext import Block, Value
from .layout import ExnObject, StoreState, UnwindKind, VMContext
from .types import F32T, I32T, I64T, NULL, PTR, callable_pointer, from_slot, i64, llvm_type, to_slot

if TYPE_CHECKING:
    from .function import Frame, FunctionTranslator

EXN_ALLOC = ir.FunctionType(PTR, [PTR, PTR, I64T])
"""``ExnObject* exn_alloc(StoreState*, TagRecord*, i64 nfields)``."""


def tag_payload(t: "FunctionTranslator", tag: int) -> FuncType:
    return t.mc.module.types[t.mc.tag_types[tag].type_idx]


def tag_record(t: "FunctionTranslator", tag: int) -> Value:
    return t.instance_slot(VMContext.TAGS, tag)


def handler_target(t: "FunctionTranslator") -> Block:
    """Where unwinding goes from here: the innermost enclosing handler, else the
    function's unwind block."""
    for frame in reversed(t.frames):
        if frame.kind == "try_table":
            frame.handler_used = True
            assert frame.handler_bb is not None
            return frame.handler_bb
    return t.unwind_bb()


def raise_exception(t: "FunctionTranslator", exn: Value) -> None:
    t.store_field(t.store_state, StoreState.UNWIND.offset, i64(UnwindKind.EXCEPTION))
    t.store_field(t.store_state, StoreState.EXCEPTION.offset, exn)
    t.builder.branch(handler_target(t))
    t.set_dead()


def lower_throw(t: "FunctionTranslator", tag: int) -> None:
    t.count_event(events.INDEX["throw executed"])
    b = t.builder
    params = tag_payload(t, tag).params
    payload = t.pop(len(params))
    alloc = callable_pointer(b, t.load_field(t.store_state, StoreState.EXN_ALLOC.offset, PTR),
                             EXN_ALLOC)
    exn = b.call(alloc, [t.store_state, tag_record(t, tag), i64(len(params))])
    t.trap_if(b.icmp_unsigned("==", exn, NULL), TrapCode.ALLOCATION_TOO_LARGE)
    if faults.on("reversed_payload", t.mc.options.opt_level) and len(params) >= 2 and params[0] == params[1]:
        payload = [payload[1], payload[0], *payload[2:]]
    low_half = faults.on("payload_low_half", t.mc.options.opt_level)
    for i, value in enumerate(payload):
        narrow = low_half and value.type in (I32T, F32T)
        t.store_field(exn, ExnObject.FIELDS.offset + 8 * i, value if narrow else to_slot(b, value))
    raise_exception(t, exn)


def lower_throw_ref(t: "FunctionTranslator") -> None:
    t.count_event(events.INDEX["throw_ref executed"])
    exn = t.stack.pop()
    t.trap_if(t.builder.icmp_unsigned("==", exn, NULL), TrapCode.NULL_REFERENCE)
    raise_exception(t, exn)


def lower_try_table(t: "FunctionTranslator", bt: object, catches: tuple[Catch, ...]) -> None:
    frame = t.push_frame("try_table", bt)
    frame.handler_bb = t.fn.append_basic_block("handler")
    frame.catches = catches


def emit_handler(t: "FunctionTranslator", frame: "Frame") -> None:
    """Fill in ``frame``'s handler; call once the frame is popped, so that the catch
    labels resolve in the enclosing context as the spec says."""
    b = t.builder
    saved = b.block
    assert frame.handler_bb is not None
    b.position_at_end(frame.handler_bb)
    if not frame.handler_used:
        b.unreachable()
        b.position_at_end(saved)
        return
    unwind = t.load_field(t.store_state, StoreState.UNWIND.offset, I64T)
    exception_bb = t.fn.append_basic_block("exception")
    b.cbranch(b.icmp_unsigned("==", unwind, i64(UnwindKind.EXCEPTION)), exception_bb,
              _planted_trap_catch(t, frame))
    b.position_at_end(exception_bb)
    exn = t.load_field(t.store_state, StoreState.EXCEPTION.offset, PTR, "exn")
    tag = t.load_field(exn, ExnObject.TAG.offset, PTR, "tag")
    catches = frame.catches[::-1] if faults.on("reversed_clauses", t.mc.options.opt_level) else frame.catches
    for clause in catches:
        if clause.tag is not None:
            match_bb, next_bb = t.fn.append_basic_block("catch"), t.fn.append_basic_block("next")
            b.cbranch(b.icmp_unsigned("==", tag, tag_record(t, clause.tag)), match_bb, next_bb)
            b.position_at_end(match_bb)
        values = []
        if clause.kind in (CatchKind.CATCH, CatchKind.CATCH_REF):
            assert clause.tag is not None
            for i, vt in enumerate(tag_payload(t, clause.tag).params):
                slot = t.load_field(exn, ExnObject.FIELDS.offset + 8 * i, I64T)
                values.append(from_slot(b, slot, llvm_type(vt)))
        if clause.kind in (CatchKind.CATCH_REF, CatchKind.CATCH_ALL_REF):
            values.append(exn)
        t.store_field(t.store_state, StoreState.UNWIND.offset, i64(UnwindKind.NONE))
        t.store_field(t.store_state, StoreState.EXCEPTION.offset, NULL)
        target = _clause_target(t, frame, clause, values)
        t.count_event(events.catch_event(clause.kind, target.kind, clause.label))
        t.add_incoming(target, values)
        b.branch(target.header_bb if target.kind == "loop" else target.end_bb)
        if clause.tag is None:       # catch_all: later clauses can never be reached
            break
        b.position_at_end(next_bb)
    else:
        b.branch(handler_target(t))
    b.position_at_end(saved)


def _clause_target(t: "FunctionTranslator", frame: "Frame", clause: Catch, values: list[Value]) -> "Frame":
    """The frame whose label ``clause`` branches to: label ``clause.label`` counted
    outside the try_table -- unless the fault ``catch_label_off_by_one`` is planted,
    which counts the try_table's own label too (where that label takes the same
    values, so the code still type-checks)."""
    target = t.frames[-1 - clause.label]
    if faults.on("catch_label_off_by_one", t.mc.options.opt_level):
        inner = (t.frames + [frame])[-1 - clause.label]
        types = [v.type for v in values]
        if [llvm_type(vt) for vt in inner.label_types] == types:
            return inner
    return target


def _planted_trap_catch(t: "FunctionTranslator", frame: "Frame") -> Block:
    """Where a trap goes from ``frame``'s handler: on to the unwind block -- unless the
    ``catch_all_traps`` fault is planted and the frame has a ``catch_all`` clause."""
    clause = next((c for c in frame.catches if c.kind is CatchKind.CATCH_ALL), None)
    if not faults.on("catch_all_traps", t.mc.options.opt_level) or clause is None:
        return t.unwind_bb()
    b = t.builder
    saved = b.block
    caught = t.fn.append_basic_block("trap_caught")
    b.position_at_end(caught)
    t.store_field(t.store_state, StoreState.UNWIND.offset, i64(UnwindKind.NONE))
    target = t.frames[-1 - clause.label]
    t.add_incoming(target, [])
    b.branch(target.header_bb if target.kind == "loop" else target.end_bb)
    b.position_at_end(saved)
    return caught
