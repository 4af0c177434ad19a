"""``Func``: a function reference -- defined by an instance or written in Python.

Either kind is a :class:`~engine.compile.layout.FuncRecord` in native memory, so a
``Func`` is just the record's address: wasm code calls both kinds the same way, and
Python calls both through the entry trampoline of the function's signature.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from ..binary.decode import MAX_PARAMS, MAX_RESULTS
from ..compile.layout import FuncRecord, HostContext
from ..syntax.types import FuncType
from . import native
from .handle import Handle
from .store import Store
from .values import check_slot, from_slot, to_slot


class Func(Handle):
    """A function in a store.  ``Func(store, ty, callable)`` defines a host function:
    ``callable(*params)`` returns ``None``, a value or a sequence of values.  Calling a
    ``Func`` runs it: ``func(store, *args)`` returns ``None``, the one result or a list
    of results, and raises :class:`~engine.errors.Trap` if it traps -- also when a host
    function beneath it raised, with that error as the trap's ``__cause__``.

    With ``slots=True`` a host function takes and returns raw slots instead (see
    :mod:`.values`), as :meth:`call_slots` does: exact for every bit pattern, and the
    callable must root any exnref it keeps (``ExnRef(store, slot)``)."""

    def __init__(self, store: Store, ty: FuncType, func: Callable[..., Any], *, slots: bool = False) -> None:
        store.check_usable()
        if not isinstance(ty, FuncType):
            raise TypeError(f"expected a FuncType, got {ty!r}")
        if not callable(func):
            raise TypeError(f"a host function must be callable, not {func!r}")
        if len(ty.params) > MAX_PARAMS or len(ty.results) > MAX_RESULTS:
            raise ValueError(f"a function type has at most {MAX_PARAMS} parameters and {MAX_RESULTS} "
                             f"results, not {len(ty.params)} and {len(ty.results)}")
        stub = store.keep(store.engine.host_stub(ty))
        callback = native.HOST_CALLBACK(_host_callback(store, ty, store.hold(func), slots))
        hostctx = store.keep(native.slots(len(HostContext)))
        hostctx[HostContext.STORE] = store.state_address
        hostctx[HostContext.CALLBACK] = native.ctypes_address(callback)
        record = store.keep(native.slots(len(FuncRecord)))
        record[FuncRecord.CODE] = stub.address
        record[FuncRecord.VMCTX] = native.address(hostctx)
        record[FuncRecord.TYPE_ID] = store.keep(store.engine.hold_types([ty])).ids[0]
        store.keep(callback)
        store.func_records.add(native.address(record))
        self.store = store
        self.record = native.address(record)

    def type(self, store: Store | None = None) -> FuncType:
        self._owner(store)
        return self.store.engine.func_type(native.read(self.record, FuncRecord.TYPE_ID))

    def __repr__(self) -> str:
        return "<Func of a closed store>" if self.store.closed else f"<Func {self.type()} at {self.record:#x}>"

    def call_slots(self, store: Store, args: Sequence[int]) -> list[int]:
        """Call with arguments and results as raw slots (see :mod:`.values`): exact for
        every bit pattern, NaN payloads included."""
        ft = self.type(store)
        if len(args) != len(ft.params):
            raise TypeError(f"{ft} takes {len(ft.params)} arguments, got {len(args)}")
        slots = [check_slot(self.store, t, arg) for t, arg in zip(ft.params, args)]
        return call_native(self.store, ft, native.read(self.record, FuncRecord.CODE),
                           native.read(self.record, FuncRecord.VMCTX), slots)

    def __call__(self, store: Store, *args: Any) -> Any:
        ft = self.type(store)
        if len(args) != len(ft.params):
            raise TypeError(f"{ft} takes {len(ft.params)} arguments, got {len(args)}")
        store = self.store
        slots = call_native(store, ft, native.read(self.record, FuncRecord.CODE),
                            native.read(self.record, FuncRecord.VMCTX),
                            [to_slot(store, t, a) for t, a in zip(ft.params, args)])
        results = [from_slot(store, t, s) for t, s in zip(ft.results, slots)]
        if not results:
            return None
        return results[0] if len(results) == 1 else results


def call_native(store: Store, ft: FuncType, code: int, vmctx: int, args: Sequence[int]) -> list[int]:
    """Run native ``code`` of type ``ft`` through its entry trampoline; raise what made
    it unwind."""
    order = store.engine.buffer_order(ft)
    buffer = [0] * len(args)
    for slot, arg in zip(order.params, args):
        buffer[slot] = arg
    buf = native.slots(max(len(ft.params), len(ft.results)), buffer)
    entry = store.engine.entry(ft)
    store.enter()
    try:
        if entry.call(code, vmctx, native.address(buf)):
            raise store.take_unwind()
    finally:
        store.leave()
    slots = buf[:len(ft.results)]
    return [slots[slot] & mask for slot, mask in zip(order.results, order.result_masks)]


def _host_callback(store: Store, ty: FuncType, index: int, slots: bool) -> Callable[[int, int], int]:
    """The C callback behind a host function.  It never lets a Python exception through
    native frames: an error is parked in the store and reported as a non-zero status.
    It holds the store weakly and finds the Python callable there by ``index`` (the
    store keeps the callback alive, and the callable may well refer to the store); the
    store is alive whenever the callback runs, since a caller of wasm holds it."""
    store_ref = weakref.ref(store)
    order = store.engine.buffer_order(ty)

    def callback(_hostctx: int, buf: int) -> int:
        store = store_ref()
        assert store is not None
        try:
            raw = [native.read(buf, slot) & mask for slot, mask in zip(order.params, order.param_masks)]
            args = raw if slots else [from_slot(store, t, s) for t, s in zip(ty.params, raw)]
            result = store.held(index)(*args)
            if len(ty.results) == 0:
                results: Sequence[Any] = ()
            elif len(ty.results) == 1:
                results = (result,)
            else:
                results = list(result)
                if len(results) != len(ty.results):
                    raise TypeError(f"host function returned {len(results)} values, "
                                    f"its type {ty} has {len(ty.results)} results")
            for t, value, slot in zip(ty.results, results, order.results):
                native.write(buf, check_slot(store, t, value) if slots else to_slot(store, t, value), slot)
            return 0
        except BaseException as error:  # noqa: B036 -- nothing may unwind through native code
            store.set_pending(error)
            return 1

    return callback


__all__ = ["Func", "call_native"]
