"""Binary format decoder (spec chapter 5): bytes -> :class:`~engine.syntax.Module`.

The decoder only checks well-formedness (the spec's "malformed"); typing is the
validator's job.  It raises :class:`DecodeError` (or :class:`UnsupportedFeature`
for proposals the engine does not implement) and nothing else on any input.
"""
from __future__ import annotations

from ..errors import DecodeError, UnsupportedFeature
from ..syntax.instructions import BY_CODE, UNSUPPORTED_OPCODES, Catch, CatchKind, Imm, Instr, MemArg, OpInfo
from ..syntax.module import (Custom, Data, Elem, Export, Expr, Func, Global, Import, Memory, Module,
                             Names, SegmentMode, Table, Tag)
from ..syntax.types import (FUNCREF, ExternKind, FuncType, GlobalType, Limits, MemType, TableType,
                            TagType)
from .codes import EMPTY_BLOCK, FUNC_TYPE_FORM, HEAP_TYPES, MAGIC, NUM_TYPES, REF_NULL_PREFIX, \
    REF_PREFIX, SECTION_ORDER, V128_CODE, VERSION, SectionId
from .reader import Reader

# Implementation limits shared with wasmtime's parser, so both reject the same modules.
MAX_LOCALS = 50_000
"""Parameters and declared locals of a function, together."""
MAX_PARAMS = 1_000
MAX_RESULTS = 1_000

_ONE_BYTE: list[OpInfo | None] = [BY_CODE.get((b,)) for b in range(256)]
_BLOCK_OPENERS = frozenset({"block", "loop", "if", "try_table"})


def decode_module(data: bytes, *, wide_limits: bool = False) -> Module:
    """Decode a binary module.  Raises :class:`DecodeError` if it is malformed.

    Wasm 2.0 encodes memory and table limits as ``u32``; the current spec (and
    wasmtime) read them as ``u64`` so an over-long LEB encoding of a small limit is
    well-formed.  ``wide_limits=True`` decodes the current way; the value must still
    fit 32 bits, as validation then requires.
    """
    return _Decoder(bytes(data), wide_limits).module()


