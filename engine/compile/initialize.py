"""Instantiation as data: a module's *initialization program*, and ``rt_initialize``,
the store runtime's interpreter of it.

What instantiating a module does once its imports are bound is the same steps for
every module, with different operands: allocate the records and cells it defines
(``rt_instantiate``, ``setup.py``), register the roots of its exnref globals and
tables, evaluate each global's initialiser, build the element segments from their
items' constant expressions, apply the active segments (``table.init``/``memory.init``
semantics: out of bounds traps) and drop them, and call the start function.  Compiled
into every module, those steps made a sixth of a generated module's IR (one function,
about a hundred instructions) and 0.3 ms of its translation in Python, some 0.9 ms of
every fuzz case with LLVM's share.  So a module carries them as data -- a constant
array of 8-byte words, which :attr:`~engine.compile.layout.ModuleShape.INIT` points at
-- and ``rt_initialize``, compiled once per process and target, runs them.

Python calls ``rt_initialize(vmctx)`` like any wasm function of type ``[] -> []``,
once it has put the module's shape in :attr:`~engine.compile.layout.VMContext.SHAPE`.
It returns a status as wasm functions do: a trap stores its code in the store state
and returns 1 (the trap codes are those the compiled instructions raise), and a start
function's non-zero status is returned as it is.

The program: a header of three words -- the value stack it needs, the element and the
data segment counts (``rt_initialize`` allocates the segment arrays first) -- then
operations, each an :class:`Op` followed by its operands.  Constant expressions
(``i32.const``... ``ref.func``, ``global.get``, extended-const ``add``/``sub``/``mul``)
run on a value stack of slots, the values being slots as in globals' cells; the other
operations pop what they consume.  Planted faults (``engine/compile/faults.py``) change
the program a module gets, never the interpreter.
"""
from __future__ import annotations

import enum
from collections.abc import Callable

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import Instr
from ..syntax.module import Module, SegmentMode
from ..syntax.types import HeapType, RefType, ValType
from . import collector, faults
from .helpers import libc, load_field, store_field
from .layout import (SLOT, FuncRecord, MemoryRecord, ModuleShape, RootKind, Segment, StoreState, TableRecord,
                     TagRecord, UnwindKind, VMContext)
from .types import I1, I32T, I64T, PTR, callable_pointer, declare

INITIALIZE = "rt_initialize"
STATUS = ir.LiteralStructType([I32T])
"""``rt_initialize``'s result type: a wasm function's with no results."""


class Op(enum.IntEnum):
    """An operation of the program, and (in its comment) its operands."""

    END = 0
    CONST = 1            # slot: push it
    GLOBAL_GET = 2       # global index: push its cell's slot
    REF_FUNC = 3         # function index: push its record's address
    I32_ADD = 4          # pop b, a; push a op b (32 bits for I32_*)
    I32_SUB = 5
    I32_MUL = 6
    I64_ADD = 7
    I64_SUB = 8
    I64_MUL = 9
    SET_GLOBAL = 10      # global index: pop the initial value into its cell
    ROOT = 11            # RootKind, instance-context field's offset, index: register the entry as a root
    ELEM = 12            # segment index, item count: allocate the segment's items
    ITEM = 13            # segment index, item index: pop the item
    TABLE_INIT = 14      # segment index, table index: pop the offset; copy the whole segment
    DROP_ELEM = 15       # segment index
    DATA = 16            # segment index, bytes' address, length
    MEMORY_INIT = 17     # segment index: pop the offset; copy the whole segment
    DROP_DATA = 18       # segment index
    START = 19           # function index: call it
    SHARE_TAGS = 20      # planted fault shared_tag_records: cell's address, defined tags, imported tags


_OPERANDS = {Op.CONST: 1, Op.GLOBAL_GET: 1, Op.REF_FUNC: 1, Op.SET_GLOBAL: 1, Op.ROOT: 3, Op.ELEM: 2,
             Op.ITEM: 2, Op.TABLE_INIT: 2, Op.DROP_ELEM: 1, Op.DATA: 3, Op.MEMORY_INIT: 1, Op.DROP_DATA: 1,
             Op.START: 1, Op.SHARE_TAGS: 3}
