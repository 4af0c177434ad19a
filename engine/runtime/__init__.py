"""The runtime: a Python API shaped like wasmtime-py's over the JIT.

>>> from engine.runtime import Engine, Store, Module, Instance
>>> store = Store(Engine())
>>> module = Module(store.engine, '(module (func (export "add") (param i32 i32) (result i32)'
...                 ' (i32.add (local.get 0) (local.get 1))))')
>>> Instance(store, module, []).exports(store)["add"](store, 2, 3)
5
"""
from ..errors import LinkError
from ..syntax.types import (EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, FuncType, GlobalType, Limits,
                            MemType, TableType)
from .engine import Config, Engine
from .exception import ExnRef, WasmException
from .func import Func
from .global_ import Global
from .instance import Instance
from .linker import Linker
from .memory import Memory
from .module import ExportType, ImportType, Module
from .store import Store
from .table import Table
from .tag import Tag
from ..errors import Trap, TrapCode

__all__ = [
    "Config", "EXNREF", "EXTERNREF", "Engine", "ExnRef", "ExportType", "F32", "F64", "FUNCREF", "Func", "FuncType",
    "Global", "GlobalType", "I32", "I64", "ImportType", "Instance", "Limits", "LinkError",
    "Linker", "MemType", "Memory", "Module", "Store", "Table", "TableType", "Tag", "Trap",
    "TrapCode", "WasmException",
]
