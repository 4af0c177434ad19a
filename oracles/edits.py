"""Edits of a decoded module that a reducer tries: each one small, each one a new value.

Nothing here mutates what it is given (instructions are shared between the old module
and the new), so a reducer can keep its best module while it tries candidates.

- A body is edited as a tree (:class:`Node`): a structured instruction
  (``block``/``loop``/``if``/``try_table``) owns its body and, for ``if``, its else
  branch, so deleting it deletes them.  A sibling list is addressed by a *path*
  (:func:`sequences`).  :func:`unwrap` splices a structured instruction's body into its
  place: branches out of the body then cross one label less, so their label indices
  drop by one (a ``try_table``'s catch labels count from outside it); a branch to the
  removed label itself makes the splice impossible (None).
- An item of an index space (a function, global, tag, table, element or data segment,
  type, or import) is removed by :func:`remove_item` only when nothing refers to it;
  every larger index is renumbered in instructions, constant expressions, exports,
  segments, the start function and type uses.

Whether an edit keeps the module valid is the validator's call: the reducer validates
every candidate.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine.syntax import Catch, Imm, Instr, Module, OPS
from engine.syntax.module import Elem, Export, Expr, Func, Global, SegmentMode
from engine.syntax.types import ExternKind, TagType

STRUCTURED = frozenset({"block", "loop", "if", "try_table"})
SPACES = ("func", "table", "memory", "global", "tag", "type", "elem", "data")
_KIND_SPACE = {ExternKind.FUNC: "func", ExternKind.TABLE: "table", ExternKind.MEMORY: "memory",
               ExternKind.GLOBAL: "global", ExternKind.TAG: "tag"}
UNREACHABLE = Instr("unreachable")


@dataclass(frozen=True)
class Node:
    """An instruction; structured ones own their ``body`` and an ``if`` its ``orelse``
    (None: no ``else``)."""
    instr: Instr
    body: tuple["Node", ...] = ()
    orelse: tuple["Node", ...] | None = None


Path = tuple[tuple[int, str], ...]
"""Where a sibling list is: (index of a structured node, ``body`` or ``orelse``) per level."""


def tree(flat: Expr) -> tuple[Node, ...]:
    """The tree of a flat body (without its closing ``end``)."""
    stack: list[tuple[Instr | None, list[Node], list[Node] | None]] = [(None, [], None)]
    for ins in flat:
        if ins.op in STRUCTURED:
            stack.append((ins, [], None))
        elif ins.op == "else":
            head, body, _ = stack.pop()
            stack.append((head, body, []))
        elif ins.op == "end":
            head, body, orelse = stack.pop()
            assert head is not None, "unbalanced end"
            node = Node(head, tuple(body), None if orelse is None else tuple(orelse))
            top = stack[-1]
            (top[2] if top[2] is not None else top[1]).append(node)
        else:
            top = stack[-1]
            (top[2] if top[2] is not None else top[1]).append(Node(ins))
    assert len(stack) == 1, "unclosed structured instruction"
    return tuple(stack[0][1])


def flatten(nodes: tuple[Node, ...]) -> Expr:
    out: Expr = []
    for node in nodes:
        out.append(node.instr)
        if node.instr.op in STRUCTURED:
            out += flatten(node.body)
            if node.orelse is not None:
                out.append(Instr("else"))
                out += flatten(node.orelse)
            out.append(Instr("end"))
    return out


def size(nodes: tuple[Node, ...]) -> int:
    """Instructions in ``nodes``, ``else`` and ``end`` included (as in the binary)."""
    return len(flatten(nodes))


def sequences(nodes: tuple[Node, ...], path: Path = ()) -> Iterator[Path]:
    """Every sibling list in ``nodes``, outermost first (pre-order)."""
    yield path
    for i, node in enumerate(nodes):
        if node.instr.op in STRUCTURED:
            yield from sequences(node.body, path + ((i, "body"),))
            if node.orelse is not None:
                yield from sequences(node.orelse, path + ((i, "orelse"),))


def get(nodes: tuple[Node, ...], path: Path) -> tuple[Node, ...]:
    for i, part in path:
        nodes = getattr(nodes[i], part)
    return nodes


def put(nodes: tuple[Node, ...], path: Path, new: tuple[Node, ...]) -> tuple[Node, ...]:
    """``nodes`` with the sibling list at ``path`` replaced by ``new``."""
    if not path:
        return new
    (i, part), rest = path[0], path[1:]
    node = dataclasses.replace(nodes[i], **{part: put(getattr(nodes[i], part), rest, new)})
    return nodes[:i] + (node,) + nodes[i + 1:]


def unwrap(node: Node, branch: str = "body") -> tuple[Node, ...] | None:
    """The nodes that replace structured ``node`` by its ``branch`` (``body`` or
    ``orelse``), labels renumbered; None if a branch targets ``node``'s own label."""
    try:
        return _shift(getattr(node, branch) or (), 0)
    except _Targeted:
        return None


