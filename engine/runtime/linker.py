"""``Linker``: name-based import resolution, as ``wasmtime.Linker``."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import LinkError
from ..syntax.types import FuncType
from .engine import Engine
from .func import Func
from .instance import Extern, Instance
from .module import Module
from .store import Store


class Linker:
    """Definitions by ``(module, name)``; :meth:`instantiate` resolves a module's
    imports against them.  Redefining a name is an error unless ``allow_shadowing``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.allow_shadowing = False
        self._items: dict[tuple[str, str], Extern] = {}
        self._host_funcs: dict[tuple[str, str], tuple[FuncType, Callable[..., Any]]] = {}

    def _check_new(self, key: tuple[str, str]) -> None:
        if not self.allow_shadowing and (key in self._items or key in self._host_funcs):
            raise LinkError(f"import of `{key[0]}::{key[1]}` defined twice")

    def define(self, store: Store, module: str, name: str, item: Extern) -> None:
        item._owner(store)
        key = (module, name)
        self._check_new(key)
        self._host_funcs.pop(key, None)
        self._items[key] = item

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable[..., Any]) -> None:
        """A host function, created in each store that instantiates through the linker."""
        key = (module, name)
        self._check_new(key)
        self._items.pop(key, None)
        self._host_funcs[key] = (ty, func)

    def define_instance(self, store: Store, name: str, instance: Instance) -> None:
        """Every export of ``instance`` under module name ``name``."""
        for export, item in instance.exports(store).items():
            self.define(store, name, export, item)

    def get(self, store: Store, module: str, name: str) -> Extern:
        key = (module, name)
        item = self._items.get(key)
        if item is not None:
            return item
        if key in self._host_funcs:
            created = store.linker_funcs.get((id(self), key))
            if created is None:
                ty, callable_ = self._host_funcs[key]
                created = store.linker_funcs[(id(self), key)] = Func(store, ty, callable_)
            return created
        raise LinkError(f"unknown import: `{module}::{name}` has not been defined")

    def instantiate(self, store: Store, module: Module) -> Instance:
        imports = [self.get(store, i.module, i.name) for i in module.syntax.imports]
        return Instance(store, module, imports)
