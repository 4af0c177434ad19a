"""Compile a validated module to an LLVM IR module.

The IR module exports one symbol, with the wasm calling convention:
``instantiate_N(vmctx)`` (N different for each module compiled in the process, whose
code may share an execution engine: see ``jit.py``), the module's whole instantiation
work as compiled code.  It
first has the store runtime's ``rt_instantiate`` (``setup.py``) allocate the records
of the defined functions, tables, memory and tags and the defined globals' cells (one
block, see :class:`OwnedBlock`), described by a constant :class:`ModuleShape
<engine.compile.layout.ModuleShape>`; then it registers roots, evaluates global
initialisers and element items, applies active segments (trapping when out of
bounds) and drops them, and runs the start function.  The Python runtime only
allocates the :class:`~engine.compile.layout.VMContext` and its index-space arrays and
binds the imports before calling it, and frees the instance with the store runtime's
``rt_release``.  ``instantiate`` stays about the same size however many functions,
tables, tags and globals the module defines.

Wasm functions themselves are internal: they are reached through the function
records ``instantiate`` fills in, so LLVM may inline and specialise freely.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import Instr
from . import faults
from ..syntax.module import Module, SegmentMode
from ..syntax.types import ExternKind, FuncType, GlobalType, HeapType, RefType, TagType, ValType
from .function import FunctionTranslator
from .helpers import libc
from .irtext import Function, GlobalVariable, Instruction, IRBuilder, Metadata, Value, bytes_constant
from . import irtext
from .layout import (MAX_PAGES, PAGE_SIZE, SLOT, FuncRecord, MemoryRecord, ModuleShape, RootKind, Segment,
                     StoreState, TableRecord, TagRecord, VMContext)
from .target import Target
from .callconv import NO_UNWIND, WASM_CC, Signature, signature
from .types import I64T, NULL, PTR, callable_pointer, declare, field_ptr, i32, i64

INSTANTIATE = "instantiate"
_compiled = itertools.count()
_NO_TABLE_MAX = 0xFFFF_FFFF
ROOT_ADD = ir.FunctionType(ir.VoidType(), [PTR, I64T, PTR])
"""``void root_add(StoreState*, i64 kind, void* address)``."""
_INDEX_SPACES = {VMContext.FUNCS: ExternKind.FUNC, VMContext.TABLES: ExternKind.TABLE,
                 VMContext.TAGS: ExternKind.TAG, VMContext.GLOBALS: ExternKind.GLOBAL}
"""The instance context's index-space arrays (imports first) and their kinds."""


def _holds_exnref(t: ValType) -> bool:
    return isinstance(t, RefType) and t.heap in (HeapType.EXN, HeapType.NOEXN)


@dataclass(frozen=True)
class CompileOptions:
    """Code generation knobs (the public ``Config`` maps onto these)."""

    opt_level: int = 2
    fuel: bool = False
    epoch_interruption: bool = False
    count_events: bool = False
    canonicalize_nans: bool = False


def _for_each(b: IRBuilder, n: int, body: Callable[[Value], None]) -> None:
    """Emit ``body(k)`` for ``k`` from 0 to ``n - 1`` (``n >= 1``, known when compiling)
    as one loop; the builder is left after it."""
    before = b.block
    loop = b.function.append_basic_block("each")
    done = b.function.append_basic_block("each.done")
    b.branch(loop)
    b.position_at_end(loop)
    k = b.phi(I64T)
    k.add_incoming(i64(0), before)
    body(k)
    following = b.add(k, i64(1))
    k.add_incoming(following, b.block)
    b.cbranch(b.icmp_unsigned("<", following, i64(n)), loop, done)
    b.position_at_end(done)


_Record = FuncRecord | TableRecord | MemoryRecord | TagRecord


def _record(layout: type[_Record], fields: dict[_Record, Value | ir.Constant]) -> list[Value | ir.Constant]:
    """A record's compile-time contents, in its layout's order."""
    return [fields[field] for field in layout]