class _Targeted(Exception):
    pass


def _label(label: int, depth: int) -> int:
    if label == depth:
        raise _Targeted
    return label - 1 if label > depth else label


def _shift(nodes: tuple[Node, ...], depth: int) -> tuple[Node, ...]:
    out = []
    for node in nodes:
        ins = node.instr
        if ins.op in ("br", "br_if"):
            ins = Instr(ins.op, (_label(ins.imm[0], depth),))
        elif ins.op == "br_table":
            ins = Instr(ins.op, (tuple(_label(x, depth) for x in ins.imm[0]), _label(ins.imm[1], depth)))
        elif ins.op == "try_table":
            blocktype, catches = ins.imm
            ins = Instr(ins.op, (blocktype, tuple(Catch(c.kind, c.tag, _label(c.label, depth)) for c in catches)))
        if ins.op in STRUCTURED:
            node = Node(ins, _shift(node.body, depth + 1),
                        None if node.orelse is None else _shift(node.orelse, depth + 1))
        else:
            node = Node(ins)
        out.append(node)
    return tuple(out)


def with_body(module: Module, index: int, body: Expr, locals_: list | None = None) -> Module:
    """``module`` with defined function ``index``'s body (and locals) replaced."""
    funcs = list(module.funcs)
    old = funcs[index]
    funcs[index] = Func(old.type_idx, old.locals if locals_ is None else locals_, body)
    return dataclasses.replace(module, funcs=funcs)


def without_local(module: Module, index: int, local: int) -> Module | None:
    """``module`` without declared local ``local`` of defined function ``index`` (the
    later ones renumbered); None when an instruction uses it."""
    func = module.funcs[index]
    params = len(module.types[func.type_idx].params)
    gone = params + local
    body = []
    for ins in func.body:
        if ins.op in ("local.get", "local.set", "local.tee"):
            if ins.imm[0] == gone:
                return None
            if ins.imm[0] > gone:
                ins = Instr(ins.op, (ins.imm[0] - 1,))
        body.append(ins)
    return with_body(module, index, body, func.locals[:local] + func.locals[local + 1:])


def instruction_count(module: Module) -> int:
    """Instructions in every function body (their ``end`` included)."""
    return sum(len(f.body) + 1 for f in module.funcs)


# Index spaces -----------------------------------------------------------------------

class _Referenced(Exception):
    pass


Remap = Callable[[int], int]


