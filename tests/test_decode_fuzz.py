"""The decode fuzz target's check, driven without libFuzzer.

exnfuzz's decoder and validator must give wasmtime's verdict on the seed modules, on
seeded pseudo-random mutations of them and on Hypothesis-drawn mutations, and must
reject only with typed errors.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.binary.codes import SectionId
from engine.syntax import Module
from fuzz_targets import decode as target
from fuzz_targets._common import (SEED_WAT, join_code, join_sections, mutate_module,
                                  seed_modules, split_code, split_sections)


def test_seeds_are_valid_for_both_engines() -> None:
    for name, wasm in zip(SEED_WAT, seed_modules()):
        assert target.check_one(wasm), name


def test_seed_structure_round_trips() -> None:
    # The mutator re-encodes sizes; on an unmutated seed that must change nothing.
    for wasm in seed_modules():
        sections = split_sections(wasm)
        assert join_sections(sections) == wasm
        for section in sections:
            if section.id == SectionId.CODE:
                assert join_code(*split_code(section.payload)) == section.payload


def test_seeded_mutations_agree() -> None:
    rng = random.Random(0x5EED)
    seeds = seed_modules()
    verdicts = Counter(target.check_one(mutate_module(rng.choice(seeds), rng.randint))
                       for _ in range(3000))
    # A mutator that only ever yields valid or only invalid modules tests little.
    assert verdicts[True] > 0 and verdicts[False] > 0


def test_fuzz_inputs_agree() -> None:
    """Random fuzzer inputs, through both the raw and the seed-mutation mode."""
    rng = random.Random(0xF022)
    raw = 0
    for _ in range(1000):
        data = rng.randbytes(rng.randint(0, 64))
        raw += not data or data[0] % target.RAW_EVERY == 0
        target.check_one(target.module_from_input(data))
    assert 0 < raw < 1000


@st.composite
def mutated_modules(draw: st.DrawFn) -> bytes:
    """A seed module after a few mutations chosen by Hypothesis (so failures shrink)."""
    seed = draw(st.sampled_from(seed_modules()))
    return mutate_module(seed, lambda lo, hi: draw(st.integers(lo, hi)))


@settings(max_examples=300, deadline=None)
@given(mutated_modules())
def test_mutated_modules_agree(wasm: bytes) -> None:
    target.check_one(wasm)


def test_disagreement_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # A decoder that accepts everything must be caught on a module wasmtime rejects.
    monkeypatch.setattr(target, "decode_module", lambda data, **options: Module())
    wasm = b"\x00asm\x01\x00\x00\x00\x01\x01"
    with pytest.raises(AssertionError, match="exnfuzz accepts, wasmtime rejects") as info:
        target.check_one(wasm)
    assert wasm.hex() in str(info.value)


def test_untyped_exception_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, **options: object) -> Module:
        raise KeyError("section")

    monkeypatch.setattr(target, "decode_module", broken)
    wasm = seed_modules()[0]
    with pytest.raises(AssertionError, match="KeyError, not a WasmError") as info:
        target.check_one(wasm)
    assert wasm.hex() in str(info.value)
