"""The one place that describes a code-generation target.

Everything target-specific the code generator needs -- triple, data layout, byte
order, pointer size -- comes from a :class:`Target`.  Wasm linear memory is
little-endian on every target, so on a big-endian target each linear-memory
access byte-swaps; engine-internal state (globals, payloads, the instance context)
stays in native order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import llvmlite.binding as llvm


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
        # PIC and the default code model keep the code position-independent for MCJIT.
        return llvm.Target.from_triple(self.triple).create_target_machine(
            cpu=self.cpu, features=self.features, opt=opt_level, reloc="pic", codemodel="default")

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
