"""Binary encoder: the inverse of :mod:`engine.binary.decode` (spec section 5).

``encode_module(decode_module(b)) == b`` for every canonically encoded module, i.e.
one whose LEB128 numbers are minimal, whose locals are grouped into runs and whose
empty sections are left out -- what ``wat2wasm`` and ``wasm-encoder`` produce.  The
segment ``form`` hints the decoder records are reused, so the eight element and three
data segment encodings all round-trip; without a hint (or with one that no longer fits
the segment) the encoder picks the form ``wasm-encoder`` would.

The encoder runs in the fuzzing loop, so it appends to one ``bytearray`` per section
and looks up each opcode's bytes in a table built once.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..syntax.instructions import OPS, Catch, CatchKind, Imm
from ..syntax.module import Data, Elem, Export, Expr, Func, Global, Import, Module, SegmentMode
from ..syntax.types import (FUNCREF, FuncType, GlobalType, Limits, MemType, NumType, TableType,
                            TagType, ValType)
from .codes import (EMPTY_BLOCK, FUNC_TYPE_FORM, HEAP_CODES, MAGIC, NUM_CODES, SECTION_ORDER,
                    VERSION, SectionId, ref_code)

_END = 0x0B
_SELECT_T = 0x1C


def _u(out: bytearray, n: int) -> None:
    """Unsigned LEB128, minimal length."""
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _s(out: bytearray, n: int) -> None:
    """Signed LEB128, minimal length (used for i32, i64 and s33 block type indices)."""
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return
        out.append(byte | 0x80)


def _name(out: bytearray, s: str) -> None:
    raw = s.encode("utf-8")
    _u(out, len(raw))
    out += raw


def _valtype(out: bytearray, t: ValType) -> None:
    if isinstance(t, NumType):
        out.append(NUM_CODES[t])
    else:
        out += ref_code(t)


def _blocktype(out: bytearray, bt: None | ValType | int) -> None:
    if bt is None:
        out.append(EMPTY_BLOCK)
    elif isinstance(bt, int):
        _s(out, bt)
    else:
        _valtype(out, bt)


def _limits(out: bytearray, lim: Limits) -> None:
    if lim.max is None:
        out.append(0x00)
        _u(out, lim.min)
    else:
        out.append(0x01)
        _u(out, lim.min)
        _u(out, lim.max)


def _tabletype(out: bytearray, t: TableType) -> None:
    out += ref_code(t.elem)
    _limits(out, t.limits)


def _globaltype(out: bytearray, t: GlobalType) -> None:
    _valtype(out, t.type)
    out.append(1 if t.mut else 0)


def _tagtype(out: bytearray, t: TagType) -> None:
    out.append(0x00)  # attribute: exception
    _u(out, t.type_idx)


def _opcode(code: tuple[int, ...]) -> bytes:
    """Opcode bytes, with the sub-opcode of 0xFC-prefixed instructions as a u32."""
    out = bytearray(code[:1])
    for sub in code[1:]:
        _u(out, sub)
    return bytes(out)


def _imm_index(out: bytearray, imm: tuple) -> None:
    _u(out, imm[0])


def _imm_two(out: bytearray, imm: tuple) -> None:
    _u(out, imm[0])
    _u(out, imm[1])


def _imm_block(out: bytearray, imm: tuple) -> None:
    _blocktype(out, imm[0])


def _imm_br_table(out: bytearray, imm: tuple) -> None:
    labels, default = imm
    _u(out, len(labels))
    for label in labels:
        _u(out, label)
    _u(out, default)


def _imm_memarg(out: bytearray, imm: tuple) -> None:
    _u(out, imm[0].align)
    _u(out, imm[0].offset)


def _imm_signed(out: bytearray, imm: tuple) -> None:
    _s(out, imm[0])


def _imm_f32(out: bytearray, imm: tuple) -> None:
    out += imm[0].to_bytes(4, "little")


def _imm_f64(out: bytearray, imm: tuple) -> None:
    out += imm[0].to_bytes(8, "little")


def _imm_heap(out: bytearray, imm: tuple) -> None:
    out.append(HEAP_CODES[imm[0]])


def _imm_try_table(out: bytearray, imm: tuple) -> None:
    blocktype, catches = imm
    _blocktype(out, blocktype)
    _u(out, len(catches))
    for c in catches:
        _catch(out, c)


def _catch(out: bytearray, c: Catch) -> None:
    out.append(c.kind)
    if c.kind in (CatchKind.CATCH, CatchKind.CATCH_REF):
        _u(out, c.tag)
    _u(out, c.label)


def _imm_none(out: bytearray, imm: tuple) -> None:
    pass


_IMM: dict[Imm, Callable[[bytearray, tuple], None]] = {
    Imm.NONE: _imm_none, Imm.BLOCK: _imm_block, Imm.LABEL: _imm_index,
    Imm.BR_TABLE: _imm_br_table, Imm.FUNC: _imm_index, Imm.CALL_INDIRECT: _imm_two,
    Imm.LOCAL: _imm_index, Imm.GLOBAL: _imm_index, Imm.TABLE: _imm_index,
    Imm.MEMARG: _imm_memarg, Imm.MEM: _imm_index, Imm.I32: _imm_signed, Imm.I64: _imm_signed,
    Imm.F32: _imm_f32, Imm.F64: _imm_f64, Imm.HEAP: _imm_heap, Imm.TRY_TABLE: _imm_try_table,
    Imm.TAG: _imm_index, Imm.ELEM: _imm_index, Imm.DATA: _imm_index, Imm.TWO: _imm_two,
}
# Per instruction name: its opcode bytes and its immediate writer, looked up once.
_ENCODERS = {name: (_opcode(info.code), _IMM[info.imm]) for name, info in OPS.items()}


def _instrs(out: bytearray, instrs: Expr) -> None:
    """Append ``instrs`` followed by the ``end`` that closes the body or expression."""
    for ins in instrs:
        imm = ins.imm
        if ins.op == "select" and imm:
            out.append(_SELECT_T)
            _u(out, len(imm[0]))
            for t in imm[0]:
                _valtype(out, t)
            continue
        code, write = _ENCODERS[ins.op]
        out += code
        if imm:
            write(out, imm)
    out.append(_END)


def _functype(out: bytearray, ft: FuncType) -> None:
    out.append(FUNC_TYPE_FORM)
    _u(out, len(ft.params))
    for t in ft.params:
        _valtype(out, t)
    _u(out, len(ft.results))
    for t in ft.results:
        _valtype(out, t)


def _import(out: bytearray, imp: Import) -> None:
    _name(out, imp.module)
    _name(out, imp.name)
    out.append(imp.kind)
    desc = imp.desc
    if isinstance(desc, int):
        _u(out, desc)
    elif isinstance(desc, TableType):
        _tabletype(out, desc)
    elif isinstance(desc, MemType):
        _limits(out, desc.limits)
    elif isinstance(desc, GlobalType):
        _globaltype(out, desc)
    else:
        _tagtype(out, desc)


def _is_funcidx_list(e: Elem) -> bool:
    """Whether the segment can use a ``vec(funcidx)`` form (flags 0-3)."""
    return e.type == FUNCREF and all(
        len(expr) == 1 and expr[0].op == "ref.func" for expr in e.init)


_FORM_MODE = {0: SegmentMode.ACTIVE, 1: SegmentMode.PASSIVE, 2: SegmentMode.ACTIVE,
              3: SegmentMode.DECLARATIVE, 4: SegmentMode.ACTIVE, 5: SegmentMode.PASSIVE,
              6: SegmentMode.ACTIVE, 7: SegmentMode.DECLARATIVE}


def _elem_form_fits(form: int, e: Elem) -> bool:
    if _FORM_MODE.get(form) is not e.mode:
        return False
    if form < 4 and not _is_funcidx_list(e):
        return False
    if form in (0, 4):  # the forms with an implicit table 0 and type funcref
        return e.table == 0 and e.type == FUNCREF
    return True


def elem_form(e: Elem) -> int:
    """The binary flag to encode ``e`` with: its ``form`` hint if that still fits, else
    the one ``wasm-encoder`` picks (function indices when possible, table 0 implicit)."""
    if e.form is not None and _elem_form_fits(e.form, e):
        return e.form
    base = 0 if _is_funcidx_list(e) else 4
    if e.mode is SegmentMode.PASSIVE:
        return base + 1
    if e.mode is SegmentMode.DECLARATIVE:
        return base + 3
    return base if _elem_form_fits(base, e) else base + 2


def _elem(out: bytearray, e: Elem) -> None:
    form = elem_form(e)
    _u(out, form)
    if form & 2 and not form & 1:
        _u(out, e.table)
    if not form & 1:
        _instrs(out, e.offset or [])
    if form & 3:
        if form < 4:
            out.append(0x00)  # elemkind: funcref
        else:
            out += ref_code(e.type)
    _u(out, len(e.init))
    if form < 4:
        for expr in e.init:
            _u(out, expr[0].imm[0])
    else:
        for expr in e.init:
            _instrs(out, expr)


def data_form(d: Data) -> int:
    """The binary flag to encode ``d`` with: its ``form`` hint if that still fits, else
    0 for active segments in memory 0, 1 for passive ones and 2 otherwise."""
    if d.mode is SegmentMode.PASSIVE:
        return 1
    if d.form == 2 or d.memory != 0:
        return 2
    return 0


def _data(out: bytearray, d: Data) -> None:
    form = data_form(d)
    out.append(form)
    if form == 2:
        _u(out, d.memory)
    if form != 1:
        _instrs(out, d.offset or [])
    _u(out, len(d.init))
    out += d.init


def _locals(out: bytearray, types: list[ValType]) -> None:
    """Locals as runs of equal consecutive types, the way wat2wasm groups them."""
    runs: list[list] = []
    for t in types:
        if runs and runs[-1][1] == t:
            runs[-1][0] += 1
        else:
            runs.append([1, t])
    _u(out, len(runs))
    for count, t in runs:
        _u(out, count)
        _valtype(out, t)


def _code(funcs: list[Func]) -> bytearray:
    out = bytearray()
    _u(out, len(funcs))
    body = bytearray()
    for f in funcs:
        body.clear()
        _locals(body, f.locals)
        _instrs(body, f.body)
        _u(out, len(body))
        out += body
    return out


def _global(out: bytearray, g: Global) -> None:
    _globaltype(out, g.type)
    _instrs(out, g.init)


def _export(out: bytearray, e: Export) -> None:
    _name(out, e.name)
    out.append(e.kind)
    _u(out, e.index)


def _sections(m: Module) -> dict[int, bytearray]:
    """Contents of each non-empty known section, by section id."""
    s: dict[int, bytearray] = {}

    def vec(sid: int, items: Sequence[Any], write: Callable[[bytearray, Any], None]) -> None:
        if items:
            out = s[sid] = bytearray()
            _u(out, len(items))
            for item in items:
                write(out, item)

    vec(SectionId.TYPE, m.types, _functype)
    vec(SectionId.IMPORT, m.imports, _import)
    vec(SectionId.FUNCTION, [f.type_idx for f in m.funcs], _u)
    vec(SectionId.TABLE, [t.type for t in m.tables], _tabletype)
    vec(SectionId.MEMORY, [mem.type.limits for mem in m.mems], _limits)
    vec(SectionId.TAG, [t.type for t in m.tags], _tagtype)
    vec(SectionId.GLOBAL, m.globals, _global)
    vec(SectionId.EXPORT, m.exports, _export)
    if m.start is not None:
        _u(s.setdefault(SectionId.START, bytearray()), m.start)
    vec(SectionId.ELEMENT, m.elems, _elem)
    if m.data_count is not None:
        _u(s.setdefault(SectionId.DATA_COUNT, bytearray()), m.data_count)
    if m.funcs:
        s[SectionId.CODE] = _code(m.funcs)
    vec(SectionId.DATA, m.datas, _data)
    return s


def _section(out: bytearray, sid: int, content: bytes | bytearray) -> None:
    out.append(sid)
    _u(out, len(content))
    out += content


def encode_module(module: Module) -> bytes:
    """The binary encoding of ``module``; custom sections go back where they were found."""
    out = bytearray(MAGIC + VERSION)
    customs: dict[int, list] = {}
    for c in module.customs:
        customs.setdefault(c.after, []).append(c)

    def emit_customs(after: int) -> None:
        for c in customs.get(after, ()):
            body = bytearray()
            _name(body, c.name)
            body += c.data
            _section(out, SectionId.CUSTOM, body)

    emit_customs(0)
    sections = _sections(module)
    for sid in sorted(SECTION_ORDER, key=SECTION_ORDER.__getitem__):
        if sid in sections:
            _section(out, sid, sections[sid])
        emit_customs(sid)
    return bytes(out)
