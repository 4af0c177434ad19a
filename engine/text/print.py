"""Text printer: a module as readable WAT in the flat style of ``wasm-tools print``.

Every index is numeric (names from the ``name`` section appear only as comments, since
printed ``$names`` could collide), types are referenced as ``(type N)`` so ``wat2wasm``
adds none, floats are printed exactly from their bits, and element and data segments are
written in the text form that makes ``wat2wasm`` choose the same binary form; custom
sections become ``(@custom ...)`` annotations placed where they were.  Indentation
stops growing at 50 levels, so the text is linear in the size of the module.  So for a decoded
module ``decode_module(wat2wasm(print_module(m))) == m``, and for a module ``wat2wasm``
produced the bytes are the same.  Only binary quirks have no text form: a data count
section the code does not need (``wat2wasm`` emits one exactly when ``memory.init`` or
``data.drop`` occurs) and data segment form 2 naming memory 0.
"""
from __future__ import annotations

from ..binary.codes import SectionId
from ..binary.encode import data_form, elem_form
from ..errors import TextError
from ..syntax.instructions import OPS, Catch, CatchKind, Imm, Instr
from ..syntax.module import Custom, Data, Elem, Expr, Func, Import, Module, SegmentMode
from ..syntax.types import (ExternKind, FuncType, GlobalType, Limits, TableType, TagType,
                            ValType)

_OPENERS = frozenset({"block", "loop", "if", "try_table"})
_MAX_ALIGN_LOG2 = 63
_MAX_INDENT = 50
"""Deeper nesting is printed at this depth (``wasm-tools print`` stops at 50 as well):
the text stays linear in the module's size, where indenting 100,000 nested blocks
would take 10 GB.  The ``label = @N`` comments still give every block's depth."""
_INDENTS = ["  " * depth for depth in range(_MAX_INDENT + 1)]
# Section names of ``(@custom "name" (after <section>) "data")`` placements.
_SECTION_NAMES = {
    SectionId.TYPE: "type", SectionId.IMPORT: "import", SectionId.FUNCTION: "func",
    SectionId.TABLE: "table", SectionId.MEMORY: "memory", SectionId.TAG: "tag",
    SectionId.GLOBAL: "global", SectionId.EXPORT: "export", SectionId.START: "start",
    SectionId.ELEMENT: "elem", SectionId.CODE: "code", SectionId.DATA: "data",
}


def print_module(module: Module) -> str:
    """The module as WAT text; raises :class:`TextError` for instructions it cannot name."""
    return _Printer(module).module()


def _escape(data: bytes) -> str:
    """A WAT string literal denoting exactly ``data``."""
    out = ['"']
    for b in data:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:02x}")
    out.append('"')
    return "".join(out)


def _comment(text: str) -> str:
    """A line comment safe for any name: control characters are escaped."""
    return " ;; " + "".join(c if c.isprintable() else f"\\u{{{ord(c):x}}}" for c in text)


def _float_text(bits: int, exp_bits: int, frac_bits: int) -> str:
    """An exact WAT literal for the IEEE value with these bits: hex float, inf or nan:0x."""
    sign = "-" if bits >> (exp_bits + frac_bits) & 1 else ""
    exp = (bits >> frac_bits) & ((1 << exp_bits) - 1)
    frac = bits & ((1 << frac_bits) - 1)
    if exp == (1 << exp_bits) - 1:
        return f"{sign}inf" if frac == 0 else f"{sign}nan:{frac:#x}"
    if exp == 0 and frac == 0:
        return f"{sign}0x0p+0"
    bias = (1 << (exp_bits - 1)) - 1
    lead, power = (0, 1 - bias) if exp == 0 else (1, exp - bias)
    pad = -frac_bits % 4  # hex digits hold four bits; align the fraction to them
    digits = f"{frac << pad:0{(frac_bits + pad) // 4}x}".rstrip("0")
    return f"{sign}0x{lead}{'.' + digits if digits else ''}p{power:+d}"


def _types_clause(kw: str, types: tuple[ValType, ...] | list[ValType]) -> str:
    return f" ({kw} {' '.join(map(str, types))})" if types else ""


def _limits(lim: Limits) -> str:
    return f"{lim.min}" if lim.max is None else f"{lim.min} {lim.max}"


def _table_type(t: TableType) -> str:
    return f"{_limits(t.limits)} {t.elem}"


