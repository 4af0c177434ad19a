"""Run-time helpers emitted as IR into each compiled module.

They use only libc (``realloc``, ``malloc``, ``calloc``, ``free``) and LLVM's memory
intrinsics, so a module compiled for another target carries its own helpers.
"""
from __future__ import annotations

import llvmlite.ir as ir

from .layout import PAGE_SIZE, MemoryRecord, TableRecord
from .types import I1, I8, I32T, I64T, PTR, declare, field_ptr


def libc(module: ir.Module, name: str) -> ir.Function:
    """Declare a libc allocation function (once)."""
    sigs = {
        "malloc": ir.FunctionType(PTR, [I64T]),
        "calloc": ir.FunctionType(PTR, [I64T, I64T]),
        "realloc": ir.FunctionType(PTR, [PTR, I64T]),
        "free": ir.FunctionType(ir.VoidType(), [PTR]),
    }
    return declare(module, name, sigs[name])


def _memset(module: ir.Module) -> ir.Function:
    return declare(module, "llvm.memset.p0.i64", ir.FunctionType(ir.VoidType(), [PTR, I8, I64T, I1]))


def emit_memory_grow(module: ir.Module) -> ir.Function:
    """``i32 memory_grow(MemoryRecord*, i32 delta)``: old size in pages, or -1."""
    fn = ir.Function(module, ir.FunctionType(I32T, [PTR, I32T]), "rt_memory_grow")
    fn.linkage = "internal"
    record, delta = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fail, grow = fn.append_basic_block("fail"), fn.append_basic_block("grow")
    base_ptr, size_ptr = field_ptr(b, record, MemoryRecord.BASE.offset), field_ptr(b, record, MemoryRecord.SIZE.offset)
    size = b.load(size_ptr, typ=I64T)
    old_pages = b.lshr(size, I64T(16))
    new_pages = b.add(old_pages, b.zext(delta, I64T))
    max_pages = b.load(field_ptr(b, record, MemoryRecord.MAX_PAGES.offset), typ=I64T)
    b.cbranch(b.icmp_unsigned(">", new_pages, max_pages), fail, grow)
    b.position_at_end(fail)
    b.ret(I32T(-1))
    b.position_at_end(grow)
    done = fn.append_basic_block("done")
    realloc_bb = fn.append_basic_block("realloc")
    b.cbranch(b.icmp_unsigned("==", delta, I32T(0)), done, realloc_bb)
    b.position_at_end(realloc_bb)
    new_size = b.mul(new_pages, I64T(PAGE_SIZE))
    base = b.call(libc(module, "realloc"), [b.load(base_ptr, typ=PTR), new_size])
    ok = fn.append_basic_block("ok")
    b.cbranch(b.icmp_unsigned("==", base, PTR(None)), fail, ok)
    b.position_at_end(ok)
    b.call(_memset(module), [b.gep(base, [size], source_etype=I8), I8(0),
                             b.sub(new_size, size), I1(0)])
    b.store(base, base_ptr)
    b.store(new_size, size_ptr)
    b.branch(done)
    b.position_at_end(done)
    b.ret(b.trunc(old_pages, I32T))
    return fn


def emit_table_grow(module: ir.Module) -> ir.Function:
    """``i32 table_grow(TableRecord*, ref init, i32 delta)``: old length, or -1."""
    fn = ir.Function(module, ir.FunctionType(I32T, [PTR, PTR, I32T]), "rt_table_grow")
    fn.linkage = "internal"
    record, init, delta = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fail, grow = fn.append_basic_block("fail"), fn.append_basic_block("grow")
    elems_ptr, size_ptr = field_ptr(b, record, TableRecord.ELEMS.offset), field_ptr(b, record, TableRecord.SIZE.offset)
    size = b.load(size_ptr, typ=I64T)
    new_size = b.add(size, b.zext(delta, I64T))
    limit = b.load(field_ptr(b, record, TableRecord.MAX.offset), typ=I64T)
    b.cbranch(b.icmp_unsigned(">", new_size, limit), fail, grow)
    b.position_at_end(fail)
    b.ret(I32T(-1))
    b.position_at_end(grow)
    # realloc(p, 0) may free; keep at least one slot allocated.
    nbytes = b.mul(b.add(new_size, I64T(1)), I64T(8))
    elems = b.call(libc(module, "realloc"), [b.load(elems_ptr, typ=PTR), nbytes])
    ok = fn.append_basic_block("ok")
    b.cbranch(b.icmp_unsigned("==", elems, PTR(None)), fail, ok)
    b.position_at_end(ok)
    b.store(elems, elems_ptr)
    b.store(new_size, size_ptr)
    b.call(table_fill(module), [record, b.trunc(size, I32T), init, delta])
    b.ret(b.trunc(size, I32T))
    return fn


def table_fill(module: ir.Module) -> ir.Function:
    """``void table_fill(TableRecord*, i32 start, ref value, i32 n)`` (range pre-checked)."""
    existing = module.globals.get("rt_table_fill")
    if existing is not None:
        return existing
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I32T, PTR, I32T]), "rt_table_fill")
    fn.linkage = "internal"
    record, start, value, n = fn.args
    entry = fn.append_basic_block("entry")
    loop, body, done = (fn.append_basic_block(n_) for n_ in ("loop", "body", "done"))
    b = ir.IRBuilder(entry)
    elems = b.load(field_ptr(b, record, TableRecord.ELEMS.offset), typ=PTR)
    first = b.zext(start, I64T)
    end = b.add(first, b.zext(n, I64T))
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64T)
    i.add_incoming(first, entry)
    b.cbranch(b.icmp_unsigned("<", i, end), body, done)
    b.position_at_end(body)
    b.store(value, b.gep(elems, [i], source_etype=I64T))
    i.add_incoming(b.add(i, I64T(1)), body)
    b.branch(loop)
    b.position_at_end(done)
    b.ret_void()
    return fn


HELPERS = {"memory_grow": emit_memory_grow, "table_grow": emit_table_grow, "table_fill": table_fill}
