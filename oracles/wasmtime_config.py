"""The reference engine: wasmtime with exactly the feature set exnfuzz supports.

Every comparison against wasmtime (validation verdicts, execution results) uses
:func:`reference_engine`, so both sides agree on which proposals exist.  A module
that needs a feature switched off here must be rejected by wasmtime exactly when our
decoder rejects it as :class:`~engine.errors.UnsupportedFeature`.
"""
from __future__ import annotations

import functools

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