def _instr(ins: Instr, space: str, f: Remap) -> Instr:
    """``ins`` with its references into ``space`` renumbered by ``f``."""
    kind, imm = OPS[ins.op].imm if ins.op in OPS else Imm.SELECT_T, ins.imm
    new = imm
    if kind == Imm.FUNC and space == "func" or kind == Imm.GLOBAL and space == "global" \
            or kind == Imm.TABLE and space == "table" or kind == Imm.TAG and space == "tag" \
            or kind == Imm.ELEM and space == "elem" or kind == Imm.DATA and space == "data" \
            or kind == Imm.MEM and space == "memory":
        new = (f(imm[0]),)
    elif kind == Imm.CALL_INDIRECT:
        new = (f(imm[0]) if space == "type" else imm[0], f(imm[1]) if space == "table" else imm[1])
    elif kind in (Imm.BLOCK, Imm.TRY_TABLE):
        blocktype = f(imm[0]) if space == "type" and isinstance(imm[0], int) else imm[0]
        if kind == Imm.BLOCK:
            new = (blocktype,)
        else:
            catches = imm[1] if space != "tag" else tuple(
                Catch(c.kind, None if c.tag is None else f(c.tag), c.label) for c in imm[1])
            new = (blocktype, catches)
    elif kind == Imm.TWO:
        first, second = imm
        if ins.op == "memory.init":
            new = (f(first) if space == "data" else first, f(second) if space == "memory" else second)
        elif ins.op == "table.init":
            new = (f(first) if space == "elem" else first, f(second) if space == "table" else second)
        elif ins.op == "table.copy" and space == "table" or ins.op == "memory.copy" and space == "memory":
            new = (f(first), f(second))
    return ins if new == imm else Instr(ins.op, new)


def _expr(expr: Expr, space: str, f: Remap) -> Expr:
    return [_instr(ins, space, f) for ins in expr]


def remap(module: Module, space: str, f: Remap) -> Module:
    """``module`` with every reference into index ``space`` renumbered by ``f``."""
    m = dataclasses.replace(module, customs=[], names=None)
    m.funcs = [Func(f(fn.type_idx) if space == "type" else fn.type_idx, fn.locals, _expr(fn.body, space, f))
               for fn in module.funcs]
    m.globals = [Global(g.type, _expr(g.init, space, f)) for g in module.globals]
    m.exports = [Export(e.name, e.kind, f(e.index)) if _KIND_SPACE[e.kind] == space else e for e in module.exports]
    if module.start is not None and space == "func":
        m.start = f(module.start)
    m.elems = [Elem(e.type, [_expr(x, space, f) for x in e.init], e.mode,
                    f(e.table) if space == "table" and e.mode == SegmentMode.ACTIVE else e.table,
                    None if e.offset is None else _expr(e.offset, space, f), e.form) for e in module.elems]
    m.datas = [dataclasses.replace(d, memory=f(d.memory) if space == "memory" and d.mode == SegmentMode.ACTIVE
                                   else d.memory, offset=None if d.offset is None else _expr(d.offset, space, f))
               for d in module.datas]
    if space == "type":
        m.imports = [dataclasses.replace(i, desc=f(i.desc) if i.kind == ExternKind.FUNC else
                                         TagType(f(i.desc.type_idx)) if i.kind == ExternKind.TAG else i.desc)
                     for i in module.imports]
        m.tags = [dataclasses.replace(t, type=TagType(f(t.type.type_idx))) for t in module.tags]
    return m


def items(module: Module, space: str) -> int:
    """How many items index ``space`` has (imports included)."""
    defined = {"func": module.funcs, "table": module.tables, "memory": module.mems, "global": module.globals,
               "tag": module.tags, "type": module.types, "elem": module.elems, "data": module.datas}[space]
    return len(defined) + sum(1 for i in module.imports if _KIND_SPACE.get(i.kind) == space)


def remove_item(module: Module, space: str, index: int) -> Module | None:
    """``module`` without item ``index`` of ``space`` (an import or a definition), the
    rest renumbered; None when something refers to it."""
    def f(old: int) -> int:
        if old == index:
            raise _Referenced
        return old - 1 if old > index else old
    try:
        m = remap(module, space, f)
    except _Referenced:
        return None
    imported = [n for n, i in enumerate(module.imports) if _KIND_SPACE.get(i.kind) == space]
    if index < len(imported):
        m.imports = [i for n, i in enumerate(m.imports) if n != imported[index]]
        return m
    index -= len(imported)
    name = {"func": "funcs", "table": "tables", "memory": "mems", "global": "globals", "tag": "tags",
            "type": "types", "elem": "elems", "data": "datas"}[space]
    setattr(m, name, [x for n, x in enumerate(getattr(m, name)) if n != index])
    if space == "data" and m.data_count is not None:
        m.data_count = len(m.datas)
    return m
