"""``EmulatedRunner``: a case on exnfuzz's code for aarch64 or s390x, run under qemu-user.

In the manner of wasmtime's ``crates/fuzzing`` differential oracles, this adapter is
small and says what it runs and what it compares.

**What runs.**  The case's module, compiled by exnfuzz's own compiler for the target
(``aarch64`` or the big-endian ``s390x``), linked and loaded into a target server under
qemu-user, and driven by ``engine.runtime``'s own code loaded for that target
(:func:`engine.emulated.runtime`): instance set-up, host functions and their stubs,
exceptions thrown across the host boundary both ways, the store's collector -- the same
code as the in-process run, with native memory on the emulated machine.  The host
plan is carried out by :mod:`oracles.host`, as for every runner, and everything
:class:`~oracles.engine_runner.EngineRunner` does (it is this runner's base) is done
the same way: tags by identity, exnrefs held by Python rooted, rethrow of the very
object received.

**What is compared.**  The same :class:`~oracles.outcome.Outcome` as any run -- per
step the result, the host trace (arguments, caught exceptions, how each host call
ended), then the exported globals, memory digests and tables -- by the same rules
(:mod:`oracles.compare`), usually against wasmtime's outcome of the case.  Values the
host reads from the target's memory (slots, payloads, globals, table elements) are
decoded in the target's byte order; linear memory is compared as bytes, little-endian
on every target, so a digest that differs on s390x is a missing byte swap.

**What is new.**  The emulated machine can crash (a segfault, an abort in compiled
code): the step ends as :class:`~oracles.outcome.Crashed`, which always diverges, and
the run ends there; the next run starts a new server.  Everything else about a crash --
qemu's last words, the signal -- is in the reason.

**What it costs.**  About the in-process run's compile time, plus linking (about
5 ms) and the requests over the pipe (10-25 microseconds each): a generated case takes
1.2-1.3 times its in-process time (``bench/emulated.py``; figures in the README).
"""
from __future__ import annotations

from engine.emulated import TargetCrashed, runtime

from .case import Case
from .engine_runner import EngineRunner
from .outcome import Crashed, Result


class EmulatedRunner(EngineRunner):
    """The case on our engine's code for ``arch`` (``aarch64`` or ``s390x``); raises
    :class:`~engine.emulated.EmulationUnavailable` when this machine cannot emulate it."""

    def __init__(self, case: Case, arch: str) -> None:
        self.arch = arch
        self.api = runtime(arch)
        self.name = f"exnfuzz/{arch}"
        super().__init__(case)
        self.server = self.api.emulator.current()
        """The target server the case runs in (the store started it if need be)."""

    @property
    def home(self) -> object:
        """Where the code lives: the server (a new one has none of the old one's)."""
        return self.server

    SLOWDOWN = 3.0
    """How many times the case's timeout an emulated run may take: code runs several
    times slower under qemu-user, and compiling for the target as long as for the host
    (a module of the calling-convention sweep at opt_level 2 takes 5-10 s to compile)."""

    @property
    def timeout(self) -> float:
        return self.SLOWDOWN * super().timeout

    def result(self, error: BaseException) -> Result:
        if self.server.dead is not None:
            return Crashed(self.server.dead)
        if isinstance(error, TargetCrashed):
            return Crashed(str(error))
        return super().result(error)

    def close(self) -> None:
        try:
            super().close()
        except TargetCrashed:
            pass         # what the dead server held is gone with it
