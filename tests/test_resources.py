"""Resource hygiene: stores free what they own, compiled code is unloaded, and memory
stays flat over many compile → instantiate → call cycles (``bench/rss.py`` runs the
long version and reports the figures)."""
from __future__ import annotations

import gc
import weakref

from bench.rss import cycle, rss_mib
from engine.runtime import I32, Engine, Func, FuncType, Instance, Module, Store


def test_store_in_a_reference_cycle_is_collected_and_released() -> None:
    """A host function that refers to its own store makes a cycle; collecting it must
    release the instances before their code is unloaded (this once crashed)."""
    engine = Engine()
    module = Module(engine, '(module (import "" "f" (func $f (param i32) (result i32))) '
                            '(memory 1) (func (export "g") (result i32) (call $f (i32.const 1))))')
    refs = []
    for _ in range(20):
        store = Store(engine)
        host = Func(store, FuncType((I32,), (I32,)), lambda x, s=store: x + len(str(s)))
        instance = Instance(store, module, [host])
        assert instance.exports(store)["g"](store) > 1
        refs.append(weakref.ref(store))
        del store, host, instance
    del module
    gc.collect()
    assert all(r() is None for r in refs)


def test_memory_stays_flat_over_compile_instantiate_call_cycles() -> None:
    engine = Engine()
    for k in range(100):
        cycle(engine, k)
    gc.collect()
    before = rss_mib()
    for k in range(100, 400):
        cycle(engine, k)
    gc.collect()
    growth = rss_mib() - before
    # About 2 KB per cycle is expected; llvmlite's default module pipeline would
    # leak some 70 KB per cycle (20 MiB here).
    assert growth < 8, f"resident memory grew by {growth:.1f} MiB over 300 cycles"
