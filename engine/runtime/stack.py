"""The native stack a call into wasm really has: the calling thread's bounds, measured.

``Config.max_wasm_stack`` is a budget, not a promise that the thread has that much
stack: the main thread may have 8 MiB, a thread from ``threading`` 256 KiB or less.
The rules:

* Before the outermost call into wasm, Python stores the thread's *floor* in
  :attr:`~engine.compile.layout.StoreState.STACK_FLOOR`: the lowest address of the
  thread's stack (from ``pthread_getattr_np``, which reads the kernel's view of the main
  thread's stack and the pthread attributes of the others) plus a reserve.
* The entry trampoline sets the stack limit to the higher of its own frame minus
  ``max_wasm_stack`` and the floor, so wasm traps with ``STACK_OVERFLOW`` before it
  reaches the reserve, whatever ``max_wasm_stack`` says.
* The reserve is what host code gets when wasm calls it at the deepest point: the host
  stub, the ``ctypes`` callback and the Python code it runs, and the trap path.  Wasm
  called back from there starts below the limit and traps at once.  It is an eighth of
  the thread's stack, at most :data:`HOST_RESERVE`.
* LLVM (compiling a module, a trampoline or the store runtime) recurses as deep as the
  code it compiles is nested, with no check of its own: it runs on the caller's thread
  if that has at least half of :data:`COMPILE_STACK` (the main thread's 8 MiB, less a
  guard page, qualifies) and is not in a call into wasm, else on a helper thread of that
  size (:func:`on_large_stack`).
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable, TypeVar

HOST_RESERVE = 128 * 1024
"""Stack bytes kept below wasm's deepest frame for host code (see the module docstring)."""
COMPILE_STACK = 8 << 20
"""The stack LLVM gets (compiling 100,000 nested blocks takes less than 1 MiB)."""

_libc = ctypes.CDLL(None)
_libc.pthread_self.restype = ctypes.c_ulong
_libc.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
_libc.pthread_attr_getstack.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(ctypes.c_size_t)]
_libc.pthread_attr_destroy.argtypes = [ctypes.c_void_p]

_PTHREAD_ATTR_BYTES = 256
"""Room for a ``pthread_attr_t`` on any glibc target (56 bytes on x86-64, 64 on aarch64)."""

_threads = threading.local()
_stack_size_lock = threading.Lock()
T = TypeVar("T")


def thread_stack() -> tuple[int, int]:
    """The calling thread's stack as ``(lowest address, size in bytes)`` (measured once
    per thread: for the main thread glibc reads ``/proc/self/maps``)."""
    bounds = getattr(_threads, "bounds", None)
    if bounds is None:
        bounds = _threads.bounds = _measure()
    return bounds


def _measure() -> tuple[int, int]:
    attr = ctypes.create_string_buffer(_PTHREAD_ATTR_BYTES)
    if _libc.pthread_getattr_np(_libc.pthread_self(), attr) != 0:
        raise OSError("pthread_getattr_np failed: the thread's stack bounds are unknown")
    try:
        low, size = ctypes.c_void_p(), ctypes.c_size_t()
        if _libc.pthread_attr_getstack(attr, ctypes.byref(low), ctypes.byref(size)) != 0:
            raise OSError("pthread_attr_getstack failed: the thread's stack bounds are unknown")
        return low.value or 0, size.value
    finally:
        _libc.pthread_attr_destroy(attr)


def stack_floor() -> int:
    """The lowest address wasm frames may use on the calling thread."""
    low, size = thread_stack()
    return low + min(HOST_RESERVE, size // 8)


def wasm_entered() -> None:
    """The calling thread starts a call into wasm (of any store)."""
    _threads.wasm_depth = getattr(_threads, "wasm_depth", 0) + 1


def wasm_left() -> None:
    _threads.wasm_depth -= 1


def on_large_stack(work: Callable[[], T]) -> T:
    """``work()``, run on this thread if its stack has half of :data:`COMPILE_STACK`
    bytes and no wasm frames on it (a host function's wasm callers may have used it down
    to the floor), else on a helper thread of that size while this one waits."""
    if thread_stack()[1] >= COMPILE_STACK // 2 and not getattr(_threads, "wasm_depth", 0):
        return work()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as error:  # noqa: B036 -- handed to the waiting thread
            outcome.append((False, error))

    with _stack_size_lock:  # threading.stack_size is process-wide
        previous = threading.stack_size(COMPILE_STACK)
        try:
            helper = threading.Thread(target=run, name="exnfuzz-compile")
            helper.start()
        finally:
            threading.stack_size(previous)
    helper.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
