"""Run-time helpers for memories and tables, emitted as IR.

They use only libc (``mmap``, ``mprotect``, ``munmap``, ``realloc``, ``malloc``,
``calloc``, ``free``) and LLVM's memory intrinsics, so a module compiled for another
target carries its own helpers.  Each compiled module gets the ones its code needs
(:data:`HELPERS`, internal); the engine loads them all once more, exported
(:func:`export_helpers`), so that Python creates and grows memories and tables with the
very same code as wasm does.

The rules they keep:

* A linear memory is one address range reserved for its maximum size (4 GiB without a
  declared maximum) with no access, never moved; growing makes the next pages
  readable and writable and nothing else, so the kernel commits a page when it is
  first touched and a page never touched reads as zero.  Growing is then as cheap for
  65,535 pages as for one, and untouched memory costs no resident memory.
* Growth fails -- ``-1``, as the spec allows -- beyond the declared maximum, beyond the
  store's limit (:attr:`~engine.compile.layout.StoreState.MEMORY_LIMIT`,
  :attr:`~engine.compile.layout.StoreState.TABLE_LIMIT`), or when the system refuses
  the memory; the compiled caller traps instead when the store says so
  (:attr:`~engine.compile.layout.StoreState.GROW_TRAPS`, see ``memory.py``).
"""
from __future__ import annotations

import llvmlite.ir as ir

from .layout import PAGE_SIZE, MemoryRecord, StoreState, TableRecord
from .target import MAP_RESERVE, PROT_NONE, PROT_READ_WRITE
from .types import I8, I32T, I64T, PTR, declare, field_ptr

MEMORY_NEW = "rt_memory_new"
MEMORY_GROW = "rt_memory_grow"
MEMORY_FREE = "rt_memory_free"
TABLE_GROW = "rt_table_grow"
TABLE_FILL = "rt_table_fill"


def libc(module: ir.Module, name: str) -> ir.Function:
    """Declare a libc function (once).  ``int`` parameters are ``signext``, as the C
    calling convention of some targets (s390x) wants them widened by the caller."""
    int_ = I32T
    sigs = {
        "malloc": ir.FunctionType(PTR, [I64T]),
        "calloc": ir.FunctionType(PTR, [I64T, I64T]),
        "realloc": ir.FunctionType(PTR, [PTR, I64T]),
        "free": ir.FunctionType(ir.VoidType(), [PTR]),
        "mmap": ir.FunctionType(PTR, [PTR, I64T, int_, int_, int_, I64T]),
        "mprotect": ir.FunctionType(int_, [PTR, I64T, int_]),
        "munmap": ir.FunctionType(int_, [PTR, I64T]),
    }
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    fn = declare(module, name, sigs[name])
    for arg in fn.args:
        if arg.type == int_:
            arg.add_attribute("signext")
    if fn.return_value.type == int_:
        fn.return_value.add_attribute("signext")
    return fn


def _internal(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, ir.FunctionType(ret, args), name)
    fn.linkage = "internal"
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def _reserved_bytes(b: ir.IRBuilder, record: ir.Value) -> ir.Value:
    """The size of a memory's reservation: its maximum, at least one page (``mmap``
    takes no empty range)."""
    max_pages = b.load(field_ptr(b, record, MemoryRecord.MAX_PAGES.offset), typ=I64T)
    pages = b.select(b.icmp_unsigned("==", max_pages, I64T(0)), I64T(1), max_pages)
    return b.mul(pages, I64T(PAGE_SIZE))


def emit_memory_new(module: ir.Module) -> ir.Function:
    """``i32 memory_new(MemoryRecord*)``: reserve the memory's range and open its first
    ``SIZE`` bytes (the record's other fields are set); 0, or 1 when the system refuses
    (``BASE`` is then null)."""
    fn, b = _internal(module, MEMORY_NEW, I32T, [PTR])
    record, = fn.args
    reserved = _reserved_bytes(b, record)
    base = b.call(libc(module, "mmap"), [PTR(None), reserved, I32T(PROT_NONE), I32T(MAP_RESERVE),
                                         I32T(-1), I64T(0)])
    with b.if_then(b.icmp_unsigned("==", b.ptrtoint(base, I64T), I64T(-1))):
        b.ret(I32T(1))
    size = b.load(field_ptr(b, record, MemoryRecord.SIZE.offset), typ=I64T)
    with b.if_then(b.icmp_unsigned("!=", size, I64T(0))):
        failed = b.call(libc(module, "mprotect"), [base, size, I32T(PROT_READ_WRITE)])
        with b.if_then(b.icmp_signed("!=", failed, I32T(0))):
            b.call(libc(module, "munmap"), [base, reserved])
            b.ret(I32T(1))
    b.store(base, field_ptr(b, record, MemoryRecord.BASE.offset))
    b.ret(I32T(0))
    return fn