class OwnedBlock:
    """The one allocation instantiation makes for the module's defined entities: the
    function records, the table records, the memory's record, the tag records and, last,
    the global cells, each kind an array.  Its address goes in
    :attr:`~engine.compile.layout.VMContext.OWNED` and ``rt_release`` frees it whole.

    Only compiled code knows this layout (its shape says where each kind begins): the
    runtime reaches every record through the index-space arrays, as it does imported
    ones, and never frees one on its own.  Each record still has an address of its own,
    so a defined tag's record identifies the tag in its instance alone.
    :attr:`template` holds what is known when compiling (code pointers, type indices,
    limits) for all but the cells, which start zeroed."""

    KINDS = (VMContext.FUNCS, VMContext.TABLES, VMContext.MEMORY, VMContext.TAGS, VMContext.GLOBALS)

    def __init__(self, mc: ModuleCompiler) -> None:
        m = mc.module
        functions = mc.functions[mc.n_imported_funcs:]
        records = {
            VMContext.FUNCS: [_record(FuncRecord, {
                FuncRecord.CODE: fn, FuncRecord.VMCTX: NULL, FuncRecord.TYPE_ID: i64(f.type_idx),
            }) for fn, f in zip(functions, m.funcs)],
            VMContext.TABLES: [_record(TableRecord, {
                TableRecord.ELEMS: NULL, TableRecord.SIZE: i64(t.type.limits.min),
                TableRecord.MAX: i64(_NO_TABLE_MAX if t.type.limits.max is None else t.type.limits.max),
            }) for t in m.tables],
            VMContext.MEMORY: [_record(MemoryRecord, {
                MemoryRecord.BASE: NULL, MemoryRecord.SIZE: i64(mem.type.limits.min * PAGE_SIZE),
                MemoryRecord.MAX_PAGES: i64(MAX_PAGES if mem.type.limits.max is None
                                             else mem.type.limits.max),
            }) for mem in m.mems],
            VMContext.TAGS: [_record(TagRecord, {TagRecord.TYPE_ID: i64(tag.type.type_idx)})
                             for tag in m.tags],
        }
        self.slots = {VMContext.FUNCS: len(FuncRecord), VMContext.TABLES: len(TableRecord),
                      VMContext.MEMORY: len(MemoryRecord), VMContext.TAGS: len(TagRecord),
                      VMContext.GLOBALS: 1}
        self.count = {kind: len(records[kind]) for kind in records} | {VMContext.GLOBALS: len(m.globals)}
        self.start: dict[VMContext, int] = {}
        self.size = 0
        for kind in self.KINDS:
            self.start[kind] = self.size
            self.size += SLOT * self.slots[kind] * self.count[kind]
        # The cells come last, so the template covers everything before them.
        self.template = [value for kind in self.KINDS[:-1] for record in records[kind] for value in record]

    def region(self, b: IRBuilder, block: Value, kind: VMContext) -> Value:
        """The array of ``kind``'s records (or cells) in ``block``."""
        return field_ptr(b, block, self.start[kind])

    def record(self, b: IRBuilder, region: Value, kind: VMContext, k: Value) -> Value:
        """Record ``k`` of ``kind``'s ``region``."""
        return b.gep(region, [k], source_etype=ir.ArrayType(I64T, self.slots[kind]))

    def address(self, b: IRBuilder, block: Value, kind: VMContext, k: int) -> Value:
        """Record ``k`` of ``kind`` in ``block``, ``k`` known when compiling."""
        return field_ptr(b, block, self.start[kind] + SLOT * self.slots[kind] * k)

    def shape_constant(self, module: irtext.Module, imported: dict[VMContext, int],
                       elem_segments: int) -> GlobalVariable:
        """The module's :class:`~engine.compile.layout.ModuleShape` as an internal constant
        of ``module``, ``imported`` entries in each index space."""
        fields = [f"{'ptr' if isinstance(v.type, ir.PointerType) else 'i64'} {v.get_reference()}"
                  for v in self.template]
        types = ", ".join(field.split(" ", 1)[0] for field in fields)
        template = GlobalVariable(module, "owned_template", f"{{{types}}}", f"{{{', '.join(fields)}}}")
        kind = VMContext
        values = {
            ModuleShape.TEMPLATE_BYTES: SLOT * len(self.template), ModuleShape.OWNED_BYTES: self.size,
            ModuleShape.FUNCS: self.count[kind.FUNCS],
            ModuleShape.TABLES: self.count[kind.TABLES], ModuleShape.TABLES_AT: self.start[kind.TABLES],
            ModuleShape.MEMORIES: self.count[kind.MEMORY], ModuleShape.MEMORY_AT: self.start[kind.MEMORY],
            ModuleShape.TAGS: self.count[kind.TAGS], ModuleShape.TAGS_AT: self.start[kind.TAGS],
            ModuleShape.GLOBALS: self.count[kind.GLOBALS], ModuleShape.GLOBALS_AT: self.start[kind.GLOBALS],
            ModuleShape.IMPORTED_FUNCS: imported[kind.FUNCS], ModuleShape.IMPORTED_TABLES: imported[kind.TABLES],
            ModuleShape.IMPORTED_TAGS: imported[kind.TAGS], ModuleShape.IMPORTED_GLOBALS: imported[kind.GLOBALS],
            ModuleShape.ELEM_SEGMENTS: elem_segments,
        }
        numbers = ", ".join(f"i64 {values[field]}" for field in ModuleShape if field is not ModuleShape.TEMPLATE)
        return GlobalVariable(module, "shape", f"{{ptr{', i64' * (len(ModuleShape) - 1)}}}",
                              f"{{ptr {template.ref}, {numbers}}}")


