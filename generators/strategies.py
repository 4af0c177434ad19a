"""Hypothesis strategies on the same generator the fuzz target uses.

>>> from hypothesis import given
>>> from generators.strategies import cases
>>> @given(cases())
... def test_something(case): ...
"""
from __future__ import annotations

from hypothesis import strategies as st

from oracles.case import Case

from .choices import Choices
from .instances import generate_case


@st.composite
def cases(draw: st.DrawFn, budget: int = 120) -> Case:
    """Generated cases; Hypothesis shrinks them by shrinking the generator's decisions."""
    return generate_case(Choices(lambda lo, hi: draw(st.integers(lo, hi))), budget)
