"""Module validation (spec 3.4): types, imports, definitions, segments, exports, start.

Feature gating and implementation limits follow wasmtime's validator (wasmparser)
with exceptions, tail calls, reference types, bulk memory, multi-value and
extended-const on, and SIMD, GC, typed function references, threads, memory64 and
multi-memory off, so that both accept exactly the same modules.
"""
from __future__ import annotations

from ..errors import ValidationError
from ..syntax.instructions import Instr
from ..syntax.module import Expr, Module, SegmentMode
from ..syntax.types import I32, ExternKind, FuncType, Limits, TagType, ValType, subtype
from .context import Context
from .instructions import check_body

MAX_PAGES = 65_536
MAX_TABLES = 100
_EXTENDED_CONST = {"i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul"}
_PLAIN_CONST = {"i32.const", "i64.const", "f32.const", "f64.const", "ref.null", "ref.func"}


def validate_module(module: Module) -> None:
    """Check that ``module`` is valid; raise :class:`ValidationError` if not."""
    _ModuleValidator(module).run()


class _ModuleValidator:
    def __init__(self, module: Module) -> None:
        self.m = module

    def run(self) -> None:
        m = self.m
        for imp in m.imports:
            self.import_desc(imp.kind, imp.desc)
        for f in m.funcs:
            self.type_at(f.type_idx)
        tables = m.table_types()
        if len(tables) > MAX_TABLES:
            raise ValidationError(f"tables count exceeds limit of {MAX_TABLES}")
        for t in m.tables:
            self.limits(t.type.limits, None)
            if not t.type.elem.nullable:   # no initialiser expression without typed refs
                raise ValidationError("type mismatch: non-defaultable element type")
        if len(m.mem_types()) > 1:
            raise ValidationError("multiple memories")
        for mem in m.mems:
            self.limits(mem.type.limits, MAX_PAGES)
        for tag in m.tags:
            self.tag_type(tag.type)

        ctx = Context(
            types=m.types, funcs=m.func_types(), tables=tables, mems=m.mem_types(),
            globals=m.global_types(), tags=[m.types[t.type_idx] for t in m.tag_types()],
            elems=[e.type for e in m.elems], datas=m.data_count,
            imported_globals=len(m.imported(ExternKind.GLOBAL)))
        ctx.refs = self.declared_refs()

        # Globals see only imported globals (no GC), so global i may not name itself.
        for i, g in enumerate(m.globals):
            self.const_expr(ctx, g.init, g.type.type, f"global {i}")
        self.exports(ctx)
        if m.start is not None:
            if m.start >= len(ctx.funcs):
                raise ValidationError(f"unknown function {m.start}")
            if ctx.funcs[m.start] != FuncType((), ()):
                raise ValidationError("start function must have type [] -> []")
        for i, e in enumerate(m.elems):
            if e.mode is SegmentMode.ACTIVE:
                if e.table >= len(tables):
                    raise ValidationError(f"unknown table {e.table}")
                self.const_expr(ctx, e.offset or [], I32, f"elem {i} offset")
                if not subtype(e.type, tables[e.table].elem):
                    raise ValidationError(
                        f"type mismatch: elem segment {i} of {e.type} in a table of "
                        f"{tables[e.table].elem}")
            for item in e.init:
                self.const_expr(ctx, item, e.type, f"elem {i} item")
        for i, d in enumerate(m.datas):
            if d.mode is SegmentMode.ACTIVE:
                if d.memory >= len(ctx.mems):
                    raise ValidationError(f"unknown memory {d.memory}")
                self.const_expr(ctx, d.offset or [], I32, f"data {i} offset")
        imported_funcs = len(ctx.funcs) - len(m.funcs)
        for i, f in enumerate(m.funcs):
            ft = m.types[f.type_idx]
            check_body(ctx, ft.params, ft.results, f.locals, f.body, f.offsets,
                       imported_funcs + i)

    # -- types and limits ------------------------------------------------------------

    def type_at(self, idx: int) -> FuncType:
        if idx >= len(self.m.types):
            raise ValidationError(f"unknown type {idx}")
        return self.m.types[idx]

    def tag_type(self, t: TagType) -> None:
        if self.type_at(t.type_idx).results:
            raise ValidationError("non-empty tag result type")

    def limits(self, lim: Limits, bound: int | None) -> None:
        """Memory limits are bounded by ``bound`` pages; table limits are not."""
        if bound is not None and (lim.min > bound or (lim.max is not None and lim.max > bound)):
            raise ValidationError("memory size must be at most 65536 pages (4GiB)")
        if lim.max is not None and lim.min > lim.max:
            raise ValidationError("size minimum must not be greater than maximum")

    def import_desc(self, kind: ExternKind, desc: object) -> None:
        if kind is ExternKind.FUNC:
            self.type_at(desc)  # type: ignore[arg-type]
        elif kind is ExternKind.TABLE:
            self.limits(desc.limits, None)  # type: ignore[union-attr]
        elif kind is ExternKind.MEMORY:
            self.limits(desc.limits, MAX_PAGES)  # type: ignore[union-attr]
        elif kind is ExternKind.TAG:
            self.tag_type(desc)  # type: ignore[arg-type]

    # -- references, constants, exports ----------------------------------------------

    def declared_refs(self) -> set[int]:
        """C.refs: functions named outside function bodies (globals, elems, exports)."""
        refs: set[int] = set()
        exprs: list[Expr] = [g.init for g in self.m.globals]
        for e in self.m.elems:
            exprs.extend(e.init)
        for expr in exprs:
            refs.update(ins.imm[0] for ins in expr if ins.op == "ref.func")
        refs.update(e.index for e in self.m.exports if e.kind is ExternKind.FUNC)
        return refs

    def const_expr(self, ctx: Context, expr: Expr, t: ValType, where: str) -> None:
        for ins in expr:
            self.constant_instr(ctx, ins)
        try:
            check_body(ctx, (), (t,), (), expr, None, None)
        except ValidationError as e:
            raise ValidationError(f"{e.message} (in {where})") from None

    def constant_instr(self, ctx: Context, ins: Instr) -> None:
        op = ins.op
        if op in _PLAIN_CONST or op in _EXTENDED_CONST:
            return
        if op == "global.get":
            x = ins.imm[0]
            if x >= len(ctx.globals):
                raise ValidationError(f"unknown global {x}")
            if x >= ctx.imported_globals:
                raise ValidationError(
                    "constant expression required: global.get of locally defined global")
            if ctx.globals[x].mut:
                raise ValidationError("constant expression required: global.get of mutable global")
            return
        raise ValidationError(f"constant expression required: {op} is not constant")

    def exports(self, ctx: Context) -> None:
        seen: set[str] = set()
        spaces: dict[ExternKind, tuple[str, int]] = {
            ExternKind.FUNC: ("function", len(ctx.funcs)),
            ExternKind.TABLE: ("table", len(ctx.tables)),
            ExternKind.MEMORY: ("memory", len(ctx.mems)),
            ExternKind.GLOBAL: ("global", len(ctx.globals)),
            ExternKind.TAG: ("tag", len(ctx.tags)),
        }
        for e in self.m.exports:
            if e.name in seen:
                raise ValidationError(f"duplicate export name {e.name!r}")
            seen.add(e.name)
            what, count = spaces[e.kind]
            if e.index >= count:
                raise ValidationError(f"unknown {what} {e.index}")