class ModuleCompiler:
    def __init__(self, module: Module, target: Target, options: CompileOptions) -> None:
        self.module = module
        self.target = target
        self.options = options
        self.ir_module = irtext.Module(name="wasm")
        self.instantiate_symbol = f"{INSTANTIATE}_{next(_compiled)}"
        self.ir_module.triple = target.triple
        self.ir_module.data_layout = target.data_layout
        self.func_types: list[FuncType] = module.func_types()
        self.global_types: list[GlobalType] = module.global_types()
        self.tag_types: list[TagType] = module.tag_types()
        self.n_imported_funcs = len(module.imported(ExternKind.FUNC))
        self.functions: list[Function | None] = [None] * self.n_imported_funcs
        for i, f in enumerate(module.funcs):
            fn = Function(self.ir_module, self.signature(module.types[f.type_idx]).function_type,
                             f"wasm_func_{self.n_imported_funcs + i}")
            fn.calling_convention = WASM_CC
            fn.linkage = "internal"
            fn.attributes.add(NO_UNWIND)
            self.functions.append(fn)
        self.owned = OwnedBlock(self)
        self.unlikely_weights = self.ir_module.add_metadata(["branch_weights", i32(1), i32(2000)])
        # Type-based alias tags: linear memory never overlaps the engine's records, so
        # stores to memory do not force reloading a memory's base and size in loops.
        # Only optimisation reads them: at opt_level 0 accesses go untagged, which
        # spares LLVM's parser some 4% of the text.
        self.tbaa_memory: Metadata | None = None
        self.tbaa_record: Metadata | None = None
        if options.opt_level > 0:
            root = self.ir_module.add_metadata(["exnfuzz"])
            self.tbaa_memory = self._tbaa_tag(root, "linear memory")
            self.tbaa_record = self._tbaa_tag(root, "engine record")

    def _tbaa_tag(self, root: Metadata, name: str) -> Metadata:
        scalar = self.ir_module.add_metadata([name, root, i64(0)])
        return self.ir_module.add_metadata([scalar, scalar, i64(0)])

    @staticmethod
    def tag_access(access: Instruction, tag: Metadata | None) -> None:
        """Give a load or store its alias tag, if this module has tags."""
        if tag is not None:
            access.set_metadata("tbaa", tag)

    def signature(self, ft: FuncType) -> Signature:
        """How calls of ``ft`` pass their values on this target (see :mod:`.callconv`)."""
        return signature(ft, self.target.registers)

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> Function:
        return declare(self.ir_module, name, ir.FunctionType(ret, args))

    def compile(self) -> irtext.Module:
        for i, f in enumerate(self.module.funcs):
            index = self.n_imported_funcs + i
            written = {ins.imm[0] for ins in f.body if ins.op in ("local.set", "local.tee")}
            translator = FunctionTranslator(self, self.functions[index], self.func_types[index],
                                            f.locals, written)
            translator.translate(f.body)
        self.emit_instantiate()
        return self.ir_module

    # -- instantiation -----------------------------------------------------------------

    def emit_instantiate(self) -> None:
        fn = Function(self.ir_module, self.signature(FuncType((), ())).function_type, self.instantiate_symbol)
        fn.calling_convention = WASM_CC
        fn.attributes.add(NO_UNWIND)
        _Initializer(self, fn).run()