class _Decoder:
    def __init__(self, data: bytes, wide_limits: bool = False) -> None:
        self.r = Reader(data)
        self.wide_limits = wide_limits
        self.m = Module()
        self.func_type_idxs: list[int] = []
        self.saw_code = False

    def module(self) -> Module:
        r = self.r
        if r.end < 4:
            raise DecodeError("unexpected end", r.end)
        if r.data[:4] != MAGIC:
            raise DecodeError("magic header not detected", 0)
        r.pos = 4
        if r.end < 8:
            raise DecodeError("unexpected end", r.end)
        if r.data[4:8] != VERSION:
            raise DecodeError("unknown binary version", 4)
        r.pos = 8
        last_id = 0
        last_order = 0
        while r.pos < len(r.data):
            section_at = r.pos
            sid = r.byte()
            size = r.u32()
            start = r.pos
            if size > len(r.data) - start:
                raise DecodeError("length out of bounds", start)
            end = start + size
            if sid != SectionId.CUSTOM:
                order = SECTION_ORDER.get(sid)
                if order is None:
                    raise DecodeError("malformed section id", section_at)
                if order <= last_order:
                    raise DecodeError("unexpected content after last section", section_at)
                last_order = order
            sub = Reader(r.data, start, end)
            self.section(sid, sub, last_id)
            if sub.pos != end:
                raise DecodeError("section size mismatch", sub.pos)
            if sid != SectionId.CUSTOM:
                last_id = sid
            r.pos = end
        if len(self.func_type_idxs) != len(self.m.funcs):
            raise DecodeError("function and code section have inconsistent lengths", r.pos)
        if self.m.data_count is not None and self.m.data_count != len(self.m.datas):
            raise DecodeError("data count and data section have inconsistent lengths", r.pos)
        return self.m

    def section(self, sid: int, r: Reader, last_id: int) -> None:
        m = self.m
        if sid == SectionId.CUSTOM:
            self.custom(r, last_id)
        elif sid == SectionId.TYPE:
            m.types = [self.func_type(r) for _ in range(r.vec_len())]
        elif sid == SectionId.IMPORT:
            m.imports = [self.import_(r) for _ in range(r.vec_len())]
        elif sid == SectionId.FUNCTION:
            self.func_type_idxs = [r.u32() for _ in range(r.vec_len())]
        elif sid == SectionId.TABLE:
            m.tables = [Table(self.table_type(r)) for _ in range(r.vec_len())]
        elif sid == SectionId.MEMORY:
            m.mems = [Memory(self.mem_type(r)) for _ in range(r.vec_len())]
        elif sid == SectionId.TAG:
            m.tags = [Tag(self.tag_type(r)) for _ in range(r.vec_len())]
        elif sid == SectionId.GLOBAL:
            m.globals = [Global(self.global_type(r), self.expr(r)) for _ in range(r.vec_len())]
        elif sid == SectionId.EXPORT:
            m.exports = [self.export(r) for _ in range(r.vec_len())]
        elif sid == SectionId.START:
            m.start = r.u32()
        elif sid == SectionId.ELEMENT:
            m.elems = [self.elem(r) for _ in range(r.vec_len())]
        elif sid == SectionId.DATA_COUNT:
            m.data_count = r.u32()
        elif sid == SectionId.CODE:
            self.code(r)
        elif sid == SectionId.DATA:
            m.datas = [self.data(r) for _ in range(r.vec_len())]

    # -- types -----------------------------------------------------------------------

    def func_type(self, r: Reader) -> FuncType:
        at = r.pos
        form = r.byte()
        if form != FUNC_TYPE_FORM:
            if form in (0x4E, 0x50, 0x4F, 0x5E, 0x5F):
                raise UnsupportedFeature("unsupported feature: gc (rec group or struct/array type)", at)
            raise DecodeError("malformed functype", at)
        params = tuple(r.val_type() for _ in range(r.vec_len()))
        results = tuple(r.val_type() for _ in range(r.vec_len()))
        if len(params) > MAX_PARAMS or len(results) > MAX_RESULTS:
            raise DecodeError("too many function parameters or results", at)
        return FuncType(params, results)

    def limits(self, r: Reader) -> Limits:
        at = r.pos
        flags = r.byte()
        if flags in (0x02, 0x03):
            raise UnsupportedFeature("unsupported feature: threads (shared memory)", at)
        if flags & 0x04:
            raise UnsupportedFeature("unsupported feature: memory64", at)
        if flags & 0x08:
            raise UnsupportedFeature("unsupported feature: custom page sizes", at)
        if flags > 0x01:
            raise DecodeError("integer too large" if flags >= 0x80 else "malformed limits flags", at)
        lo = self.limit(r)
        hi = self.limit(r) if flags == 0x01 else None
        return Limits(lo, hi)

    def limit(self, r: Reader) -> int:
        if not self.wide_limits:
            return r.u32()
        at = r.pos
        value = r.uleb(64)
        if value > 0xFFFF_FFFF:
            raise UnsupportedFeature("unsupported feature: memory64 (limit over 32 bits)", at)
        return value

    def table_type(self, r: Reader) -> TableType:
        if r.peek() == 0x40:
            raise UnsupportedFeature(
                "unsupported feature: function references (table initializer)", r.pos)
        elem = r.ref_type()
        return TableType(self.limits(r), elem)

    def mem_type(self, r: Reader) -> MemType:
        return MemType(self.limits(r))

    def global_type(self, r: Reader) -> GlobalType:
        t = r.val_type()
        at = r.pos
        mut = r.byte()
        if mut > 1:
            raise DecodeError("malformed mutability", at)
        return GlobalType(bool(mut), t)

    def tag_type(self, r: Reader) -> TagType:
        at = r.pos
        if r.byte() != 0x00:
            raise DecodeError("malformed tag attribute", at)
        return TagType(r.u32())

    # -- imports, exports ------------------------------------------------------------

    def import_(self, r: Reader) -> Import:
        module = r.name()
        name = r.name()
        at = r.pos
        kind = r.byte()
        desc: object
        if kind == ExternKind.FUNC:
            desc = r.u32()
        elif kind == ExternKind.TABLE:
            desc = self.table_type(r)
        elif kind == ExternKind.MEMORY:
            desc = self.mem_type(r)
        elif kind == ExternKind.GLOBAL:
            desc = self.global_type(r)
        elif kind == ExternKind.TAG:
            desc = self.tag_type(r)
        else:
            raise DecodeError("malformed import kind", at)
        return Import(module, name, ExternKind(kind), desc)  # type: ignore[arg-type]

    def export(self, r: Reader) -> Export:
        name = r.name()
        at = r.pos
        kind = r.byte()
        if kind > ExternKind.TAG:
            raise DecodeError("malformed export kind", at)
        return Export(name, ExternKind(kind), r.u32())

    # -- segments --------------------------------------------------------------------

    def elem(self, r: Reader) -> Elem:
        at = r.pos
        flags = r.u32()
        if flags > 7:
            raise DecodeError("malformed elements segment kind", at)
        passive_or_declarative = flags & 1
        explicit_table = flags & 2
        uses_exprs = flags & 4
        table = 0
        offset = None
        if passive_or_declarative:
            mode = SegmentMode.DECLARATIVE if explicit_table else SegmentMode.PASSIVE
        else:
            mode = SegmentMode.ACTIVE
            if explicit_table:
                table = r.u32()
            offset = self.expr(r)
        elem_type = FUNCREF
        if passive_or_declarative or explicit_table:
            if uses_exprs:
                elem_type = r.ref_type()
            else:
                kind_at = r.pos
                if r.byte() != 0x00:
                    raise DecodeError("malformed element kind", kind_at)
        if uses_exprs:
            init = [self.expr(r) for _ in range(r.vec_len())]
        else:
            init = [[Instr("ref.func", (r.u32(),))] for _ in range(r.vec_len())]
        return Elem(elem_type, init, mode, table, offset, form=flags)

    def data(self, r: Reader) -> Data:
        at = r.pos
        flags = r.u32()
        if flags > 2:
            raise DecodeError("malformed data segment kind", at)
        memory = 0
        offset = None
        if flags == 1:
            mode = SegmentMode.PASSIVE
        else:
            mode = SegmentMode.ACTIVE
            if flags == 2:
                memory = r.u32()
            offset = self.expr(r)
        n = r.u32()
        if n > r.end - r.pos:
            raise r.error("unexpected end of section or function")
        return Data(r.bytes(n), mode, memory, offset, form=flags)

    def custom(self, r: Reader, last_id: int) -> None:
        name = r.name()
        data = r.bytes(r.end - r.pos)
        self.m.customs.append(Custom(name, data, last_id))
        if name == "name":
            self.m.names = _read_names(data)

    # -- code ------------------------------------------------------------------------

    def code(self, r: Reader) -> None:
        count = r.vec_len()
        if count != len(self.func_type_idxs):
            raise DecodeError("function and code section have inconsistent lengths", r.pos)
        funcs = []
        for i in range(count):
            size = r.u32()
            start = r.pos
            if size > r.end - start:
                raise r.error("unexpected end of section or function")
            body = Reader(r.data, start, start + size)
            func = self.func_body(body, self.func_type_idxs[i])
            if body.pos != body.end:
                raise DecodeError("section size mismatch", body.pos)
            funcs.append(func)
            r.pos = start + size
        self.m.funcs = funcs

    def func_body(self, r: Reader, type_idx: int) -> Func:
        groups = []
        # Parameters count toward the limit, as in wasmtime's parser; an undefined type
        # index is the validator's to report.
        types = self.m.types
        total = len(types[type_idx].params) if 0 <= type_idx < len(types) else 0
        for _ in range(r.vec_len()):
            n = r.u32()
            total += n
            if total > MAX_LOCALS:
                raise r.error("too many locals")
            groups.append((n, r.val_type()))
        local_types = [t for n, t in groups for _ in range(n)]
        offsets: list[int] = []
        body = self.instrs(r, offsets)
        return Func(type_idx, local_types, body, offsets)

    def expr(self, r: Reader) -> Expr:
        return self.instrs(r, None)

    def instrs(self, r: Reader, offsets: list[int] | None) -> Expr:
        """Instructions up to the ``end`` that closes the sequence (not stored)."""
        out: list[Instr] = []
        append = out.append
        depth = 0
        data = r.data
        while True:
            at = r.pos
            if at >= r.end:
                if r.end >= len(data):
                    raise DecodeError("unexpected end", at)
                raise DecodeError("END opcode expected" if offsets is not None else
                                  "unexpected end of section or function", at)
            b = data[at]
            r.pos = at + 1
            info = _ONE_BYTE[b]
            if info is None:
                info = self.prefixed_op(r, b, at)
            if offsets is not None:
                offsets.append(at)
            kind = info.imm
            name = info.name
            if kind is Imm.NONE:
                if b == 0x0B:
                    if depth == 0:
                        return out
                    depth -= 1
                append(Instr(name))
                continue
            imm = self.immediates(r, kind, name)
            if name in _BLOCK_OPENERS:
                depth += 1
            append(Instr(name, imm))

    def prefixed_op(self, r: Reader, b: int, at: int) -> OpInfo:
        if b == 0xFC:
            sub = r.u32()
            info = BY_CODE.get((0xFC, sub))
            if info is not None:
                if sub in (8, 9) and self.m.data_count is None:
                    raise DecodeError("data count section required", at)
                return info
            raise DecodeError("illegal opcode", at)
        feature = UNSUPPORTED_OPCODES.get(b)
        if feature:
            raise UnsupportedFeature(f"unsupported feature: {feature}", at)
        raise DecodeError("illegal opcode", at)

    def immediates(self, r: Reader, kind: Imm, name: str) -> tuple:
        if kind is Imm.LOCAL or kind is Imm.GLOBAL or kind is Imm.FUNC or kind is Imm.LABEL \
                or kind is Imm.TABLE or kind is Imm.TAG or kind is Imm.ELEM or kind is Imm.DATA:
            return (r.u32(),)
        if kind is Imm.I32:
            return (r.sleb(32),)
        if kind is Imm.MEMARG:
            at = r.pos
            flags = r.u32()
            if flags & 0x40:
                raise UnsupportedFeature(
                    "unsupported feature: multi-memory (memory index in memarg)", at)
            if flags >= 0x20:
                raise DecodeError("malformed memop flags", at)
            return (MemArg(flags, r.u32()),)
        if kind is Imm.BLOCK:
            return (self.block_type(r),)
        if kind is Imm.I64:
            return (r.sleb(64),)
        if kind is Imm.F32:
            return (int.from_bytes(r.bytes(4), "little"),)
        if kind is Imm.F64:
            return (int.from_bytes(r.bytes(8), "little"),)
        if kind is Imm.BR_TABLE:
            labels = tuple(r.u32() for _ in range(r.vec_len()))
            return (labels, r.u32())
        if kind is Imm.CALL_INDIRECT:
            return (r.u32(), r.u32())
        if kind is Imm.MEM:
            return (self.zero_byte(r),)
        if kind is Imm.TWO:
            if name == "memory.init":
                return (r.u32(), self.zero_byte(r))
            if name == "memory.copy":
                return (self.zero_byte(r), self.zero_byte(r))
            return (r.u32(), r.u32())
        if kind is Imm.HEAP:
            return (r.heap_type(),)
        if kind is Imm.SELECT_T:
            return (tuple(r.val_type() for _ in range(r.vec_len())),)
        if kind is Imm.TRY_TABLE:
            bt = self.block_type(r)
            catches = tuple(self.catch(r) for _ in range(r.vec_len()))
            return (bt, catches)
        raise AssertionError(kind)

    def zero_byte(self, r: Reader) -> int:
        at = r.pos
        if r.byte() != 0:
            raise DecodeError("zero byte expected", at)
        return 0

    def catch(self, r: Reader) -> Catch:
        at = r.pos
        kind = r.byte()
        if kind > 3:
            raise DecodeError("malformed catch clause", at)
        tag = r.u32() if kind <= CatchKind.CATCH_REF else None
        return Catch(CatchKind(kind), tag, r.u32())

    def block_type(self, r: Reader) -> object:
        b = r.peek()
        if b == EMPTY_BLOCK:
            r.pos += 1
            return None
        if b in NUM_TYPES or b in HEAP_TYPES or b in (V128_CODE, REF_NULL_PREFIX, REF_PREFIX):
            return r.val_type()
        at = r.pos
        index = r.sleb(33)
        if index < 0:
            raise DecodeError("malformed block type", at)
        return index


def _read_names(data: bytes) -> Names | None:
    """The ``name`` section's contents, or ``None`` if they are malformed (never fatal)."""
    names = Names()
    r = Reader(data)
    try:
        while not r.at_end():
            sub_id = r.byte()
            size = r.u32()
            if size > r.end - r.pos:
                return None
            sub = Reader(data, r.pos, r.pos + size)
            if sub_id == 0:
                names.module = sub.name()
            elif sub_id == 1:
                for _ in range(sub.vec_len()):
                    idx = sub.u32()
                    names.funcs[idx] = sub.name()
            elif sub_id == 2:
                for _ in range(sub.vec_len()):
                    func = sub.u32()
                    names.locals[func] = {sub.u32(): sub.name() for _ in range(sub.vec_len())}
            r.pos += size
    except DecodeError:
        return None
    return names
