"""Resource hygiene: stores free what they own, compiled code is unloaded, and memory
stays flat over many compile → instantiate → call cycles (``bench/rss.py`` runs the
long version and reports the figures)."""
from __future__ import annotations

import gc
import weakref

from bench.rss import cycle, rss_mib
from engine.compile.layout import FuncRecord, TagRecord
from engine.runtime import I32, I64, Engine, Func, FuncType, Instance, Module, Store, Tag
from engine.runtime import native


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


def _with_params(n: int) -> str:
    return f'(module (type (func (param {"i64 " * n}) (result i32))) (func (export "f") (type 0) (i32.const {n})))'


def _churn(engine: Engine, start: int) -> None:
    """Compile and drop modules of 36 new types."""
    for n in range(start, start + 36):
        Module(engine, _with_params(n))
        gc.collect()


def test_type_ids_of_collected_modules_go_to_new_types() -> None:
    engine = Engine()
    kept = Module(engine, _with_params(1))
    assert Module(engine, _with_params(1)).type_ids == kept.type_ids
    first = Module(engine, _with_params(2))
    freed = first.type_ids
    assert freed != kept.type_ids
    del first
    gc.collect()
    second = Module(engine, _with_params(3))
    assert second.type_ids == freed
    assert engine.func_type(freed[0]).params == (I64,) * 3
    _churn(engine, 4)
    assert engine.func_type(kept.type_ids[0]).params == (I64,)
    assert Module(engine, _with_params(40)).type_ids[0] <= 4, "ids of collected modules' types were not reused"


def test_host_functions_and_tags_hold_their_type_ids_while_their_store_lives() -> None:
    engine = Engine()
    store = Store(engine)
    func_type, tag_type = FuncType((I32,), (I32,)), FuncType((I32, I32), ())
    func = Func(store, func_type, lambda x: x)
    tag = Tag(store, tag_type)
    ids = native.read(func.record, FuncRecord.TYPE_ID), native.read(tag.record, TagRecord.TYPE_ID)
    del func, tag                 # the store keeps their records, which wasm may still reach
    gc.collect()
    _churn(engine, 1)
    assert [engine.func_type(i) for i in ids] == [func_type, tag_type]
    store.close()
    del store
    gc.collect()
    three = Module(engine, "(module " + " ".join(f"(type (func (param {'f32 ' * n})))" for n in (1, 2, 3)) + ")")
    assert sorted(three.type_ids) == [1, 2, 3], "the store's ids were not freed with it"
