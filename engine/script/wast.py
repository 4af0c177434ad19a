"""The ``.wast`` script format: command model and parser.

Follows the reference interpreter's ``script.ml``: a script is a list of
commands -- module definitions, ``register``, actions (``invoke``, ``get``) and
assertions.  Parsing only reads the script; executing it is :mod:`.run`'s job.

Modules are kept in the form the script gives them (:class:`ModuleSource`): text
forms keep their verbatim source text and are turned into binary by
``wasmtime.wat2wasm``, the text parser this project delegates to (with the characters
it refuses in strings escaped first, see :func:`.sexpr.escape_confusing`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple, Union

import wasmtime

from ..errors import TextError
from ..syntax.types import NumType
from .sexpr import Atom, Node, SList, Source, String, escape_confusing, read
from .values import Either, NanPattern, RefExtern, RefNull, RefPattern, Result, Value, parse_num

# Heads of module fields: a script that starts with one is a single inline module.
_MODULE_FIELDS = frozenset({"type", "import", "func", "table", "memory", "global", "export",
                            "start", "elem", "data", "tag", "rec"})
_NUM_TYPES = {t.value: t for t in NumType}


@dataclass(frozen=True, slots=True)
class ModuleSource:
    """A module as a script gives it.

    ``form`` is ``"text"`` (``text`` is the verbatim ``(module ...)`` form),
    ``"binary"`` (``data`` holds the concatenated strings) or ``"quote"``
    (``text`` is the concatenated strings, wrapped into ``(module ...)`` if they are
    only module fields).
    """

    form: str
    text: str | None = None
    data: bytes | None = None

    def wasm(self) -> bytes:
        """The module's binary; raises :class:`TextError` if wat2wasm rejects the text."""
        if self.data is not None:
            return self.data
        try:
            return wasmtime.wat2wasm(escape_confusing(self.text))
        except (wasmtime.WasmtimeError, UnicodeError) as e:
            # The first line is the message; the rest is a source excerpt.
            raise TextError(str(e).strip().splitlines()[0]) from e


@dataclass(frozen=True, slots=True)
class ModuleCommand:
    """``(module $name? ...)``; ``definition`` for ``(module definition ...)``, which
    defines a module without instantiating it."""

    line: int
    name: str | None
    source: ModuleSource
    definition: bool = False


@dataclass(frozen=True, slots=True)
class InstanceCommand:
    """``(module instance $instance? $module?)``: instantiate a defined module."""

    line: int
    name: str | None
    module: str | None


@dataclass(frozen=True, slots=True)
class Register:
    """``(register "as" $module?)``: make a module's exports importable under ``as``."""

    line: int
    as_name: str
    module: str | None


@dataclass(frozen=True, slots=True)
class Invoke:
    module: str | None
    field: str
    args: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Get:
    module: str | None
    field: str


Action = Union[Invoke, Get]


@dataclass(frozen=True, slots=True)
class ActionCommand:
    """An action as a command of its own: run it, ignore the results."""

    line: int
    action: Action


@dataclass(frozen=True, slots=True)
class AssertReturn:
    line: int
    action: Action
    results: tuple[Result, ...]


@dataclass(frozen=True, slots=True)
class AssertTrap:
    line: int
    action: Action
    message: str


@dataclass(frozen=True, slots=True)
class AssertExhaustion:
    line: int
    action: Action
    message: str


@dataclass(frozen=True, slots=True)
class AssertException:
    """``(assert_exception action)``: the action throws an uncaught Wasm exception."""

    line: int
    action: Action


