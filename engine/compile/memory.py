"""Linear-memory, table and bulk instructions.

Every access is bounds-checked explicitly (no guard pages, no signal handlers): the
effective address ``addr + offset + width`` is computed in 64 bits, where it cannot
wrap, and compared with the memory's current byte size.  Linear memory is
little-endian on every target, so on a big-endian target integer accesses go through
``llvm.bswap`` and float accesses through an integer of the same width.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import MemArg
from . import faults
from .irtext import Value
from .layout import MemoryRecord, Segment, StoreState, TableRecord, VMContext
from .types import F32T, F64T, I1, I8, I32T, I64T, PTR, i32, i64

if TYPE_CHECKING:
    from .function import FunctionTranslator

# op -> (bytes accessed, in-memory integer type, value type, sign-extend?)
_LOADS = {
    "i32.load": (4, I32T, I32T, False), "i64.load": (8, I64T, I64T, False),
    "f32.load": (4, I32T, F32T, False), "f64.load": (8, I64T, F64T, False),
    "i32.load8_s": (1, I8, I32T, True), "i32.load8_u": (1, I8, I32T, False),
    "i32.load16_s": (2, ir.IntType(16), I32T, True), "i32.load16_u": (2, ir.IntType(16), I32T, False),
    "i64.load8_s": (1, I8, I64T, True), "i64.load8_u": (1, I8, I64T, False),
    "i64.load16_s": (2, ir.IntType(16), I64T, True), "i64.load16_u": (2, ir.IntType(16), I64T, False),
    "i64.load32_s": (4, I32T, I64T, True), "i64.load32_u": (4, I32T, I64T, False),
}
_STORES = {
    "i32.store": (4, I32T), "i64.store": (8, I64T), "f32.store": (4, I32T), "f64.store": (8, I64T),
    "i32.store8": (1, I8), "i32.store16": (2, ir.IntType(16)), "i64.store8": (1, I8),
    "i64.store16": (2, ir.IntType(16)), "i64.store32": (4, I32T),
}


def memory_record(t: "FunctionTranslator") -> Value:
    return t.instance_array(VMContext.MEMORY)


def checked_address(t: "FunctionTranslator", addr: Value, offset: int, width: Value | int,
                    record: Value | None = None) -> Value:
    """Pointer to ``addr + offset`` in linear memory; traps unless ``width`` bytes fit."""
    b = t.builder
    record = record or memory_record(t)
    size = t.load_field(record, MemoryRecord.SIZE.offset, I64T, "mem_size")
    start = b.add(b.zext(addr, I64T), i64(offset)) if offset else b.zext(addr, I64T)
    end = b.add(start, i64(width) if isinstance(width, int) else b.zext(width, I64T))
    t.trap_if(b.icmp_unsigned(">", end, size), TrapCode.MEMORY_OUT_OF_BOUNDS)
    base = t.load_field(record, MemoryRecord.BASE.offset, PTR, "mem_base")
    return b.gep(base, [start], source_etype=I8)


def _swap(t: "FunctionTranslator", value: Value) -> Value:
    """Convert between little-endian memory order and the target's order."""
    width = value.type.width
    if not t.target.big_endian or width == 8 or faults.on("no_byte_swap", t.mc.options.opt_level):
        return value
    return t.builder.call(t.intrinsic(f"llvm.bswap.i{width}", value.type, [value.type]), [value])


def lower_access(t: "FunctionTranslator", op: str, memarg: MemArg, args: list[Value],
                 stack: list[Value]) -> None:
    b = t.builder
    if op in _LOADS:
        width, mem_type, val_type, signed = _LOADS[op]
        ptr = checked_address(t, args[0], memarg.offset, width)
        load = b.load(ptr, typ=mem_type, align=1)
        t.mc.tag_access(load, t.mc.tbaa_memory)
        raw = _swap(t, load)
        if val_type in (F32T, F64T):
            stack.append(b.bitcast(raw, val_type))
        elif mem_type.width < val_type.width:
            stack.append(b.sext(raw, val_type) if signed else b.zext(raw, val_type))
        else:
            stack.append(raw)
        return
    width, mem_type = _STORES[op]
    addr, value = args
    if value.type in (F32T, F64T):
        value = b.bitcast(value, mem_type)
    elif value.type.width > mem_type.width:
        value = b.trunc(value, mem_type)
    ptr = checked_address(t, addr, memarg.offset, width)
    store = b.store(_swap(t, value), ptr, align=1)
    t.mc.tag_access(store, t.mc.tbaa_memory)


