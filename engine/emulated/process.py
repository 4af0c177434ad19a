"""The host's end of the target server's pipe (see ``server.c`` for the protocol).

A :class:`TargetProcess` is one server running under qemu-user.  Its methods are the
requests; every integer travels in the target's byte order, which the server announces
first (and which must be the one :class:`~engine.compile.target.Target` says).

Requests that need no answer (``free``, ``write``, ``fill``, ``unload``) are queued and
go out with the next request that does, so a run of stores costs one round trip.  A
call may be answered by host-function callbacks first: each runs the Python callable
registered for its entry (:meth:`TargetProcess.register`), which may make requests of
its own -- nested calls included -- and its status goes back with ``OP_RETURN``.

Memory, code and callback entries may be given back from ``__del__`` methods, which
can run in the middle of a request; those are only noted (:meth:`TargetProcess.defer`)
and sent at the next message boundary.  When the server dies or stops answering, the
request that finds out raises :class:`TargetCrashed` with qemu's last words, and so
does every later request that needs the server to act (allocate, call, load); reads
of a dead server's memory give zeros and writes and frees are dropped, so what
referred to it is released without errors.
"""
from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

OP_CALLOC, OP_REALLOC, OP_FREE, OP_READ, OP_WRITE, OP_FILL, OP_CALL, OP_LOAD, OP_SYMBOL, \
    OP_UNLOAD, OP_RETURN = range(1, 12)
MSG_REPLY, MSG_CALLBACK = 0, 1
MAGIC = 0x45584E46555A5A31
ORDER = 0x0102030405060708
ANSWER_TIMEOUT = 300.0
"""Seconds without a word from the server after which it counts as hung (a call the
host interrupts comes back far sooner)."""

Callback = Callable[[int, int], int]
"""``status = callback(hostctx, buf)``: a host function's C callback."""


