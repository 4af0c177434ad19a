"""Wasm exceptions on wasmtime: a small typed layer over wasmtime-py's raw C API bindings.

wasmtime-py's own API cannot carry exceptions: its ``Func`` and ``ValType`` know no
``exnref`` (asking a ``ValType`` of one for its kind aborts the process), and a Python
host function that raises always becomes a trap.  This module does what the oracle
needs through ``wasmtime._ffi`` instead:

- :class:`Val` owns one ``wasmtime_val_t`` of any kind, ``exnref`` included
  (:data:`EXNREF`), with numbers as exact bits;
- :func:`call` calls a function and raises :class:`WasmTrap` or
  :class:`WasmException` when it does not return;
- :func:`exn_new`, :func:`exn_tag`, :func:`exn_fields`, :func:`exn_identity` make and
  read exception objects;
- :func:`host_func` makes a host function of a Python callback, which throws into the
  calling wasm by raising :class:`WasmException`;
- :func:`instantiate`, :func:`global_get`, :func:`table_get`, and :func:`type_names`,
  :func:`valtype_name` (type names without touching ``ValType``'s abort-prone kind).

Ownership rules of the C API, kept here so callers need not know them: arguments of
calls are borrowed, results are owned (each :class:`Val` unroots its reference when it
is collected -- unrooting needs no store, so that is safe after the store is gone);
a host callback's arguments are borrowed for the callback only (they are cloned), and
its results are handed over (clones are written); a trap a callback returns is handed
over to wasmtime.
"""
from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

I32, I64, F32, F64 = (ffi.WASMTIME_I32.value, ffi.WASMTIME_I64.value,
                      ffi.WASMTIME_F32.value, ffi.WASMTIME_F64.value)
FUNCREF, EXTERNREF = ffi.WASMTIME_FUNCREF.value, ffi.WASMTIME_EXTERNREF.value
EXNREF = 8
"""``wasmtime_val_t.kind`` of an ``exnref`` (absent from wasmtime-py's constants; found
by reading the kind of a returned exnref)."""
KIND_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64",
              FUNCREF: "funcref", EXTERNREF: "externref", EXNREF: "exnref"}
_WIDTH = {I32: 32, F32: 32, I64: 64, F64: 64}

_VALTYPE_NUMS = {0: "i32", 1: "i64", 2: "f32", 3: "f64", 4: "v128"}
_VALTYPE_REF = 5
_HEAP_NAMES = {0: "extern", 1: "noextern", 2: "func", 4: "nofunc", 13: "exn", 15: "noexn"}
_SHORTHANDS = {"func": "funcref", "extern": "externref", "exn": "exnref",
               "nofunc": "nullfuncref", "noextern": "nullexternref", "noexn": "nullexnref"}
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda env: None)
"""Finalizer of host functions' (null) environment; wasmtime calls it when the store
goes, so it lives as long as the module."""
_NO_DATA_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
"""No finalizer: the externrefs made here carry no host data to release."""

_host_errors: dict[int, BaseException] = {}
"""Why a host callback failed, by store context address, until the call that sees the
failure takes it (see :func:`_failure`)."""


