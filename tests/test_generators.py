"""The generator: every case it makes is valid on both engines, fits its host plan,
and is a pure function of its decisions."""
from __future__ import annotations

import random

import wasmtime
from hypothesis import HealthCheck, given, settings

from engine.binary.decode import decode_module
from engine.syntax.types import ExternKind
from engine.valid.module import validate_module
from generators import Choices, generate_case
from generators.strategies import cases
from oracles.case import Case, qualify
from oracles.plan import HOST_MODULE
from oracles.wasmtime_config import reference_engine


def assert_valid(case: Case) -> None:
    names = {t.name for t in case.plan.tags} | {f.name for f in case.plan.funcs}
    exports: dict[str, set[str]] = {}
    for instance, data in case.instance_modules():
        module = decode_module(data)
        validate_module(module)
        wasmtime.Module.validate(reference_engine(), data)
        for imp in module.imports:
            assert imp.name in (names if imp.module == HOST_MODULE else exports[imp.module])
        exports[instance] = {e.name for e in module.exports}
        funcs = {qualify(e.name, instance) for e in module.exports if e.kind is ExternKind.FUNC}
        exports.setdefault("funcs", set()).update(funcs)
    assert {i.export for i in case.invocations} <= exports["funcs"]


def test_thousands_of_seeded_cases_are_valid_on_both_engines() -> None:
    for seed in range(2500):
        assert_valid(generate_case(Choices.seeded(seed)))


def test_fuzzer_bytes_of_any_length_give_valid_cases() -> None:
    rng = random.Random(5)
    for size in [0, 1, 2, 5, 17] + [rng.randrange(4096) for _ in range(500)]:
        assert_valid(generate_case(Choices.from_data(bytes(rng.randrange(256) for _ in range(size)))))


def test_generation_is_a_function_of_the_decisions() -> None:
    assert generate_case(Choices.seeded(42)) == generate_case(Choices.seeded(42))
    assert generate_case(Choices.seeded(42)).module != generate_case(Choices.seeded(43)).module


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_hypothesis_cases_are_valid(case: Case) -> None:
    assert_valid(case)
