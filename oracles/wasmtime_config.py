"""The reference engine: wasmtime with exactly the feature set exnfuzz supports.

Every comparison against wasmtime (validation verdicts, execution results) uses
:func:`reference_engine`, so both sides agree on which proposals exist.  A module
that needs a feature switched off here must be rejected by wasmtime exactly when our
decoder rejects it as :class:`~engine.errors.UnsupportedFeature`.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import wasmtime

ENABLED = (
    "wasm_exceptions",        # the subject of the fuzzer: tags, throw, throw_ref, try_table, exnref
    "wasm_tail_call",         # return_call / return_call_indirect are in our feature set
    "wasm_reference_types",   # Wasm 2.0: funcref/externref values, table instructions
    "wasm_bulk_memory",       # Wasm 2.0: memory.copy/fill/init, passive segments
    "wasm_multi_value",       # Wasm 2.0: multiple results and block parameters
)
DISABLED = (
    "wasm_simd",              # no v128 in our engine (the JIT has no vector lowering)
    "wasm_relaxed_simd",      # builds on SIMD
    "wasm_gc",                # no rec groups, sub types, struct/array
    # Off so that (ref $t) typed references and call_ref are rejected; exceptions only
    # need the abstract (ref exn) / (ref null exn) forms, which stay available.
    "wasm_function_references",
    "wasm_threads",           # no shared memories or atomics
    "wasm_memory64",          # 32-bit memories and tables only
    "wasm_multi_memory",      # one memory, as in Wasm 2.0
    "wasm_custom_page_sizes", # 64 KiB pages only
    "wasm_wide_arithmetic",   # no i64.add128 and friends
    "wasm_stack_switching",   # no continuations; would also add cont heap types
)


@functools.cache
def reference_engine() -> wasmtime.Engine:
    """A wasmtime engine with Wasm 2.0 minus SIMD, plus tail calls and exception handling.

    Cached: engines are expensive to build and immutable once built.
    """
    config = wasmtime.Config()
    for name in ENABLED:
        setattr(config, name, True)
    for name in DISABLED:
        setattr(config, name, False)
    return wasmtime.Engine(config)


_REQUIRES = {
    "wasm_relaxed_simd": ("wasm_simd",),
    "wasm_gc": ("wasm_function_references",),
    "wasm_stack_switching": ("wasm_function_references",),
}
"""Features wasmtime refuses to enable without others (it aborts on such a config)."""


@functools.cache
def engine_with(features: frozenset[str]) -> wasmtime.Engine:
    """The reference engine with some :data:`DISABLED` features switched on."""
    config = wasmtime.Config()
    extra = set(features).union(*(_REQUIRES.get(name, ()) for name in features))
    for name in ENABLED:
        setattr(config, name, True)
    for name in DISABLED:
        setattr(config, name, name in extra)
    return wasmtime.Engine(config)


def verdict(engine: wasmtime.Engine, data: bytes) -> str | None:
    """None when ``engine`` accepts ``data``, else wasmtime's message."""
    try:
        wasmtime.Module.validate(engine, data)
    except wasmtime.WasmtimeError as e:
        return str(e)
    return None


def features_for(data: bytes, wanted: Callable[[str | None], bool]) -> tuple[str, ...] | None:
    """The features outside our set that make wasmtime's :func:`verdict` on ``data``
    one that ``wanted`` accepts: one feature, else two, named without the ``wasm_``
    prefix and dashed (``multi-memory``).  None when our feature set already gives
    such a verdict, or no such feature or pair exists."""
    if wanted(verdict(reference_engine(), data)):
        return None
    for size in (1, 2):
        for names in itertools.combinations(DISABLED, size):
            if wanted(verdict(engine_with(frozenset(names)), data)):
                return tuple(name[5:].replace("_", "-") for name in names)
    return None