@dataclass(frozen=True, slots=True)
class AssertModule:
    """A module assertion; ``kind`` is ``"invalid"``, ``"malformed"``, ``"unlinkable"``
    or ``"uninstantiable"`` (``assert_trap`` on a module is the latter)."""

    line: int
    kind: str
    module: ModuleSource
    message: str


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A command this parser does not model (``script``, ``input``, ``output``, ...)
    or one it could not read; runners count it as skipped with ``reason``."""

    line: int
    head: str
    reason: str


Command = Union[ModuleCommand, InstanceCommand, Register, ActionCommand, AssertReturn,
                AssertTrap, AssertExhaustion, AssertException, AssertModule, Unsupported]

RUNTIME_COMMANDS = (InstanceCommand, Register, ActionCommand, AssertReturn, AssertTrap,
                    AssertExhaustion, AssertException)
"""Commands that need an instantiated module to execute."""


def parse_script(text: str) -> list[Command]:
    """Parse a whole script; a malformed command becomes :class:`Unsupported`."""
    source = Source(text)
    forms = read(text)
    first = forms[0] if forms else None
    if isinstance(first, SList) and first.head in _MODULE_FIELDS:
        # A script made only of module fields is one module (inline-module.wast).
        return [ModuleCommand(1, None, ModuleSource("text", f"(module\n{text}\n)"))]
    return [_command(source, form) for form in forms]


def parse_file(path: str | Path) -> list[Command]:
    """Parse a ``.wast`` file (UTF-8; invalid bytes survive into string literals)."""
    text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
    return parse_script(text)


def wast_files(paths: list[str | Path]) -> list[Path]:
    """The ``.wast`` files named by ``paths``: files as given, directories recursed, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.wast")) if path.is_dir() else [path])
    return files


class ModuleCase(NamedTuple):
    """One module of a script with the verdict the script expects for it."""

    file: Path
    line: int
    data: bytes
    expected: str
    """``"valid"`` for module commands, else the assertion kind: ``"invalid"``,
    ``"malformed"``, ``"unlinkable"`` or ``"uninstantiable"``."""
    text: str | None
    """The module's text, or None for binary modules."""


def iter_modules(*paths: str | Path) -> Iterator[ModuleCase]:
    """Every module of the scripts under ``paths`` that has a binary form.

    Text modules wat2wasm rejects have none and are left out -- for
    ``assert_malformed`` that rejection is the expected outcome.
    """
    for file in wast_files(list(paths)):
        for command in parse_file(file):
            if isinstance(command, ModuleCommand):
                expected, module = "valid", command.source
            elif isinstance(command, AssertModule):
                expected, module = command.kind, command.module
            else:
                continue
            try:
                data = module.wasm()
            except TextError:
                continue
            yield ModuleCase(file, command.line, data, expected, module.text)


def _command(source: Source, form: Node) -> Command:
    line = source.line_of(form.start)
    if not isinstance(form, SList) or form.head is None:
        return Unsupported(line, "?", "a command must be a list starting with a keyword")
    head = form.head
    parser = _PARSERS.get(head)
    if parser is None:
        return Unsupported(line, head, f"unknown command {head}")
    try:
        return parser(source, form, line)
    except (TextError, IndexError, KeyError, ValueError) as e:
        return Unsupported(line, head, f"cannot read {head}: {e or type(e).__name__}")


def _module(source: Source, form: SList, line: int) -> ModuleCommand | InstanceCommand:
    items = form.items
    if _keyword(items, 1) == "instance":
        return InstanceCommand(line, _name(items, 2), _name(items, 3))
    definition = _keyword(items, 1) == "definition"
    i = 2 if definition else 1
    name = _name(items, i)
    if name:
        i += 1
    kind = _keyword(items, i)
    if kind == "binary":
        data = b"".join(_strings(items[i + 1:]))
        return ModuleCommand(line, name, ModuleSource("binary", data=data), definition)
    if kind == "quote":
        quoted = b"".join(_strings(items[i + 1:])).decode("utf-8", "surrogateescape")
        return ModuleCommand(line, name, ModuleSource("quote", _wrap_quote(quoted)), definition)
    text = source.span(form)
    if definition:
        # wat2wasm does not know the script-only ``definition`` keyword.
        keyword = items[1]
        text = "(module" + source.text[keyword.start + len(keyword.text):form.end]
    return ModuleCommand(line, name, ModuleSource("text", text), definition)


def _wrap_quote(text: str) -> str:
    """Quoted text is a whole ``(module ...)`` or just its fields (as the spec's parser allows)."""
    try:
        forms = read(text)
    except TextError:
        forms = []
    if len(forms) == 1 and isinstance(forms[0], SList) and forms[0].head == "module":
        return text
    # Newlines keep a trailing line comment from swallowing the closing parenthesis.
    return f"(module\n{text}\n)"


def _register(source: Source, form: SList, line: int) -> Register:
    return Register(line, _string(form.items[1]), _name(form.items, 2))


def _action_command(source: Source, form: SList, line: int) -> ActionCommand:
    return ActionCommand(line, _action(form))


def _assert_return(source: Source, form: SList, line: int) -> AssertReturn:
    return AssertReturn(line, _action(form.items[1]),
                        tuple(_result(r) for r in form.items[2:]))