class _Initializer(FunctionTranslator):
    """Emits ``instantiate``; reuses the translator for constant expressions, traps and
    the call of the start function."""

    initialised = False

    def __init__(self, mc: ModuleCompiler, fn: Function) -> None:
        self.known: dict[object, Value] = {}
        self.block: Value | None = None
        self.imported = {field: len(mc.module.imported(kind)) for field, kind in _INDEX_SPACES.items()}
        """How many entries of each index space are imported (they come first)."""
        super().__init__(mc, fn, FuncType((), ()))

    def consume_fuel(self) -> None:
        """Instantiation itself is free, as in wasmtime: only the start function burns fuel."""

    def calloc(self, count: int | Value, size: int) -> Value:
        """Zeroed memory; traps when there is none (``rt_release`` frees what was had)."""
        n = i64(count) if isinstance(count, int) else count
        pointer = self.builder.call(libc(self.module, "calloc"), [n, i64(size)])
        self.trap_if(self.builder.icmp_unsigned("==", pointer, NULL), TrapCode.ALLOCATION_TOO_LARGE)
        return pointer

    # ``instantiate`` uses what it stores in the instance context, and the addresses of
    # the records in its block, as they are instead of loading them back.  It is
    # straight-line code (traps only leave it, its loops come back to it), so each value
    # dominates every later use.

    def instance_array(self, field: VMContext) -> Value:
        known = self.known.get(field)
        return super().instance_array(field) if known is None else known

    def instance_slot(self, field: VMContext, index: int, typ: ir.Type = PTR) -> Value:
        known = self.known.get((field, index))
        imported = self.imported.get(field)
        if known is None and self.block is not None and imported is not None and index >= imported:
            known = self.known[(field, index)] = self.mc.owned.address(
                self.builder, self.block, field, index - imported)
        return super().instance_slot(field, index, typ) if known is None else known

    def set_field(self, field: VMContext, value: Value) -> None:
        self.store_field(self.vmctx, field.offset, value)
        self.known[field] = value

    def store_slot(self, array: Value, index: int | Value, value: Value) -> None:
        idx = i64(index) if isinstance(index, int) else index
        self.builder.store(value, self.builder.gep(array, [idx], source_etype=I64T))

    def const_expr(self, expr: list) -> Value:
        for ins in expr:
            self.instr(ins)
        return self.stack.pop()

    def run(self) -> None:
        m = self.mc.module
        self.allocate()
        self.add_roots()
        for i, g in enumerate(m.globals):
            self.store_global(self.imported[VMContext.GLOBALS] + i, self.const_expr(g.init))
        self.init_elems()
        self.init_datas()
        if m.start is not None:
            self.emit_call(self.callee(m.start), tail=False)
        self.translate([])

    def allocate(self) -> None:
        """Have the store runtime allocate the :class:`OwnedBlock` and fill it in (see
        ``setup.py``), or trap when memory runs out."""
        owned, b = self.mc.owned, self.builder
        shape = owned.shape_constant(self.module, self.imported, len(self.mc.module.elems))
        failed = b.call(self.helper(StoreState.INSTANTIATE), [self.vmctx, shape])
        self.trap_if(b.icmp_unsigned("!=", failed, i32(0)), TrapCode.ALLOCATION_TOO_LARGE)
        if not owned.size:
            return
        block = self.load_field(self.vmctx, VMContext.OWNED.offset, PTR)
        if owned.count[VMContext.TAGS] and faults.on("shared_tag_records", self.mc.options.opt_level):
            self.share_tag_records(block)
        self.block = block

    def share_tag_records(self, block: Value) -> None:
        """Point the defined tags' slots at the records of the module's first instance
        (the planted fault ``shared_tag_records``)."""
        owned, b = self.mc.owned, self.builder
        region = owned.region(b, block, VMContext.TAGS)
        slots = field_ptr(b, self.instance_array(VMContext.TAGS), SLOT * self.imported[VMContext.TAGS])
        first = self.first_instance_region(region)
        _for_each(b, owned.count[VMContext.TAGS],
                  lambda k: self.store_slot(slots, k, owned.record(b, first, VMContext.TAGS, k)))

    def first_instance_region(self, region: Value) -> Value:
        """``region`` in the module's first instance, and the first instance's region in
        every later one (the planted fault ``shared_tag_records``: per-module state
        where the spec has per-instance state)."""
        b = self.builder
        first = GlobalVariable(self.module, "first_instance_tags", "ptr", "null", constant=False)
        seen = b.load(first, typ=PTR)
        is_first = b.icmp_unsigned("==", seen, NULL)
        with b.if_then(is_first):
            b.store(region, first)
        return b.select(is_first, region, seen)

    def add_roots(self) -> None:
        """Register the defined globals and tables that can hold an exnref with the
        store's collector, before any code can store one there."""
        m, b, imported = self.mc.module, self.builder, self.imported
        roots = [(RootKind.CELL, VMContext.GLOBALS, imported[VMContext.GLOBALS] + i)
                 for i, g in enumerate(m.globals) if _holds_exnref(g.type.type)]
        if not faults.on("exnref_tables_unrooted", self.mc.options.opt_level):
            roots += [(RootKind.TABLE, VMContext.TABLES, imported[VMContext.TABLES] + i)
                      for i, t in enumerate(m.tables) if _holds_exnref(t.type.elem)]
        if not roots:
            return
        add = callable_pointer(b, self.load_field(self.store_state, StoreState.ROOT_ADD.offset, PTR),
                               ROOT_ADD)
        for kind, array, index in roots:
            b.call(add, [self.store_state, i64(kind), self.instance_slot(array, index)])

    def init_elems(self) -> None:
        m, b = self.mc.module, self.builder
        if not m.elems:
            return
        segments = self.calloc(len(m.elems), Segment.size())
        self.set_field(VMContext.ELEM_SEGMENTS, segments)
        for i, e in enumerate(m.elems):
            seg = b.gep(segments, [i64(i * len(Segment))], source_etype=I64T)
            items = self.calloc(len(e.init) + 1, 8)
            for j, expr in enumerate(e.init):
                self.store_slot(items, j, self.const_expr(expr))
            self.store_field(seg, Segment.DATA.offset, items)
            self.store_field(seg, Segment.LENGTH.offset, i64(len(e.init)))
            if e.mode is SegmentMode.ACTIVE:
                self.stack += [self.const_expr(e.offset or []), i32(0), i32(len(e.init))]
                self.instr(Instr("table.init", (i, e.table)))
            if e.mode is not SegmentMode.PASSIVE:
                self.store_field(seg, Segment.LENGTH.offset, i64(0))

    def init_datas(self) -> None:
        m, b = self.mc.module, self.builder
        if not m.datas:
            return
        segments = self.calloc(len(m.datas), Segment.size())
        self.set_field(VMContext.DATA_SEGMENTS, segments)
        for i, d in enumerate(m.datas):
            seg = b.gep(segments, [i64(i * len(Segment))], source_etype=I64T)
            blob = GlobalVariable(self.module, f"data_{i}", f"[{len(d.init)} x i8]", bytes_constant(d.init))
            self.store_field(seg, Segment.DATA.offset, blob)
            self.store_field(seg, Segment.LENGTH.offset, i64(len(d.init)))
            if d.mode is SegmentMode.ACTIVE:
                self.stack += [self.const_expr(d.offset or []), i32(0), i32(len(d.init))]
                self.instr(Instr("memory.init", (i, 0)))
                self.store_field(seg, Segment.LENGTH.offset, i64(0))
