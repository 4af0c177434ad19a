"""Compile a validated module to an LLVM IR module.

The IR module exports one symbol: ``shape_N`` (N different for each module compiled in
the process, whose code may share an execution engine: see ``jit.py``), the module's
constant :class:`ModuleShape <engine.compile.layout.ModuleShape>`.  It describes the
block of records and cells instantiation allocates for the defined functions, tables,
memory, tags and globals (see :class:`OwnedBlock`), and leads to the module's
initialization program (``initialize.py``): roots, global initialisers, element items,
active segments and the start function, as data.  The Python runtime allocates the
:class:`~engine.compile.layout.VMContext` and its index-space arrays, binds the imports
and puts the shape in the instance context, then calls the store runtime's
``rt_initialize``, which does the rest; it frees the instance with ``rt_release``.

Wasm functions themselves are internal: they are reached through the function
records instantiation fills in, so LLVM may inline and specialise freely.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import llvmlite.ir as ir

from ..syntax.module import Module
from ..syntax.types import ExternKind, FuncType, GlobalType, TagType
from . import initialize, irtext
from .callconv import NO_UNWIND, WASM_CC, Signature, signature
from .function import FunctionTranslator
from .irtext import Function, GlobalVariable, Instruction, Metadata, Value, bytes_constant
from .layout import MAX_PAGES, PAGE_SIZE, SLOT, FuncRecord, MemoryRecord, ModuleShape, TableRecord, TagRecord, VMContext
from .target import Target
from .types import NULL, declare, i32, i64

_compiled = itertools.count()
_NO_TABLE_MAX = 0xFFFF_FFFF
_INDEX_SPACES = {VMContext.FUNCS: ExternKind.FUNC, VMContext.TABLES: ExternKind.TABLE,
                 VMContext.TAGS: ExternKind.TAG, VMContext.GLOBALS: ExternKind.GLOBAL}
"""The instance context's index-space arrays (imports first) and their kinds."""


@dataclass(frozen=True)
class CompileOptions:
    """Code generation knobs (the public ``Config`` maps onto these)."""

    opt_level: int = 2
    fuel: bool = False
    epoch_interruption: bool = False
    count_events: bool = False
    canonicalize_nans: bool = False


_Record = FuncRecord | TableRecord | MemoryRecord | TagRecord


def _record(layout: type[_Record], fields: dict[_Record, Value | ir.Constant]) -> list[Value | ir.Constant]:
    """A record's compile-time contents, in its layout's order."""
    return [fields[field] for field in layout]


class OwnedBlock:
    """The one allocation instantiation makes for the module's defined entities: the
    function records, the table records, the memory's record, the tag records and, last,
    the global cells, each kind an array.  Its address goes in
    :attr:`~engine.compile.layout.VMContext.OWNED` and ``rt_release`` frees it whole.

    Only the shape says where each kind begins: the runtime reaches every record
    through the index-space arrays, as it does imported ones, and never frees one on
    its own.  Each record still has an address of its own,
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

    def shape_constant(self, module: irtext.Module, name: str, imported: dict[VMContext, int],
                       elem_segments: int, init: GlobalVariable) -> GlobalVariable:
        """The module's :class:`~engine.compile.layout.ModuleShape` as the constant ``name``
        of ``module``, exported, ``imported`` entries in each index space, ``init`` its
        initialization program."""
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
        pointers = {ModuleShape.TEMPLATE: template.ref, ModuleShape.INIT: init.ref}
        fields = ", ".join(f"ptr {pointers[field]}" if field in pointers else f"i64 {values[field]}"
                           for field in ModuleShape)
        types = ", ".join("ptr" if field in pointers else "i64" for field in ModuleShape)
        return GlobalVariable(module, name, f"{{{types}}}", f"{{{fields}}}", linkage="")


class ModuleCompiler:
    def __init__(self, module: Module, target: Target, options: CompileOptions) -> None:
        self.module = module
        self.target = target
        self.options = options
        self.ir_module = irtext.Module(name="wasm")
        self.shape_symbol = f"shape_{next(_compiled)}"
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
        self.emit_shape()
        return self.ir_module

    def emit_shape(self) -> None:
        """The exported shape, with the initialization program it leads to."""
        m, module = self.module, self.ir_module
        imported = {field: len(m.imported(kind)) for field, kind in _INDEX_SPACES.items()}

        def data(i: int) -> str:
            blob = GlobalVariable(module, f"data_{i}", f"[{len(m.datas[i].init)} x i8]",
                                  bytes_constant(m.datas[i].init))
            return f"ptrtoint (ptr {blob.ref} to i64)"

        def first_tags() -> str:
            cell = GlobalVariable(module, "first_instance_tags", "ptr", "null", constant=False)
            return f"ptrtoint (ptr {cell.ref} to i64)"

        words = initialize.program(m, imported, data, self.options.opt_level, first_tags)
        init = GlobalVariable(module, "init", f"[{len(words)} x i64]",
                              "[" + ", ".join(f"i64 {w}" for w in words) + "]")
        self.owned.shape_constant(module, self.shape_symbol, imported, len(m.elems), init)
