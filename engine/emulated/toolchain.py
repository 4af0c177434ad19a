"""The tools an emulated target needs, found on this machine: qemu-user, the cross
compiler and linker with their C library, and the target server built with them.

On Debian: ``apt-get install qemu-user gcc-aarch64-linux-gnu gcc-s390x-linux-gnu
libc6-dev-arm64-cross libc6-dev-s390x-cross`` (:data:`DEBIAN_PACKAGES`; ``.ci/run``
installs them).  :func:`missing` says what is
absent, in words a test can skip with; :func:`toolchain` raises
:class:`EmulationUnavailable` with the same words.

The server (``server.c``) is built once per target and source, into
``$EXNFUZZ_CACHE`` (default ``~/.cache/exnfuzz``); module code is linked into shared
objects with the cross ``ld`` (a few milliseconds), together with ``libgcc.a`` for any
helper routine LLVM may call.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GNU_TRIPLES = {"aarch64": "aarch64-linux-gnu", "s390x": "s390x-linux-gnu"}
"""The emulated architectures and their GNU triples (Debian's cross-tool prefixes)."""
DEBIAN_PACKAGES = ("qemu-user", "gcc-aarch64-linux-gnu", "gcc-s390x-linux-gnu", "libc6-dev-arm64-cross",
                   "libc6-dev-s390x-cross")
SERVER_SOURCE = Path(__file__).with_name("server.c")


class EmulationUnavailable(RuntimeError):
    """An emulated target whose tools are not installed here."""


@dataclass(frozen=True)
class Toolchain:
    arch: str
    qemu: str
    """``qemu-<arch>`` (or ``qemu-<arch>-static``)."""
    sysroot: str
    """Where the target's C library lives (qemu's ``-L``)."""
    cc: str
    ld: str
    libgcc: str

    def command(self, program: Path) -> list[str]:
        """How to run ``program``, a dynamically linked executable of the target."""
        return [self.qemu, "-L", self.sysroot, str(program)]


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing(arch: str) -> str | None:
    """Why ``arch`` cannot be emulated here, or None when it can."""
    if arch not in GNU_TRIPLES:
        return f"no emulation for architecture {arch!r} (emulated: {', '.join(GNU_TRIPLES)})"
    gnu = GNU_TRIPLES[arch]
    absent = [tool for tool, found in (
        (f"qemu-{arch}", _which(f"qemu-{arch}", f"qemu-{arch}-static")),
        (f"{gnu}-gcc", _which(f"{gnu}-gcc")),
        (f"{gnu}-ld", _which(f"{gnu}-ld")),
        (f"/usr/{gnu}/include (the target's C library)", Path(f"/usr/{gnu}/include/stdlib.h").exists() or None),
    ) if not found]
    if absent:
        return (f"cannot emulate {arch}: {', '.join(absent)} not found "
                f"(on Debian: apt-get install {' '.join(DEBIAN_PACKAGES)})")
    return None


@functools.cache
def toolchain(arch: str) -> Toolchain:
    """The tools for ``arch``; raises :class:`EmulationUnavailable` naming what is missing."""
    reason = missing(arch)
    if reason:
        raise EmulationUnavailable(reason)
    gnu = GNU_TRIPLES[arch]
    cc = _which(f"{gnu}-gcc")
    assert cc is not None
    libgcc = subprocess.run([cc, "-print-libgcc-file-name"], capture_output=True, text=True,
                            check=True).stdout.strip()
    return Toolchain(arch, _which(f"qemu-{arch}", f"qemu-{arch}-static") or "", f"/usr/{gnu}", cc,
                     _which(f"{gnu}-ld") or "", libgcc)


def cache_dir() -> Path:
    return Path(os.environ.get("EXNFUZZ_CACHE") or Path.home() / ".cache" / "exnfuzz")


@functools.cache
def server(arch: str) -> Path:
    """The target server's executable for ``arch``, built if this source has not been."""
    tools = toolchain(arch)
    source = SERVER_SOURCE.read_bytes()
    key = hashlib.sha256(source + tools.cc.encode()).hexdigest()[:16]
    path = cache_dir() / f"server-{arch}-{key}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        build = subprocess.run([tools.cc, "-O2", "-Wall", "-o", str(partial), str(SERVER_SOURCE),
                                "-Wl,--no-as-needed", "-lm", "-ldl"], capture_output=True, text=True)
        if build.returncode:
            raise EmulationUnavailable(f"cannot build the {arch} target server:\n{build.stderr}")
        partial.replace(path)
    return path


def link(arch: str, objects: list[bytes], out: Path) -> Path:
    """Link the object files ``objects`` into the shared object ``out``."""
    tools = toolchain(arch)
    sources = [out.with_suffix(f".{i}.o") for i in range(len(objects))]
    try:
        for source, obj in zip(sources, objects):
            source.write_bytes(obj)
        result = subprocess.run([tools.ld, "-shared", "-Bsymbolic", "-o", str(out), *map(str, sources),
                                 tools.libgcc], capture_output=True, text=True)
    finally:
        for source in sources:
            source.unlink(missing_ok=True)
    if result.returncode:
        raise RuntimeError(f"linking {arch} code failed:\n{result.stderr}")
    return out


__all__ = ["DEBIAN_PACKAGES", "EmulationUnavailable", "GNU_TRIPLES", "Toolchain", "link", "missing",
           "server", "toolchain"]
