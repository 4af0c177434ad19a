"""Run-time events (engine/compile/events.py): what compiled code counts, and how the
fuzz target turns what ran into libFuzzer coverage (fuzz_targets/feedback.py)."""
from __future__ import annotations

import pytest

from engine import runtime
from engine.compile.events import EVENTS, catch_event
from engine.syntax.instructions import CatchKind
from fuzz_targets import feedback

LABELS = """(module
  (tag $t (param i32))
  (func $throw (param i32) (throw $t (local.get 0)))
  (func (export "run") (param i32) (result i32)
    (local $n i32)
    (block $out
      (local.get 0)
      (loop $again (param i32)                ;; caught into this loop label, one block out
        (local.set $n)
        (br_if $out (i32.eqz (local.get $n)))
        (block
          (try_table (catch $t $again) (call $throw (i32.sub (local.get $n) (i32.const 1)))))
        (unreachable)))
    (block $f (result exnref)                 ;; catch_all_ref into a block at depth 0
      (try_table (catch_all_ref $f) (call $throw (i32.const 0)))
      (unreachable))
    (drop)
    (return_call $id (local.get 0)))
  (func $id (param i32) (result i32) (local.get 0)))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_compiled_code_counts_catches_by_kind_label_and_depth(opt_level: int) -> None:
    engine = runtime.Engine(runtime.Config(opt_level=opt_level, count_events=True))
    store = runtime.Store(engine)
    run = runtime.Instance(store, runtime.Module(engine, LABELS), []).exports(store)["run"]
    assert run(store, 3) == 3
    assert store.events() == {
        "catch caught into a loop label at depth 1": 3,
        "catch_all_ref caught into a block label at depth 0": 1,
        "throw executed": 4,
        "return_call taken": 1,
    }
    assert EVENTS[catch_event(CatchKind.CATCH, "else", 7)] == "catch caught into a if label at depth 3+"


def test_without_counting_only_collections_show() -> None:
    store = runtime.Store(runtime.Engine(runtime.Config(opt_level=0)))
    runtime.Instance(store, runtime.Module(store.engine, LABELS), []).exports(store)["run"](store, 3)
    assert store.events() == {}


def test_feedback_counters_are_stable_and_in_the_pool() -> None:
    feedback.record({"anything": 3})          # before reserve(): nothing to hit, no error
    feedback.reserve()
    first = feedback.counter("catch caught into a loop label at depth 1")
    assert first == feedback.counter("catch caught into a loop label at depth 1")
    names = [f"event {i}" for i in range(200)]
    indexes = {feedback.counter(name) for name in names}
    assert len(indexes) > 190
    assert all(feedback._base <= i < feedback._base + feedback.POOL for i in indexes)  # type: ignore[operator]
    feedback.record({"trap unreachable": 1000})