class WasmTrap(Exception):
    """A trap ended the call.  ``code`` is a :class:`wasmtime.TrapCode`, or None for a
    trap of a host function that failed; then ``__cause__`` is the Python error the
    callback raised."""

    def __init__(self, code: wasmtime.TrapCode | None, message: str, raw: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self._raw = raw  # an owned wasm_trap_t*, or None

    @classmethod
    def _from_raw(cls, raw: Any) -> WasmTrap:
        trap = wasmtime.Trap._from_ptr(raw)
        code, message = trap.trap_code, trap.message
        return cls(code, message, trap._consume())

    def into_raw(self) -> int:
        """The trap as a ``wasm_trap_t*`` for a host callback to return (wasmtime owns
        it then; a trap already handed over is made again with the same code)."""
        raw, self._raw = self._raw, None
        if raw is None:
            raw = _new_trap(str(self), self.code)
        return ctypes.cast(raw, ctypes.c_void_p).value or 0

    def __del__(self) -> None:
        if self._raw is not None:
            ffi.wasm_trap_delete(self._raw)
            self._raw = None


class WasmException(Exception):
    """A wasm exception: raised by :func:`call` when one escaped the call, and raised by
    a host callback to throw ``exn`` (an exnref :class:`Val`) into its caller.  Raising
    the same one again throws the same exception object."""

    def __init__(self, exn: Val) -> None:
        super().__init__("wasm exception")
        self.exn = exn


class Val:
    """A ``wasmtime_val_t`` this object owns; a reference in it stays rooted until the
    object is collected.  Numbers are their bits: f32/f64 are written and read through
    the union's integer fields, so NaN payloads survive."""

    __slots__ = ("raw",)

    def __init__(self, raw: ffi.wasmtime_val_t) -> None:
        """Take ownership of ``raw``."""
        self.raw = raw

    @classmethod
    def number(cls, kind: int, bits: int) -> Val:
        """The number of ``kind`` (:data:`I32` ... :data:`F64`) with ``bits``."""
        raw = ffi.wasmtime_val_t()
        raw.kind = kind
        width = _WIDTH[kind]
        bits &= (1 << width) - 1
        signed = bits - (1 << width) if bits >> (width - 1) else bits
        if width == 32:
            raw.of.i32 = signed
        else:
            raw.of.i64 = signed
        return cls(raw)

    @classmethod
    def null(cls, kind: int) -> Val:
        """The null reference of ``kind`` (:data:`FUNCREF`, :data:`EXTERNREF`, :data:`EXNREF`)."""
        raw = ffi.wasmtime_val_t()
        raw.kind = kind  # a zeroed union is null for every reference kind
        return cls(raw)

    @classmethod
    def externref(cls, context: Any) -> Val:
        """A new non-null externref (with no host data)."""
        raw = ffi.wasmtime_val_t()
        raw.kind = EXTERNREF
        if not ffi.wasmtime_externref_new(context, 1, _NO_DATA_FINALIZER, ctypes.byref(raw.of.externref)):
            raise wasmtime.WasmtimeError("failed to allocate an externref")
        return cls(raw)

    @classmethod
    def clone_of(cls, raw: ffi.wasmtime_val_t) -> Val:
        """A new owned value equal to borrowed ``raw`` (a new root for a reference)."""
        out = ffi.wasmtime_val_t()
        ffi.wasmtime_val_clone(ctypes.byref(raw), ctypes.byref(out))
        return cls(out)

    def clone(self) -> Val:
        return Val.clone_of(self.raw)

    def into_raw(self) -> ffi.wasmtime_val_t:
        """Hand the value over (to wasmtime): this object no longer owns it."""
        raw, self.raw = self.raw, None
        return raw

    @property
    def kind(self) -> int:
        return int(self.raw.kind)

    @property
    def bits(self) -> int:
        """The bits of a number."""
        width = _WIDTH[self.kind]
        value = self.raw.of.i32 if width == 32 else self.raw.of.i64
        return value & ((1 << width) - 1)

    @property
    def is_null(self) -> bool:
        """Whether a reference is null (every kind's null has store id 0)."""
        return self.raw.of.funcref.store_id == 0

    def __repr__(self) -> str:
        name = KIND_NAMES.get(self.kind, str(self.kind))
        if self.kind in _WIDTH:
            return f"Val({name}, {self.bits:#x})"
        return f"Val({name}, {'null' if self.is_null else 'ref'})"

    def __del__(self) -> None:
        if self.raw is not None:
            ffi.wasmtime_val_unroot(ctypes.byref(self.raw))


def _exnref_val(exn: ffi.wasmtime_exnref_t) -> Val:
    raw = ffi.wasmtime_val_t()
    raw.kind = EXNREF
    raw.of.exnref = exn
    return Val(raw)


def _address(pointer: Any) -> int:
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0


def _new_trap(message: str, code: wasmtime.TrapCode | None = None) -> Any:
    if code is not None:
        return ffi.wasmtime_trap_new_code(code.value)
    data = message.encode()
    return ffi.wasmtime_trap_new(ctypes.create_string_buffer(data), len(data))


def _failure(context: Any, trap: Any, error: Any) -> Exception:
    """What a call that did not return raises.  An exception escaped if one is pending
    in the store (then ``trap`` has no code, or instantiation reports an ``error``).  A
    host callback's trap comes back as an ``error`` whose cause the callback recorded;
    an error with no recorded cause is wasmtime refusing the call."""
    cause = _host_errors.pop(_address(context), None)
    exn = ffi.wasmtime_exnref_t()
    pending = ffi.wasmtime_context_take_exception(context, ctypes.byref(exn))
    failure = wasmtime.WasmtimeError._from_ptr(error) if error else None  # owns (frees) error
    trapped = None if error else WasmTrap._from_raw(trap)
    if pending and (trapped is None or trapped.code is None):
        return WasmException(_exnref_val(exn))
    if pending:  # stale: a trap with a code wins, and the store is left clean
        ffi.wasmtime_exnref_unroot(ctypes.byref(exn))
    if trapped is not None:
        return trapped
    assert failure is not None
    if cause is None:
        return failure
    host_trap = WasmTrap(None, str(failure))
    host_trap.__cause__ = cause
    return host_trap


def call(context: Any, func: wasmtime.Func, args: Sequence[Val], nresults: int) -> list[Val]:
    """Call ``func`` in the store of ``context`` (``store._context()``) with ``args``
    and return its ``nresults`` results.  Raises :class:`WasmException` when an
    exception escaped, :class:`WasmTrap` on a trap, and ``wasmtime.WasmtimeError``
    when wasmtime refuses the call (wrong number or types of arguments)."""
    params = (ffi.wasmtime_val_t * len(args))(*(a.raw for a in args))
    results = (ffi.wasmtime_val_t * nresults)()
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call(context, ctypes.byref(func._func), params, len(args),
                                   results, nresults, ctypes.byref(trap))
    if error or trap:
        raise _failure(context, trap, error)
    return [Val(ffi.wasmtime_val_t.from_buffer_copy(r)) for r in results]


def instantiate(store: wasmtime.Store, module: wasmtime.Module, imports: Sequence[Any]) -> wasmtime.Instance:
    """Instantiate ``module`` with ``imports`` (``Func``, ``Tag``...); failures of the
    start function raise as from :func:`call`, link errors as ``wasmtime.WasmtimeError``."""
    externs = (ffi.wasmtime_extern_t * len(imports))(*(i._as_extern() for i in imports))
    instance = ffi.wasmtime_instance_t()
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    context = store._context()
    error = ffi.wasmtime_instance_new(context, module.ptr(), externs, len(imports),
                                      ctypes.byref(instance), ctypes.byref(trap))
    if error or trap:
        raise _failure(context, trap, error)
    return wasmtime.Instance._from_raw(instance)


def exn_new(context: Any, tag: wasmtime.Tag, fields: Sequence[Val]) -> Val:
    """A new exception object of ``tag`` with payload ``fields`` (borrowed)."""
    raw = (ffi.wasmtime_val_t * len(fields))(*(f.raw for f in fields))
    exn = ffi.wasmtime_exnref_t()
    error = ffi.wasmtime_exnref_new(context, ctypes.byref(tag._tag), raw, len(fields), ctypes.byref(exn))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return _exnref_val(exn)


def exn_tag(context: Any, exn: Val) -> wasmtime.Tag:
    """The tag of non-null exnref ``exn``."""
    tag = ffi.wasmtime_tag_t()
    error = ffi.wasmtime_exnref_tag(context, ctypes.byref(exn.raw.of.exnref), ctypes.byref(tag))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return wasmtime.Tag._from_raw(tag)


def exn_identity(context: Any, exn: Val) -> int:
    """The raw GC reference of non-null ``exn``'s object: the same for every root of one
    object, and not reused while any root of it lives."""
    return int(ffi.wasmtime_exnref_to_raw(context, ctypes.byref(exn.raw.of.exnref)))


def exn_fields(context: Any, exn: Val) -> list[Val]:
    """The payload of non-null exnref ``exn``."""
    ref = ctypes.byref(exn.raw.of.exnref)
    fields = []
    for i in range(ffi.wasmtime_exnref_field_count(context, ref)):
        out = ffi.wasmtime_val_t()
        error = ffi.wasmtime_exnref_field(context, ref, i, ctypes.byref(out))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        fields.append(Val(out))
    return fields


def throw(context: Any, exn: Val) -> int:
    """Make non-null exnref ``exn`` the store's pending exception; the ``wasm_trap_t*``
    returned is what a host callback returns to throw it.  ``exn`` stays owned by the
    caller (wasmtime roots the pending exception itself)."""
    return _address(ffi.wasmtime_context_set_exception(context, ctypes.byref(exn.raw.of.exnref)))


HostCallback = Callable[[list[Val]], Sequence[Val]]
"""A host function's body: arguments in, results out (owned by the caller, which
clones them for wasmtime)."""


def host_func(store: wasmtime.Store, ty: wasmtime.FuncType, callback: HostCallback) -> wasmtime.Func:
    """A host function of type ``ty`` (any value types, e.g. an import's type) that runs
    ``callback``.  What the callback raises decides how the call ends in wasm:
    :class:`WasmException` throws its exception; a :class:`WasmTrap` with a code traps
    with that code (a nested call's trap passes through); any other error is a trap
    without a code, and the call that sees it raises a :class:`WasmTrap` whose
    ``__cause__`` is that error (or the cause of a codeless :class:`WasmTrap`)."""

    @ffi.wasmtime_func_callback_t
    def trampoline(env: Any, caller: Any, args: Any, nargs: int, results: Any, nresults: int) -> int:
        context = ffi.wasmtime_caller_context(caller)
        try:
            values = callback([Val.clone_of(args[i]) for i in range(nargs)])
            if len(values) != nresults:
                raise TypeError(f"host function returned {len(values)} values, its type has {nresults}")
            for i, value in enumerate(values):
                results[i] = value.clone().into_raw()  # wasmtime unroots results
            return 0
        except WasmException as e:
            if not e.exn.is_null:
                return throw(context, e.exn)
            error: BaseException = ValueError("a host function threw a null exnref")
        except WasmTrap as e:
            if e.code is not None:
                return e.into_raw()
            error = e.__cause__ or e
        except BaseException as e:  # noqa: BLE001 -- every error must become a trap here
            error = e
        _host_errors[_address(context)] = error
        return _address(_new_trap(f"host function failed: {error!r}"))

    raw = ffi.wasmtime_func_t()
    ffi.wasmtime_func_new(store._context(), ty.ptr(), trampoline, None, _NO_FINALIZER, ctypes.byref(raw))
    # The store may call the callback as long as it lives, so the store keeps it.
    callbacks = store.__dict__.setdefault("_exnfuzz_callbacks", [])
    callbacks.append(trampoline)
    return wasmtime.Func._from_raw(raw)


def valtype_name(ty: wasmtime.ValType) -> str:
    """The text-format name of ``ty``: ``i32``, ``exnref``, ``(ref exn)``,
    ``nullfuncref``...  (``ValType``'s own ``str`` aborts the process on exnref.)"""
    return _valtype_name(ty.ptr())


def _valtype_name(ptr: Any) -> str:
    ty = ffi.wasmtime_valtype_t()
    ffi.wasmtime_valtype_new(ptr, ctypes.byref(ty))
    try:
        if ty.kind != _VALTYPE_REF:
            return _VALTYPE_NUMS[ty.kind]
        heap = _HEAP_NAMES.get(ty.reftype.heaptype.kind)
        if heap is None:
            raise wasmtime.WasmtimeError(f"unsupported heap type kind {ty.reftype.heaptype.kind}")
        return _SHORTHANDS[heap] if ty.reftype.nullable else f"(ref {heap})"
    finally:
        ffi.wasmtime_valtype_delete(ctypes.byref(ty))


def type_names(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The parameter and result type names (:func:`valtype_name`) of ``ty``."""
    def names(vec: Any) -> tuple[str, ...]:
        return tuple(_valtype_name(vec.contents.data[i]) for i in range(vec.contents.size))
    return names(ffi.wasm_functype_params(ty.ptr())), names(ffi.wasm_functype_results(ty.ptr()))


def global_get(context: Any, glob: wasmtime.Global) -> Val:
    """The value of ``glob``."""
    out = ffi.wasmtime_val_t()
    ffi.wasmtime_global_get(context, ctypes.byref(glob._global), ctypes.byref(out))
    return Val(out)


def table_get(context: Any, table: wasmtime.Table, index: int) -> Val:
    """Element ``index`` of ``table`` (``IndexError`` when out of bounds)."""
    out = ffi.wasmtime_val_t()
    if not ffi.wasmtime_table_get(context, ctypes.byref(table._table), index, ctypes.byref(out)):
        raise IndexError(f"table index {index} out of bounds")
    return Val(out)
