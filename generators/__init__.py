"""Generators: structured, valid, terminating test cases for the differential fuzzer.

Kept apart from :mod:`oracles` (which runs and compares cases) as wasmtime keeps
``generators`` apart from ``oracles`` in its ``crates/fuzzing``:

>>> from generators import Choices, generate_case
>>> case = generate_case(Choices.seeded(1))
>>> case.module[:4]
b'\\x00asm'
"""
from .choices import Choices, Pick
from .instances import generate_case

__all__ = ["Choices", "Pick", "generate_case"]
