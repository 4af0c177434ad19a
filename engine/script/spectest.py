"""The ``spectest`` host module the suites import from, as the reference
interpreter's ``spectest.ml`` defines it: ``print*`` functions (no-ops here), four
immutable globals holding 666 / 666.6, a table of 10 to 20 funcrefs and a memory of
1 to 2 pages."""
from __future__ import annotations

from types import ModuleType

from .. import runtime as in_process
from ..runtime import (F32, F64, FUNCREF, I32, I64, FuncType, GlobalType, Limits, MemType, Store,
                       TableType)
from ..runtime.instance import Extern

_PRINTS = {
    "print": (), "print_i32": (I32,), "print_i64": (I64,), "print_f32": (F32,),
    "print_f64": (F64,), "print_i32_f32": (I32, F32), "print_f64_f64": (F64, F64),
}
_GLOBALS = {"global_i32": (I32, 666), "global_i64": (I64, 666), "global_f32": (F32, 666.6),
            "global_f64": (F64, 666.6)}


def _print(*_args: object) -> None:
    """The suites only call ``print*`` for its type; the output is not checked."""


def spectest(store: Store, api: ModuleType = in_process) -> dict[str, Extern]:
    """A fresh ``spectest`` module's exports in ``store``, made with ``api`` (the
    store's runtime)."""
    exports: dict[str, Extern] = {
        name: api.Func(store, FuncType(params, ()), _print) for name, params in _PRINTS.items()}
    for name, (t, value) in _GLOBALS.items():
        exports[name] = api.Global(store, GlobalType(False, t), value)
    exports["table"] = api.Table(store, TableType(Limits(10, 20), FUNCREF))
    exports["memory"] = api.Memory(store, MemType(Limits(1, 2)))
    return exports
