"""Where the generator's decisions come from.

Every decision is ``pick(lo, hi)``: atheris's ``FuzzedDataProvider.ConsumeIntInRange``
under libFuzzer (so coverage feedback steers generation), ``random.Random.randint``
for benchmarks, or a Hypothesis draw in property tests.  When the fuzzer's input runs
out, ``ConsumeIntInRange`` returns ``lo``; so every decision lists its simplest,
terminating option first, and an exhausted input ends generation quickly.
"""
from __future__ import annotations

import random
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
Pick = Callable[[int, int], int]
"""``pick(lo, hi)`` returns an int in ``[lo, hi]``, both ends included."""


class Choices:
    """Typed decisions on top of a :data:`Pick`."""

    def __init__(self, pick: Pick) -> None:
        self.pick = pick

    @classmethod
    def seeded(cls, seed: int) -> "Choices":
        return cls(random.Random(seed).randint)

    @classmethod
    def from_data(cls, data: bytes) -> "Choices":
        """Decisions read from fuzzer input bytes (atheris's data provider)."""
        import atheris
        return cls(atheris.FuzzedDataProvider(data).ConsumeIntInRange)

    def int(self, lo: int, hi: int) -> int:
        return self.pick(lo, hi) if hi > lo else lo

    def chance(self, percent: int) -> bool:
        """True with about ``percent`` % probability (False when the input ran out)."""
        return self.pick(0, 99) >= 100 - percent

    def choice(self, options: Sequence[T]) -> T:
        return options[self.int(0, len(options) - 1)]

    def weighted(self, options: Sequence[tuple[int, T]]) -> T:
        """One of ``options`` (weight, value); the first is the fallback."""
        total = sum(w for w, _ in options)
        at = self.int(0, total - 1)
        for weight, value in options:
            if at < weight:
                return value
            at -= weight
        return options[0][1]