_ARITHMETIC = {"i32.add": Op.I32_ADD, "i32.sub": Op.I32_SUB, "i32.mul": Op.I32_MUL,
               "i64.add": Op.I64_ADD, "i64.sub": Op.I64_SUB, "i64.mul": Op.I64_MUL}
_WIDTH = {"i32.const": 0xFFFF_FFFF, "i64.const": 0xFFFF_FFFF_FFFF_FFFF, "f32.const": 0xFFFF_FFFF,
          "f64.const": 0xFFFF_FFFF_FFFF_FFFF}


def _holds_exnref(t: ValType) -> bool:
    return isinstance(t, RefType) and t.heap in (HeapType.EXN, HeapType.NOEXN)


class Program:
    """A module's initialization program, as the words of an ``[N x i64]`` constant
    (numbers, or the text of a constant expression for an address)."""

    def __init__(self) -> None:
        self.ops: list[int | str] = []
        self.depth = 0
        self.max_depth = 0

    def emit(self, op: Op, *operands: int | str) -> None:
        self.ops += [int(op), *operands]

    def expr(self, expr: list[Instr]) -> None:
        """A constant expression: leaves one slot on the value stack."""
        for ins in expr:
            op = ins.op
            if op in _WIDTH:
                self.emit(Op.CONST, ins.imm[0] & _WIDTH[op])
                self.depth += 1
            elif op == "ref.null":
                self.emit(Op.CONST, 0)
                self.depth += 1
            elif op == "ref.func":
                self.emit(Op.REF_FUNC, ins.imm[0])
                self.depth += 1
            elif op == "global.get":
                self.emit(Op.GLOBAL_GET, ins.imm[0])
                self.depth += 1
            else:
                self.emit(_ARITHMETIC[op])
                self.depth -= 1
            self.max_depth = max(self.max_depth, self.depth)
        self.depth -= 1

    def words(self, elem_segments: int, data_segments: int) -> list[int | str]:
        return [self.max_depth, elem_segments, data_segments, *self.ops, int(Op.END)]


def program(m: Module, imported: dict[VMContext, int], data: Callable[[int], str], opt_level: int,
            first_tags: Callable[[], str]) -> list[int | str]:
    """The initialization program of ``m`` (validated), whose index spaces start with
    ``imported`` entries; ``data(i)`` is the address expression of data segment ``i``'s
    bytes, ``first_tags()`` that of a mutable cell for the planted fault
    ``shared_tag_records``."""
    p = Program()
    if m.tags and faults.on("shared_tag_records", opt_level):
        p.emit(Op.SHARE_TAGS, first_tags(), len(m.tags), imported[VMContext.TAGS])
    for i, g in enumerate(m.globals):
        if _holds_exnref(g.type.type):
            p.emit(Op.ROOT, int(RootKind.CELL), VMContext.GLOBALS.offset, imported[VMContext.GLOBALS] + i)
    if not faults.on("exnref_tables_unrooted", opt_level):
        for i, t in enumerate(m.tables):
            if _holds_exnref(t.type.elem):
                p.emit(Op.ROOT, int(RootKind.TABLE), VMContext.TABLES.offset, imported[VMContext.TABLES] + i)
    for i, g in enumerate(m.globals):
        p.expr(g.init)
        p.emit(Op.SET_GLOBAL, imported[VMContext.GLOBALS] + i)
    for i, e in enumerate(m.elems):
        p.emit(Op.ELEM, i, len(e.init))
        for j, item in enumerate(e.init):
            p.expr(item)
            p.emit(Op.ITEM, i, j)
        if e.mode is SegmentMode.ACTIVE:
            p.expr(e.offset or [])
            p.emit(Op.TABLE_INIT, i, e.table)
        if e.mode is not SegmentMode.PASSIVE:
            p.emit(Op.DROP_ELEM, i)
    for i, d in enumerate(m.datas):
        p.emit(Op.DATA, i, data(i), len(d.init))
        if d.mode is SegmentMode.ACTIVE:
            p.expr(d.offset or [])
            p.emit(Op.MEMORY_INIT, i)
            p.emit(Op.DROP_DATA, i)
    if m.start is not None:
        p.emit(Op.START, m.start)
    return p.words(len(m.elems), len(m.datas))


