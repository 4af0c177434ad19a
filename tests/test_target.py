"""The target description: byte order and pointer size come from LLVM's data layout."""
from engine.compile.target import AARCH64, S390X, X86_64, host


def test_byte_order_comes_from_the_data_layout():
    assert S390X.big_endian and S390X.data_layout.startswith("E-")
    assert not X86_64.big_endian and not AARCH64.big_endian


def test_pointer_size_and_host():
    assert {t.pointer_size for t in (X86_64, AARCH64, S390X)} == {8}
    assert host().is_host
    assert not S390X.is_host