def emit_memory_free(module: ir.Module) -> ir.Function:
    """``void memory_free(MemoryRecord*)``: release the memory's range (null-safe, for a
    memory whose creation failed)."""
    fn, b = _internal(module, MEMORY_FREE, ir.VoidType(), [PTR])
    record, = fn.args
    base = b.load(field_ptr(b, record, MemoryRecord.BASE.offset), typ=PTR)
    with b.if_then(b.icmp_unsigned("!=", base, PTR(None))):
        b.call(libc(module, "munmap"), [base, _reserved_bytes(b, record)])
    b.ret_void()
    return fn


def emit_memory_grow(module: ir.Module) -> ir.Function:
    """``i32 memory_grow(StoreState*, MemoryRecord*, i32 delta)``: old size in pages, or
    -1."""
    fn, b = _internal(module, MEMORY_GROW, I32T, [PTR, PTR, I32T])
    store, record, delta = fn.args
    size_ptr = field_ptr(b, record, MemoryRecord.SIZE.offset)
    size = b.load(size_ptr, typ=I64T)
    old_pages = b.lshr(size, I64T(16))
    new_pages = b.add(old_pages, b.zext(delta, I64T))
    new_size = b.mul(new_pages, I64T(PAGE_SIZE))
    max_pages = b.load(field_ptr(b, record, MemoryRecord.MAX_PAGES.offset), typ=I64T)
    limit = b.load(field_ptr(b, store, StoreState.MEMORY_LIMIT.offset), typ=I64T)
    refused = b.or_(b.icmp_unsigned(">", new_pages, max_pages), b.icmp_unsigned(">", new_size, limit))
    with b.if_then(refused):
        b.ret(I32T(-1))
    with b.if_then(b.icmp_unsigned("!=", delta, I32T(0))):
        base = b.load(field_ptr(b, record, MemoryRecord.BASE.offset), typ=PTR)
        opened = b.call(libc(module, "mprotect"), [b.gep(base, [size], source_etype=I8),
                                                   b.sub(new_size, size), I32T(PROT_READ_WRITE)])
        with b.if_then(b.icmp_signed("!=", opened, I32T(0))):
            b.ret(I32T(-1))
        b.store(new_size, size_ptr)
    b.ret(b.trunc(old_pages, I32T))
    return fn


def emit_table_grow(module: ir.Module) -> ir.Function:
    """``i32 table_grow(StoreState*, TableRecord*, ref init, i32 delta)``: old length, or
    -1."""
    fn, b = _internal(module, TABLE_GROW, I32T, [PTR, PTR, PTR, I32T])
    store, record, init, delta = fn.args
    elems_ptr, size_ptr = field_ptr(b, record, TableRecord.ELEMS.offset), field_ptr(b, record, TableRecord.SIZE.offset)
    size = b.load(size_ptr, typ=I64T)
    new_size = b.add(size, b.zext(delta, I64T))
    maximum = b.load(field_ptr(b, record, TableRecord.MAX.offset), typ=I64T)
    limit = b.load(field_ptr(b, store, StoreState.TABLE_LIMIT.offset), typ=I64T)
    with b.if_then(b.or_(b.icmp_unsigned(">", new_size, maximum), b.icmp_unsigned(">", new_size, limit))):
        b.ret(I32T(-1))
    # realloc(p, 0) may free; keep at least one slot allocated.
    nbytes = b.mul(b.add(new_size, I64T(1)), I64T(8))
    elems = b.call(libc(module, "realloc"), [b.load(elems_ptr, typ=PTR), nbytes])
    with b.if_then(b.icmp_unsigned("==", elems, PTR(None))):
        b.ret(I32T(-1))
    b.store(elems, elems_ptr)
    b.store(new_size, size_ptr)
    b.call(table_fill(module), [record, b.trunc(size, I32T), init, delta])
    b.ret(b.trunc(size, I32T))
    return fn


def table_fill(module: ir.Module) -> ir.Function:
    """``void table_fill(TableRecord*, i32 start, ref value, i32 n)`` (range pre-checked)."""
    existing = module.globals.get(TABLE_FILL)
    if existing is not None:
        return existing
    fn, b = _internal(module, TABLE_FILL, ir.VoidType(), [PTR, I32T, PTR, I32T])
    record, start, value, n = fn.args
    entry = b.block
    loop, body, done = (fn.append_basic_block(n_) for n_ in ("loop", "body", "done"))
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


HELPERS = {"memory_new": emit_memory_new, "memory_grow": emit_memory_grow,
           "memory_free": emit_memory_free, "table_grow": emit_table_grow, "table_fill": table_fill}


def export_helpers(module: ir.Module) -> list[str]:
    """Define every helper of :data:`HELPERS` in ``module``, exported under its ``rt_``
    symbol, for the engine to load (see :class:`~engine.runtime.engine.Engine`); their
    symbols."""
    exported = {emit(module).name: emit for emit in HELPERS.values()}
    for name in exported:
        module.globals[name].linkage = ""
    return list(exported)


__all__ = ["HELPERS", "MEMORY_FREE", "MEMORY_GROW", "MEMORY_NEW", "TABLE_FILL", "TABLE_GROW",
           "export_helpers", "libc"]