def emit_initialize(module: ir.Module, instantiate: ir.Function) -> ir.Function:
    """``rt_initialize`` in ``module`` (the store runtime), which calls ``instantiate``
    (``rt_instantiate``) first."""
    fn = ir.Function(module, ir.FunctionType(STATUS, [PTR]), INITIALIZE)
    fn.calling_convention = "tailcc"
    vmctx, = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    calloc = libc(module, "calloc")
    memmove = declare(module, "llvm.memmove.p0.p0.i64", ir.FunctionType(ir.VoidType(), [PTR, PTR, I64T, I1]))
    root_add = module.get_global(collector.ROOT_ADD)
    status_var, stack_var, pc_var, sp_var, k_var = (b.alloca(t) for t in (I32T, PTR, I64T, I64T, I64T))
    b.store(PTR(None), stack_var)
    store = load_field(b, vmctx, VMContext.STORE.offset, PTR)
    shape = load_field(b, vmctx, VMContext.SHAPE.offset, PTR)

    # Every way out frees the value stack and returns the status.
    done = fn.append_basic_block("done")
    with b.goto_block(done):
        b.call(libc(module, "free"), [b.load(stack_var)])
        b.ret(b.insert_value(ir.Constant(STATUS, ir.Undefined), b.load(status_var), 0))

    def leave(status: ir.Value) -> None:
        b.store(status, status_var)
        b.branch(done)

    traps: dict[TrapCode, ir.Block] = {}

    def trap_if(cond: ir.Value, code: TrapCode) -> None:
        if code not in traps:
            traps[code] = fn.append_basic_block(f"trap_{code.name.lower()}")
            with b.goto_block(traps[code]):
                store_field(b, I64T(UnwindKind.TRAP), store, StoreState.UNWIND.offset)
                store_field(b, I64T(code), store, StoreState.TRAP_CODE.offset)
                leave(I32T(1))
        ok = fn.append_basic_block("ok")
        b.cbranch(cond, traps[code], ok)
        b.position_at_end(ok)

    def allocate(count: ir.Value, size: int) -> ir.Value:
        pointer = b.call(calloc, [count, I64T(size)])
        trap_if(b.icmp_unsigned("==", pointer, PTR(None)), TrapCode.ALLOCATION_TOO_LARGE)
        return pointer

    trap_if(b.icmp_unsigned("!=", b.call(instantiate, [vmctx, shape]), I32T(0)), TrapCode.ALLOCATION_TOO_LARGE)
    words = load_field(b, shape, ModuleShape.INIT.offset, PTR)

    def word(index: ir.Value) -> ir.Value:
        return b.load(b.gep(words, [index], source_etype=I64T), typ=I64T)

    b.store(allocate(b.add(word(I64T(0)), I64T(1)), SLOT), stack_var)
    for header, field in ((1, VMContext.ELEM_SEGMENTS), (2, VMContext.DATA_SEGMENTS)):
        count = word(I64T(header))
        with b.if_then(b.icmp_unsigned("!=", count, I64T(0))):
            store_field(b, allocate(count, Segment.size()), vmctx, field.offset)
    b.store(I64T(3), pc_var)
    b.store(I64T(0), sp_var)
    loop = fn.append_basic_block("loop")
    b.branch(loop)
    b.position_at_end(loop)
    pc = b.load(pc_var)
    end = fn.append_basic_block("end")
    switch = b.switch(word(pc), end)

    def operand(k: int) -> ir.Value:
        return word(b.add(pc, I64T(k)))

    def push(value: ir.Value) -> None:
        sp = b.load(sp_var)
        b.store(value, b.gep(b.load(stack_var), [sp], source_etype=I64T))
        b.store(b.add(sp, I64T(1)), sp_var)

    def pop() -> ir.Value:
        sp = b.sub(b.load(sp_var), I64T(1))
        b.store(sp, sp_var)
        return b.load(b.gep(b.load(stack_var), [sp], source_etype=I64T), typ=I64T)

    def entry(field: VMContext, index: ir.Value) -> ir.Value:
        """Entry ``index`` of the index-space array ``field``."""
        return b.load(b.gep(load_field(b, vmctx, field.offset, PTR), [index], source_etype=I64T), typ=PTR)

    def segment(field: VMContext, index: ir.Value) -> ir.Value:
        return b.gep(load_field(b, vmctx, field.offset, PTR), [b.mul(index, I64T(len(Segment)))], source_etype=I64T)

    def init(field: VMContext, index: ir.Value, size: ir.Value, base: ir.Value, scale: int,
             code: TrapCode) -> None:
        """Copy the whole segment ``index`` of ``field`` to ``base`` at the popped offset
        (in ``scale``-byte units), trapping with ``code`` unless it fits in ``size``."""
        offset = pop()
        seg = segment(field, index)
        length = load_field(b, seg, Segment.LENGTH.offset)
        trap_if(b.icmp_unsigned(">", b.add(offset, length), size), code)
        target = b.gep(base, [b.mul(offset, I64T(scale))], source_etype=ir.IntType(8))
        b.call(memmove, [target, load_field(b, seg, Segment.DATA.offset, PTR), b.mul(length, I64T(scale)), I1(0)])

    def arithmetic(op: str, mask: int) -> Callable[[], None]:
        def run() -> None:
            y, x = pop(), pop()
            push(b.and_(getattr(b, op)(x, y), I64T(mask)))
        return run

    def share_tags() -> None:
        cell = b.inttoptr(operand(1), PTR)
        region = b.gep(load_field(b, vmctx, VMContext.OWNED.offset, PTR), [load_field(b, shape, ModuleShape.TAGS_AT.offset)],
                       source_etype=ir.IntType(8))
        first = b.load(cell, typ=PTR)
        with b.if_then(b.icmp_unsigned("==", first, PTR(None))):
            b.store(region, cell)
        first = b.load(cell, typ=PTR)
        tags = b.gep(load_field(b, vmctx, VMContext.TAGS.offset, PTR), [operand(3)], source_etype=I64T)
        count = operand(2)
        each = fn.append_basic_block("share.each")
        after = fn.append_basic_block("share.done")
        b.store(I64T(0), k_var)
        b.branch(each)
        b.position_at_end(each)
        k = b.load(k_var)
        with b.if_then(b.icmp_unsigned("<", k, count)):
            record = b.gep(first, [b.mul(k, I64T(len(TagRecord)))], source_etype=I64T)
            b.store(record, b.gep(tags, [k], source_etype=I64T))
            b.store(b.add(k, I64T(1)), k_var)
            b.branch(each)
        b.branch(after)
        b.position_at_end(after)

    def start() -> None:
        record = entry(VMContext.FUNCS, operand(1))
        code = load_field(b, record, FuncRecord.CODE.offset, PTR)
        callee = callable_pointer(b, code, ir.FunctionType(STATUS, [PTR]))
        result = b.call(callee, [load_field(b, record, FuncRecord.VMCTX.offset, PTR)], cconv="tailcc")
        status = b.extract_value(result, 0)
        failed, ok = fn.append_basic_block("start.failed"), fn.append_basic_block("start.ok")
        b.cbranch(b.icmp_unsigned("!=", status, I32T(0)), failed, ok)
        with b.goto_block(failed):
            leave(status)
        b.position_at_end(ok)

    def entry_of_field(offset: ir.Value, index: ir.Value) -> ir.Value:
        """Entry ``index`` of the array at byte ``offset`` of the instance context."""
        array = b.load(b.gep(vmctx, [offset], source_etype=ir.IntType(8)), typ=PTR)
        return b.load(b.gep(array, [index], source_etype=I64T), typ=PTR)

    def elem() -> None:
        seg = segment(VMContext.ELEM_SEGMENTS, operand(1))
        count = operand(2)
        store_field(b, allocate(b.add(count, I64T(1)), SLOT), seg, Segment.DATA.offset)
        store_field(b, count, seg, Segment.LENGTH.offset)

    def table_init() -> None:
        record = entry(VMContext.TABLES, operand(2))
        init(VMContext.ELEM_SEGMENTS, operand(1), load_field(b, record, TableRecord.SIZE.offset),
             load_field(b, record, TableRecord.ELEMS.offset, PTR), SLOT, TrapCode.TABLE_OUT_OF_BOUNDS)

    def data() -> None:
        seg = segment(VMContext.DATA_SEGMENTS, operand(1))
        store_field(b, b.inttoptr(operand(2), PTR), seg, Segment.DATA.offset)
        store_field(b, operand(3), seg, Segment.LENGTH.offset)

    def memory_init() -> None:
        record = load_field(b, vmctx, VMContext.MEMORY.offset, PTR)
        init(VMContext.DATA_SEGMENTS, operand(1), load_field(b, record, MemoryRecord.SIZE.offset),
             load_field(b, record, MemoryRecord.BASE.offset, PTR), 1, TrapCode.MEMORY_OUT_OF_BOUNDS)

    handlers: dict[Op, Callable[[], None]] = {
        Op.CONST: lambda: push(operand(1)),
        Op.GLOBAL_GET: lambda: push(b.load(entry(VMContext.GLOBALS, operand(1)), typ=I64T)),
        Op.REF_FUNC: lambda: push(b.ptrtoint(entry(VMContext.FUNCS, operand(1)), I64T)),
        Op.I32_ADD: arithmetic("add", 0xFFFF_FFFF), Op.I32_SUB: arithmetic("sub", 0xFFFF_FFFF),
        Op.I32_MUL: arithmetic("mul", 0xFFFF_FFFF), Op.I64_ADD: arithmetic("add", 2**64 - 1),
        Op.I64_SUB: arithmetic("sub", 2**64 - 1), Op.I64_MUL: arithmetic("mul", 2**64 - 1),
        Op.SET_GLOBAL: lambda: b.store(pop(), entry(VMContext.GLOBALS, operand(1))),
        Op.ROOT: lambda: b.call(root_add, [store, operand(1), entry_of_field(operand(2), operand(3))]),
        Op.ELEM: elem,
        Op.ITEM: lambda: b.store(pop(), b.gep(load_field(b, segment(VMContext.ELEM_SEGMENTS, operand(1)),
                                                      Segment.DATA.offset, PTR), [operand(2)], source_etype=I64T)),
        Op.TABLE_INIT: table_init,
        Op.DROP_ELEM: lambda: store_field(b, I64T(0), segment(VMContext.ELEM_SEGMENTS, operand(1)),
                                     Segment.LENGTH.offset),
        Op.DATA: data,
        Op.MEMORY_INIT: memory_init,
        Op.DROP_DATA: lambda: store_field(b, I64T(0), segment(VMContext.DATA_SEGMENTS, operand(1)),
                                     Segment.LENGTH.offset),
        Op.START: start,
        Op.SHARE_TAGS: share_tags,
    }

    for op, handler in handlers.items():
        block = fn.append_basic_block(op.name.lower())
        switch.add_case(I64T(int(op)), block)
        b.position_at_end(block)
        handler()
        b.store(b.add(pc, I64T(1 + _OPERANDS.get(op, 0))), pc_var)
        b.branch(loop)
    b.position_at_end(end)
    leave(I32T(0))
    return fn


__all__ = ["INITIALIZE", "Op", "Program", "emit_initialize", "program"]