def _assert_trap(source: Source, form: SList, line: int) -> AssertTrap | AssertModule:
    target = form.items[1]
    message = _string(form.items[2])
    if isinstance(target, SList) and target.head == "module":
        return AssertModule(line, "uninstantiable", _module_source(source, target), message)
    return AssertTrap(line, _action(target), message)


def _assert_exhaustion(source: Source, form: SList, line: int) -> AssertExhaustion:
    return AssertExhaustion(line, _action(form.items[1]), _string(form.items[2]))


def _assert_exception(source: Source, form: SList, line: int) -> AssertException:
    return AssertException(line, _action(form.items[1]))


def _assert_module(kind: str):
    def parse(source: Source, form: SList, line: int) -> AssertModule:
        return AssertModule(line, kind, _module_source(source, form.items[1]),
                            _string(form.items[2]))
    return parse


def _module_source(source: Source, form: Node) -> ModuleSource:
    if not isinstance(form, SList) or form.head != "module":
        raise TextError("expected a (module ...) form")
    command = _module(source, form, 0)
    if not isinstance(command, ModuleCommand):
        raise TextError("expected a module, not a module instance")
    return command.source


def _action(form: Node) -> Action:
    if not isinstance(form, SList) or form.head not in ("invoke", "get"):
        raise TextError("expected (invoke ...) or (get ...)")
    items = form.items
    module = _name(items, 1)
    i = 2 if module else 1
    field = _string(items[i])
    if form.head == "get":
        return Get(module, field)
    return Invoke(module, field, tuple(_const(a) for a in items[i + 1:]))


def _const(form: Node) -> Value:
    """An argument constant: ``(t.const n)``, ``(ref.null ht)``, ``(ref.extern n)``."""
    if not isinstance(form, SList) or form.head is None:
        raise TextError("expected a constant")
    head = form.head
    if head.endswith(".const") and head[:-6] in _NUM_TYPES:
        return parse_num(_NUM_TYPES[head[:-6]], _atom(form.items[1]))
    if head == "ref.null" and len(form.items) == 2:
        return RefNull(_atom(form.items[1]))
    if head in ("ref.extern", "ref.host") and len(form.items) == 2:
        return RefExtern(int(_atom(form.items[1]), 0))
    raise TextError(f"unsupported constant {head}")


def _result(form: Node) -> Result:
    """An expected result: a constant, a NaN pattern, a reference pattern or ``either``."""
    if isinstance(form, SList) and form.head == "either":
        return Either(tuple(_result(r) for r in form.items[1:]))
    if isinstance(form, SList) and form.head and len(form.items) == 1 \
            and form.head.startswith("ref."):
        return RefPattern(form.head[4:])
    if isinstance(form, SList) and form.head and form.head.endswith(".const") \
            and len(form.items) == 2:
        literal = _atom(form.items[1])
        if literal in ("nan:canonical", "nan:arithmetic") and form.head[:-6] in _NUM_TYPES:
            return NanPattern(_NUM_TYPES[form.head[:-6]], literal[4:])
    return _const(form)


def _keyword(items: list[Node], i: int) -> str | None:
    item = items[i] if i < len(items) else None
    return item.text if isinstance(item, Atom) else None


def _name(items: list[Node], i: int) -> str | None:
    word = _keyword(items, i)
    return word if word and word.startswith("$") else None


def _atom(node: Node) -> str:
    if not isinstance(node, Atom):
        raise TextError("expected an atom")
    return node.text


def _string(node: Node) -> str:
    if not isinstance(node, String):
        raise TextError("expected a string")
    return node.text()


def _strings(nodes: list[Node]) -> list[bytes]:
    if not all(isinstance(n, String) for n in nodes):
        raise TextError("expected only strings")
    return [n.value for n in nodes]


_PARSERS = {
    "module": _module,
    "register": _register,
    "invoke": _action_command,
    "get": _action_command,
    "assert_return": _assert_return,
    "assert_trap": _assert_trap,
    "assert_exhaustion": _assert_exhaustion,
    "assert_exception": _assert_exception,
    "assert_invalid": _assert_module("invalid"),
    "assert_malformed": _assert_module("malformed"),
    "assert_unlinkable": _assert_module("unlinkable"),
    "assert_uninstantiable": _assert_module("uninstantiable"),
}
