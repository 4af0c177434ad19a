"""The one place that describes a code-generation target.

Everything target-specific the code generator needs -- triple, data layout, byte
order, pointer size, how many values a call passes in registers -- comes from a
:class:`Target`.  Wasm linear memory is
little-endian on every target, so on a big-endian target each linear-memory
access byte-swaps; engine-internal state (globals, payloads, the instance context)
stays in native order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import llvmlite.binding as llvm


@dataclass(frozen=True)
class Registers:
    """How many wasm values a ``tailcc`` call passes, and returns, in registers on a
    target, by register class (integers and references share one class, ``f32`` and
    ``f64`` the other).  The wasm calling convention
    (:mod:`~engine.compile.callconv`) passes no more than these in registers and the
    rest through the store's spill area, so that no call ever has a stack argument or
    a return value in memory.

    The figures are LLVM 22's, measured per target (``tests/test_callconv.py`` checks
    them against the code LLVM generates): integer parameters besides the instance
    context (x86-64 RDI..R9; aarch64 X0..X7; s390x R2..R6); float parameters
    (XMM0-7; V0-7; F0/F2/F4/F6); integer results besides the ``i32`` status (RAX, RDX,
    RCX; X0..X7; R2..R5); float results (XMM0-2, because x86-64 returns further ones
    on the x87 stack, which quiets signalling NaNs; V0-7; F0/F2/F4/F6)."""

    int_params: int
    float_params: int
    int_results: int
    float_results: int


REGISTERS = {
    "x86_64": Registers(int_params=5, float_params=8, int_results=2, float_results=3),
    "aarch64": Registers(int_params=7, float_params=8, int_results=7, float_results=8),
    "s390x": Registers(int_params=4, float_params=4, int_results=3, float_results=4),
}
"""Per architecture (the triple's first component)."""


PROT_NONE = 0
PROT_READ_WRITE = 0x1 | 0x2
MAP_RESERVE = 0x02 | 0x20 | 0x4000
"""``MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE``.  These ``mmap`` values (linear
memory's, see :mod:`~engine.compile.helpers`) are Linux's generic ones, which every
architecture of :data:`REGISTERS` uses."""


class UnsupportedTarget(ValueError):
    """A triple whose architecture the code generator does not describe."""


@dataclass(frozen=True)
class Target:
    triple: str
    cpu: str = ""
    features: str = ""

    @cached_property
    def machine(self) -> llvm.TargetMachine:
        """The target's machine, for optimisation and object code."""
        return self.new_machine()

    def new_machine(self, opt_level: int = 3) -> llvm.TargetMachine:
        """A machine of its own (an execution engine takes ownership of one) generating
        code at ``opt_level``."""
        _init_llvm()
        target = llvm.Target.from_triple(self.triple)
        if self.is_host:
            # Loaded by MCJIT in this process: LLVM's own choice for a JIT (on x86-64,
            # absolute addresses and the large code model), which needs no section near
            # another.  MCJIT places an object's code and constants in separate
            # mappings made as it goes, between linear-memory reservations of
            # gigabytes; the small code model's 32-bit references between them
            # overflowed, which aborts the process (tests/test_abuse.py).
            return target.create_target_machine(cpu=self.cpu, features=self.features, opt=opt_level,
                                                reloc="default", codemodel="jitdefault", jit=True)
        # Linked into a shared object by the target's own ld (engine/emulated).
        return target.create_target_machine(cpu=self.cpu, features=self.features, opt=opt_level,
                                            reloc="pic", codemodel="default")

    @cached_property
    def data_layout(self) -> str:
        return str(self.machine.target_data)

    @property
    def big_endian(self) -> bool:
        return self.data_layout.startswith("E")

    @cached_property
    def pointer_size(self) -> int:
        """Bytes in a pointer: the layout's ``p[0]:bits`` entry, or LLVM's default of 64."""
        for spec in self.data_layout.split("-"):
            if spec.startswith(("p:", "p0:")):
                return int(spec.split(":")[1]) // 8
        return 8

    @property
    def arch(self) -> str:
        return self.triple.split("-", 1)[0]

    @property
    def registers(self) -> Registers:
        """What a call passes in registers here (see :class:`Registers`)."""
        registers = REGISTERS.get(self.arch)
        if registers is None:
            raise UnsupportedTarget(f"no calling convention for architecture {self.arch!r} "
                                    f"(supported: {', '.join(REGISTERS)})")
        return registers

    @property
    def is_host(self) -> bool:
        return self.triple == host().triple


_initialized = False


def _init_llvm() -> None:
    global _initialized
    if not _initialized:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        _initialized = True


def host() -> Target:
    """The machine this process runs on (code for it can be executed in process)."""
    _init_llvm()
    return Target(llvm.get_process_triple(), llvm.get_host_cpu_name(),
                  llvm.get_host_cpu_features().flatten())


X86_64 = Target("x86_64-unknown-linux-gnu")
AARCH64 = Target("aarch64-unknown-linux-gnu")
S390X = Target("s390x-unknown-linux-gnu")
"""Big-endian: the target that keeps the code generator honest about byte order."""

KNOWN_TARGETS = {"x86_64": X86_64, "aarch64": AARCH64, "s390x": S390X}