def int32(value: int) -> int:
    """A C ``int32_t`` result of :meth:`TargetProcess.call` (it came back in a 64-bit
    register whose high half is undefined)."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >> 31 else value


class TargetCrashed(RuntimeError):
    """The target server died (or hung): compiled code crashed the emulated machine."""


class TargetProcess:
    """One target server under qemu-user; ``command`` runs it."""

    def __init__(self, command: list[str], big_endian: bool) -> None:
        self.order = ">" if big_endian else "<"
        self._q = struct.Struct(self.order + "Q")
        self._stderr = tempfile.TemporaryFile()
        # No core files: qemu-user would write the guest's into the working directory.
        self.proc = subprocess.Popen(["/bin/sh", "-c", 'ulimit -c 0; exec "$@"', "sh", *command],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     bufsize=0)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._fd_in, self._fd_out = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        self._in = bytearray()
        self._out = bytearray()
        self._deferred: list[tuple[int, int]] = []
        self.callbacks: dict[int, Callback] = {}
        self.dead: str | None = None
        """Why the server is gone, once it is."""
        magic, order, self.epoch_address, count, table, self.stack_low, self.stack_size = self._u64s(7)
        if magic != MAGIC or order != ORDER:
            self._fail(f"the server does not speak this protocol in {'big' if big_endian else 'little'}"
                       f"-endian order (magic {magic:#x}, order probe {order:#x})")
        self.callback_entries = list(self._unpack(self.read(table, 8 * count), count))
        """Addresses of the server's callback entries (see ``server.c``)."""
        # self.stack_low, self.stack_size: the server's stack (0, 0 when it could not tell).

    # -- requests ------------------------------------------------------------------------

    def calloc(self, count: int, size: int) -> int:
        return self._ask(OP_CALLOC, count, size)

    def realloc(self, address: int, size: int) -> int:
        return self._ask(OP_REALLOC, address, size)

    def free(self, address: int) -> None:
        self._tell(OP_FREE, address)

    def read(self, address: int, length: int) -> bytes:
        if self.dead is not None:
            return bytes(length)   # what a dead server held reads as zeros (see the docstring)
        self._send(OP_READ, address, length)
        self._await_reply()
        return self._take(length)

    def write(self, address: int, data: bytes) -> None:
        if self.dead is None:
            self._out += self._pack(OP_WRITE, address, len(data))
            self._out += data

    def read_slots(self, address: int, count: int) -> tuple[int, ...]:
        """``count`` 8-byte slots at ``address``, decoded in the target's byte order."""
        return self._unpack(self.read(address, 8 * count), count)

    def write_slots(self, address: int, values: list[int] | tuple[int, ...]) -> None:
        """Write 8-byte slots at ``address`` in the target's byte order."""
        self.write(address, self._pack(*(v & 0xFFFF_FFFF_FFFF_FFFF for v in values)))

    def fill(self, address: int, byte: int, length: int) -> None:
        self._tell(OP_FILL, address, byte & 0xFF, length)

    def call(self, function: int, *args: int) -> int:
        """Call the C function at ``function`` with up to four integer arguments; its
        result as an unsigned 64-bit integer (narrower results have undefined high bits)."""
        padded = [a & 0xFFFF_FFFF_FFFF_FFFF for a in args] + [0] * (4 - len(args))
        return self._ask(OP_CALL, function, *padded)

    def load(self, path: Path) -> int:
        """``dlopen`` the shared object at ``path``; its handle."""
        name = os.fsencode(path)
        self._send(OP_LOAD, len(name))
        self._out += name
        self._await_reply()
        handle, length = self._u64s(2)
        error = self._take(length).decode(errors="replace")
        if not handle:
            raise RuntimeError(f"the target cannot load {path}: {error}")
        return handle

    def symbol(self, handle: int, name: str) -> int:
        encoded = name.encode()
        self._send(OP_SYMBOL, handle, len(encoded))
        self._out += encoded
        self._await_reply()
        return self._u64s(1)[0]

    def unload(self, handle: int) -> None:
        self._tell(OP_UNLOAD, handle)

    def interrupt(self) -> None:
        """Advance the server's epoch counter (safe from any thread, even mid-call)."""
        if self.dead is None:
            try:
                os.kill(self.proc.pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass

    def register(self, entry: int, callback: Callback) -> None:
        """Run ``callback`` whenever compiled code calls the callback entry ``entry``."""
        self.callbacks[entry] = callback

    def defer(self, op: int, value: int) -> None:
        """Queue ``OP_FREE`` or ``OP_UNLOAD`` of ``value``; safe inside ``__del__``."""
        self._deferred.append((op, value))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.dead = self.dead or "closed"
        self._stderr.close()

    # -- the wire ------------------------------------------------------------------------

    def _pack(self, *values: int) -> bytes:
        return struct.pack(f"{self.order}{len(values)}Q", *values)

    def _unpack(self, data: bytes, count: int) -> tuple[int, ...]:
        return struct.unpack(f"{self.order}{count}Q", data)

    def _tell(self, *values: int) -> None:
        if self.dead is None:
            self._out += self._pack(*values)

    def _send(self, *values: int) -> None:
        if self.dead is not None:
            raise TargetCrashed(self.dead)
        self._out += self._pack(*values)

    def _ask(self, *values: int) -> int:
        self._send(*values)
        self._await_reply()
        return self._u64s(1)[0]

    def _flush(self) -> None:
        if self._deferred:
            deferred, self._deferred = self._deferred, []
            self._out[:0] = b"".join(self._pack(op, value) for op, value in deferred)
        out, self._out = self._out, bytearray()
        view = memoryview(out)
        try:
            while view:
                view = view[os.write(self._fd_out, view):]
        except OSError as e:
            self._fail(f"the server stopped reading ({e})")

    def _await_reply(self) -> None:
        """Flush, then serve callbacks until the reply to the last request arrives."""
        self._flush()
        while True:
            tag, = self._u64s(1)
            if tag == MSG_REPLY:
                return
            if tag != MSG_CALLBACK:
                self._fail(f"garbled message from the server (tag {tag:#x})")
            entry, hostctx, buf = self._u64s(3)
            callback = self.callbacks.get(entry)
            status = 1 if callback is None else callback(hostctx, buf)
            self._send(OP_RETURN, status & 0xFFFF_FFFF)
            self._flush()

    def _u64s(self, count: int) -> tuple[int, ...]:
        return self._unpack(self._take(8 * count), count)

    def _take(self, length: int) -> bytes:
        while len(self._in) < length:
            if self.dead is not None:
                raise TargetCrashed(self.dead)
            ready, _, _ = select.select([self._fd_in], [], [], ANSWER_TIMEOUT)
            if not ready:
                self.proc.kill()
                self._fail(f"no answer in {ANSWER_TIMEOUT:.0f} s")
            chunk = os.read(self._fd_in, max(length - len(self._in), 1 << 16))
            if not chunk:
                self._fail("the server died")
            self._in += chunk
        data = bytes(self._in[:length])
        del self._in[:length]
        return data

    def _fail(self, why: str) -> None:
        try:
            status = self.proc.wait(timeout=0 if why != "the server died" else 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self._stderr.seek(0)
        words = self._stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        exit_ = f"exit status {status}" if status >= 0 else f"killed by {_signal_name(-status)}"
        self.dead = f"{why} ({exit_}){': ' + ' / '.join(words) if words else ''}"
        raise TargetCrashed(self.dead)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"



__all__ = ["TargetCrashed", "TargetProcess", "int32"]