def _memmove(t: "FunctionTranslator", dst: Value, src: Value, nbytes: Value) -> None:
    fn = t.intrinsic("llvm.memmove.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64T, I1])
    t.builder.call(fn, [dst, src, nbytes, I1(0)])


def _segment(t: "FunctionTranslator", field: VMContext, index: int) -> Value:
    segments = t.instance_array(field)
    return t.builder.gep(segments, [i64(index * len(Segment))], source_etype=I64T)


def _check_range(t: "FunctionTranslator", start: Value, n: Value, length: Value,
                 code: TrapCode) -> Value:
    """Trap with ``code`` unless ``start + n <= length`` (all as unsigned 64-bit)."""
    b = t.builder
    start64 = b.zext(start, I64T)
    t.trap_if(b.icmp_unsigned(">", b.add(start64, b.zext(n, I64T)), length), code)
    return start64


def _grow_result(t: "FunctionTranslator", grown: Value) -> Value:
    """``grown``, the result of a grow helper -- after trapping if it is -1 and the store
    makes failed growth trap (``trap_on_grow_failure``, as wasmtime's ``StoreLimits``)."""
    b = t.builder
    traps = t.load_field(t.store_state, StoreState.GROW_TRAPS.offset, I64T)
    t.trap_if(b.and_(b.icmp_signed("==", grown, i32(-1)), b.icmp_unsigned("!=", traps, i64(0))),
              TrapCode.ALLOCATION_TOO_LARGE)
    return grown


def lower_bulk(t: "FunctionTranslator", op: str, imm: tuple, stack: list[Value]) -> None:
    """memory.*, data.drop, table.*, elem.drop."""
    b = t.builder
    if op == "memory.size":
        size = t.load_field(memory_record(t), MemoryRecord.SIZE.offset, I64T)
        stack.append(b.trunc(b.lshr(size, i64(16)), I32T))
    elif op == "memory.grow":
        grown = b.call(t.helper(StoreState.MEMORY_GROW), [t.store_state, memory_record(t), stack.pop()])
        stack.append(_grow_result(t, grown))
    elif op == "memory.fill":
        n, value, dst = stack.pop(), stack.pop(), stack.pop()
        ptr = checked_address(t, dst, 0, n)
        b.call(t.intrinsic("llvm.memset.p0.i64", ir.VoidType(), [PTR, I8, I64T, I1]),
               [ptr, b.trunc(value, I8), b.zext(n, I64T), I1(0)])
    elif op == "memory.copy":
        n, src, dst = stack.pop(), stack.pop(), stack.pop()
        record = memory_record(t)
        src_ptr = checked_address(t, src, 0, n, record)
        dst_ptr = checked_address(t, dst, 0, n, record)
        _memmove(t, dst_ptr, src_ptr, b.zext(n, I64T))
    elif op == "memory.init":
        n, src, dst = stack.pop(), stack.pop(), stack.pop()
        seg = _segment(t, VMContext.DATA_SEGMENTS, imm[0])
        length = t.load_field(seg, Segment.LENGTH.offset, I64T)
        src64 = _check_range(t, src, n, length, TrapCode.MEMORY_OUT_OF_BOUNDS)
        dst_ptr = checked_address(t, dst, 0, n)
        data = t.load_field(seg, Segment.DATA.offset, PTR)
        _memmove(t, dst_ptr, b.gep(data, [src64], source_etype=I8), b.zext(n, I64T))
    elif op in ("data.drop", "elem.drop"):
        field = VMContext.DATA_SEGMENTS if op == "data.drop" else VMContext.ELEM_SEGMENTS
        t.store_field(_segment(t, field, imm[0]), Segment.LENGTH.offset, i64(0))
    elif op in ("table.get", "table.set"):
        value = stack.pop() if op == "table.set" else None
        index = stack.pop()
        record = t.table_record(imm[0])
        size = t.load_field(record, TableRecord.SIZE.offset, I64T)
        index64 = _check_range(t, index, i32(1), size, TrapCode.TABLE_OUT_OF_BOUNDS)
        elems = t.load_field(record, TableRecord.ELEMS.offset, PTR)
        ptr = b.gep(elems, [index64], source_etype=I64T)
        if value is None:
            stack.append(b.load(ptr, typ=PTR))
        else:
            b.store(value, ptr)
    elif op == "table.size":
        size = t.load_field(t.table_record(imm[0]), TableRecord.SIZE.offset, I64T)
        stack.append(b.trunc(size, I32T))
    elif op == "table.grow":
        n, init = stack.pop(), stack.pop()
        grown = b.call(t.helper(StoreState.TABLE_GROW), [t.store_state, t.table_record(imm[0]), init, n])
        stack.append(_grow_result(t, grown))
    elif op == "table.fill":
        n, value, dst = stack.pop(), stack.pop(), stack.pop()
        record = t.table_record(imm[0])
        size = t.load_field(record, TableRecord.SIZE.offset, I64T)
        _check_range(t, dst, n, size, TrapCode.TABLE_OUT_OF_BOUNDS)
        b.call(t.helper(StoreState.TABLE_FILL), [record, dst, value, n])
    elif op in ("table.copy", "table.init"):
        n, src, dst = stack.pop(), stack.pop(), stack.pop()
        if op == "table.copy":
            dst_rec, src_rec = t.table_record(imm[0]), t.table_record(imm[1])
            src_len = t.load_field(src_rec, TableRecord.SIZE.offset, I64T)
            src_items = t.load_field(src_rec, TableRecord.ELEMS.offset, PTR)
        else:
            seg = _segment(t, VMContext.ELEM_SEGMENTS, imm[0])
            dst_rec = t.table_record(imm[1])
            src_len = t.load_field(seg, Segment.LENGTH.offset, I64T)
            src_items = t.load_field(seg, Segment.DATA.offset, PTR)
        src64 = _check_range(t, src, n, src_len, TrapCode.TABLE_OUT_OF_BOUNDS)
        dst_len = t.load_field(dst_rec, TableRecord.SIZE.offset, I64T)
        dst64 = _check_range(t, dst, n, dst_len, TrapCode.TABLE_OUT_OF_BOUNDS)
        dst_items = t.load_field(dst_rec, TableRecord.ELEMS.offset, PTR)
        _memmove(t, b.gep(dst_items, [dst64], source_etype=I64T),
                 b.gep(src_items, [src64], source_etype=I64T), b.mul(b.zext(n, I64T), i64(8)))
    else:
        raise AssertionError(f"no lowering for {op}")
