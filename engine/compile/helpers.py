"""Run-time helpers for memories and tables, emitted as IR.

They use only libc (``mmap``, ``mprotect``, ``munmap``, ``realloc``, ``malloc``,
``calloc``, ``free``) and LLVM's memory intrinsics, so they serve any target.  They are
compiled once per engine, with the exception collector, into the *store runtime*
(:func:`export_helpers`; ``engine/runtime/engine.py``, and for an emulated target
``engine/emulated/engine.py``), never into a module: the store state holds their
addresses (:data:`STATE_POINTERS`) and compiled code calls them through it, with the
C calling convention and the types of :data:`TYPES`, as Python calls them to create and
grow memories and tables -- the very same code.

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

from collections.abc import Callable

import llvmlite.ir as ir

from .layout import PAGE_SIZE, MemoryRecord, StoreState, TableRecord
from .target import MAP_RESERVE, PROT_NONE, PROT_READ_WRITE
from .types import I8, I32T, I64T, PTR, declare, field_ptr

MEMORY_NEW = "rt_memory_new"
MEMORY_GROW = "rt_memory_grow"
MEMORY_FREE = "rt_memory_free"
TABLE_GROW = "rt_table_grow"
TABLE_FILL = "rt_table_fill"

TYPES = {
    MEMORY_NEW: ir.FunctionType(I32T, [PTR]),
    MEMORY_GROW: ir.FunctionType(I32T, [PTR, PTR, I32T]),
    MEMORY_FREE: ir.FunctionType(ir.VoidType(), [PTR]),
    TABLE_GROW: ir.FunctionType(I32T, [PTR, PTR, PTR, I32T]),
    TABLE_FILL: ir.FunctionType(ir.VoidType(), [PTR, I32T, PTR, I32T]),
}
"""Each helper's type (the documentation of each emitter gives its C prototype)."""
STATE_POINTERS = {StoreState.MEMORY_NEW: MEMORY_NEW, StoreState.MEMORY_GROW: MEMORY_GROW,
                  StoreState.MEMORY_FREE: MEMORY_FREE, StoreState.TABLE_GROW: TABLE_GROW,
                  StoreState.TABLE_FILL: TABLE_FILL}
"""The store-state field holding each helper's address."""


def load_field(b: ir.IRBuilder, base: ir.Value, offset: int, typ: ir.Type = I64T) -> ir.Value:
    """The field at byte ``offset`` of the record at ``base``."""
    return b.load(field_ptr(b, base, offset), typ=typ)


def store_field(b: ir.IRBuilder, value: ir.Value, base: ir.Value, offset: int) -> None:
    b.store(value, field_ptr(b, base, offset))


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
    if sigs[name].return_type == int_:
        fn.return_value.add_attribute("signext")
    return fn


def for_range(b: ir.IRBuilder, n: ir.Value, body: Callable[[ir.Value], None], name: str) -> None:
    """Emit ``for (i = 0; i < n; i++) body(i)``; the builder is left after the loop."""
    fn = b.function
    head = fn.append_basic_block(f"{name}.head")
    loop = fn.append_basic_block(f"{name}.body")
    done = fn.append_basic_block(f"{name}.done")
    before = b.block
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64T)
    i.add_incoming(I64T(0), before)
    b.cbranch(b.icmp_unsigned("<", i, n), loop, done)
    b.position_at_end(loop)
    body(i)
    i.add_incoming(b.add(i, I64T(1)), b.block)
    b.branch(head)
    b.position_at_end(done)


def _define(module: ir.Module, name: str) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, TYPES[name], name)
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
    fn, b = _define(module, MEMORY_NEW)
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
    fn, b = _define(module, MEMORY_FREE)
    record, = fn.args
    base = b.load(field_ptr(b, record, MemoryRecord.BASE.offset), typ=PTR)
    with b.if_then(b.icmp_unsigned("!=", base, PTR(None))):
        b.call(libc(module, "munmap"), [base, _reserved_bytes(b, record)])
    b.ret_void()
    return fn


def emit_memory_grow(module: ir.Module) -> ir.Function:
    """``i32 memory_grow(StoreState*, MemoryRecord*, i32 delta)``: old size in pages, or
    -1."""
    fn, b = _define(module, MEMORY_GROW)
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
    fn, b = _define(module, TABLE_GROW)
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
    fn, b = _define(module, TABLE_FILL)
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


def export_helpers(module: ir.Module) -> list[str]:
    """Define every helper in ``module`` (the store runtime's), exported under its
    ``rt_`` symbol; their symbols."""
    for emit in (emit_memory_new, emit_memory_grow, emit_memory_free, emit_table_grow, table_fill):
        emit(module)
    return list(TYPES)


__all__ = ["MEMORY_FREE", "MEMORY_GROW", "MEMORY_NEW", "STATE_POINTERS", "TABLE_FILL", "TABLE_GROW", "TYPES",
           "export_helpers", "for_range", "libc", "load_field", "store_field"]