def _global_type(t: GlobalType) -> str:
    return f"(mut {t.type})" if t.mut else str(t.type)


def _blocktype(bt: None | ValType | int) -> str:
    if bt is None:
        return ""
    if isinstance(bt, int):
        return f" (type {bt})"
    return f" (result {bt})"


def _catch(c: Catch) -> str:
    if c.kind in (CatchKind.CATCH, CatchKind.CATCH_REF):
        return f" ({c.kind.text} {c.tag} {c.label})"
    return f" ({c.kind.text} {c.label})"


def _instr_text(ins: Instr) -> str:
    """One instruction in flat text form, immediates included."""
    op, imm = ins.op, ins.imm
    info = OPS.get(op)
    if info is None:
        raise TextError(f"unknown instruction {op!r}", instr=op)
    kind = info.imm
    if op == "select" and imm:
        # Even an empty ``(result)`` is kept: it is what makes the select typed.
        return f"select (result{''.join(f' {t}' for t in imm[0])})"
    if kind is Imm.NONE:
        return op
    if kind is Imm.BLOCK:
        return op + _blocktype(imm[0])
    if kind is Imm.TRY_TABLE:
        return op + _blocktype(imm[0]) + "".join(map(_catch, imm[1]))
    if kind is Imm.BR_TABLE:
        return f"{op} {' '.join(map(str, (*imm[0], imm[1])))}"
    if kind is Imm.CALL_INDIRECT:
        return f"{op} {imm[1]} (type {imm[0]})"
    if kind is Imm.MEMARG:
        return op + _memarg(imm[0].offset, imm[0].align, info.natural_align)
    if kind is Imm.F32:
        return f"{op} {_float_text(imm[0], 8, 23)}"
    if kind is Imm.F64:
        return f"{op} {_float_text(imm[0], 11, 52)}"
    if kind is Imm.HEAP:
        return f"{op} {imm[0].value}"
    if kind is Imm.MEM:
        return op if imm[0] == 0 else f"{op} {imm[0]}"
    if kind is Imm.TWO:
        return _two(op, imm)
    return f"{op} {imm[0]}"


def _memarg(offset: int, align: int, natural: int | None) -> str:
    if align > _MAX_ALIGN_LOG2:
        raise TextError(f"alignment 2**{align} has no text form")
    text = f" offset={offset}" if offset else ""
    return text + (f" align={1 << align}" if align != natural else "")


def _two(op: str, imm: tuple) -> str:
    """The two-index bulk instructions, in text order (``table.init table elem``)."""
    if op == "table.init":
        return f"{op} {imm[1]} {imm[0]}"
    if op == "memory.init":
        return f"{op} {imm[0]}" if imm[1] == 0 else f"{op} {imm[1]} {imm[0]}"
    if op == "memory.copy" and imm == (0, 0):
        return op
    return f"{op} {imm[0]} {imm[1]}"


def _custom(c: Custom) -> str:
    """A custom section as an annotation; the text has no name for the data count
    section, but the code section always follows it."""
    if c.after == 0:
        place = "(before first)"
    elif c.after == SectionId.DATA_COUNT:
        place = "(before code)"
    elif c.after in _SECTION_NAMES:
        place = f"(after {_SECTION_NAMES[c.after]})"
    else:
        raise TextError(f"custom section {c.name!r} follows unknown section {c.after}")
    return f"(@custom {_escape(c.name.encode())} {place} {_escape(c.data)})"


def _expr(instrs: Expr) -> str:
    """A constant expression on one line."""
    return " ".join(map(_instr_text, instrs))


class _Printer:
    def __init__(self, module: Module) -> None:
        self.m = module
        self.lines: list[str] = []

    def typeuse(self, idx: int) -> str:
        """``(type N)`` plus the inline signature when N names a type, for the reader."""
        text = f"(type {idx})"
        if 0 <= idx < len(self.m.types):
            ft: FuncType = self.m.types[idx]
            text += _types_clause("param", ft.params) + _types_clause("result", ft.results)
        return text

    def module(self) -> str:
        m = self.m
        names = m.names
        head = "(module"
        if names is not None and names.module is not None:
            head += _comment(names.module)
        self.lines.append(head)
        for i, ft in enumerate(m.types):
            self.line(f"(type (;{i};) (func{_types_clause('param', ft.params)}"
                      f"{_types_clause('result', ft.results)}))")
        counts = {kind: 0 for kind in ExternKind}
        for imp in m.imports:
            self.line(f"(import {_escape(imp.module.encode())} {_escape(imp.name.encode())} "
                      f"{self.import_desc(imp, counts[imp.kind])})")
            counts[imp.kind] += 1
        for i, f in enumerate(m.funcs, counts[ExternKind.FUNC]):
            self.func(i, f)
        for i, t in enumerate(m.tables, counts[ExternKind.TABLE]):
            self.line(f"(table (;{i};) {_table_type(t.type)})")
        for i, mem in enumerate(m.mems, counts[ExternKind.MEMORY]):
            self.line(f"(memory (;{i};) {_limits(mem.type.limits)})")
        for i, tag in enumerate(m.tags, counts[ExternKind.TAG]):
            self.line(f"(tag (;{i};) {self.typeuse(tag.type.type_idx)})")
        for i, g in enumerate(m.globals, counts[ExternKind.GLOBAL]):
            self.line(f"(global (;{i};) {_global_type(g.type)} {_expr(g.init)})")
        for e in m.exports:
            self.line(f"(export {_escape(e.name.encode())} ({e.kind.name.lower()} {e.index}))")
        if m.start is not None:
            self.line(f"(start {m.start})")
        for i, elem in enumerate(m.elems):
            self.line(self.elem(i, elem))
        for i, d in enumerate(m.datas):
            self.line(self.data(i, d))
        for c in m.customs:
            self.line(_custom(c))
        self.lines.append(")")
        return "\n".join(self.lines) + "\n"

    def line(self, text: str, depth: int = 1) -> None:
        self.lines.append(_INDENTS[min(depth, _MAX_INDENT)] + text)

    def import_desc(self, imp: Import, index: int) -> str:
        kind, desc = imp.kind, imp.desc
        if kind is ExternKind.FUNC:
            return f"(func (;{index};) {self.typeuse(desc)})"  # type: ignore[arg-type]
        if kind is ExternKind.TABLE:
            return f"(table (;{index};) {_table_type(desc)})"  # type: ignore[arg-type]
        if kind is ExternKind.MEMORY:
            return f"(memory (;{index};) {_limits(desc.limits)})"  # type: ignore[union-attr]
        if kind is ExternKind.GLOBAL:
            return f"(global (;{index};) {_global_type(desc)})"  # type: ignore[arg-type]
        assert isinstance(desc, TagType)
        return f"(tag (;{index};) {self.typeuse(desc.type_idx)})"

    def func(self, index: int, f: Func) -> None:
        head = f"(func (;{index};) {self.typeuse(f.type_idx)}"
        names = self.m.names
        if names is not None and index in names.funcs:
            head += _comment(names.funcs[index])
        self.line(head)
        if f.locals:
            self.line(f"(local {' '.join(map(str, f.locals))})", 2)
        depth = 2
        for ins in f.body:
            if ins.op == "end" or ins.op == "else":
                depth = max(depth - 1, 2)
            text = _instr_text(ins)
            if ins.op in _OPENERS:
                text += f"  ;; label = @{depth - 1}"
            self.line(text, depth)
            if ins.op in _OPENERS or ins.op == "else":
                depth += 1
        self.line(")")

    def elem(self, index: int, e: Elem) -> str:
        form = elem_form(e)
        parts = [f"(elem (;{index};)"]
        if e.mode is SegmentMode.DECLARATIVE:
            parts.append("declare")
        elif e.mode is SegmentMode.ACTIVE:
            if form & 2:
                parts.append(f"(table {e.table})")
            parts.append(f"(offset {_expr(e.offset or [])})")
        if form < 4:
            parts.append("func")
            parts.extend(str(expr[0].imm[0]) for expr in e.init)
        else:
            parts.append(str(e.type))
            parts.extend(f"(item {_expr(expr)})" for expr in e.init)
        return " ".join(parts) + ")"

    def data(self, index: int, d: Data) -> str:
        parts = [f"(data (;{index};)"]
        if data_form(d) == 2:
            parts.append(f"(memory {d.memory})")
        if d.mode is SegmentMode.ACTIVE:
            parts.append(f"(offset {_expr(d.offset or [])})")
        parts.append(_escape(d.init))
        return " ".join(parts) + ")"
