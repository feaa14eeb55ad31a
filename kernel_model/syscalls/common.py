"""Helpers shared by the syscall modules: argument conversions, pid lookup, host calls, user timespecs."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError


AT_FDCWD = -100 & 0xFFFFFFFF


AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH = 0x100, 0x200, 0x1000
AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE = 0x800, 0x6000
STATX__RESERVED = 0x80000000  # a mask bit reserved for a future struct statx extension


CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1

RLIM_INFINITY = 0xFFFFFFFFFFFFFFFF
RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS = 2, 3, 4, 6, 7, 8, 9
RLIMIT_SIGPENDING = 11
# The limits a process starts with where Linux's defaults (INIT_RLIMITS) are not infinity: an 8 MiB stack, no
# core files (soft 0), 1024 descriptors (hard 1048576, as systemd sets it), 8 MiB of locked memory (MLOCK_LIMIT
# since Linux 5.16). RLIMIT_NPROC and RLIMIT_SIGPENDING depend on the memory size: the Kernel sets them.
DEFAULT_RLIMITS = {RLIMIT_STACK: (8 << 20, RLIM_INFINITY), RLIMIT_CORE: (0, RLIM_INFINITY),
                   RLIMIT_NOFILE: (1024, 1048576), RLIMIT_MEMLOCK: (8 << 20, 8 << 20)}


def rlimit(t, res: int) -> tuple[int, int]:
    """(soft, hard) limit of a resource for the task's process (task_rlimit)."""
    return t.signal.rlimits.get(res, DEFAULT_RLIMITS.get(res, (RLIM_INFINITY, RLIM_INFINITY)))


def s32(v: int) -> int:
    """An argument register as a signed 32-bit int."""
    return v - (1 << 32) if v & 0x80000000 else v


def pid_target(k, t, pid):
    """The task a pid argument names, the caller for 0, else ESRCH (find_task_by_vpid)."""
    target = k.tasks.get(pid) if pid else t
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    return target


KTS = "<qI4x"  # a struct __kernel_timespec as the kernel reads it: get_timespec64 keeps tv_nsec's low 32 bits


def empty_path(k, t, ptr: int) -> bool:
    """vfs_empty_path, for AT_EMPTY_PATH: a NULL path (Linux 6.10) or one whose first byte is NUL; a path that
    cannot be read is not empty (its lookup says EFAULT later)."""
    if ptr == 0:
        return True
    try:
        return k.get_bytes(t, ptr, 1) == b"\0"
    except KernelError:
        return False


def timespec_arg(k, t, ptr, time64):
    if not ptr:
        return None
    sec, nsec = struct.unpack(KTS if time64 else "<iI", k.get_bytes(t, ptr, 16 if time64 else 8))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    return sec * 10**9 + nsec


def host_call(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise KernelError(e.errno or E.EIO) from None
    except OverflowError:  # a value the host's C type cannot hold (a time or size past its range)
        raise KernelError(E.EINVAL) from None


def install_pair(k, t, a, b, cloexec: bool, ptr: int) -> int:
    """Install two new files at the lowest free descriptors and store them as int[2] at ptr (pipe2,
    socketpair): when the second cannot be installed the first is closed again, and files never installed are
    released."""
    limit = rlimit(t, RLIMIT_NOFILE)[0]
    try:
        fa = t.files.install(a, cloexec, limit=limit)
    except KernelError:
        a.release()
        b.release()
        raise
    try:
        fb = t.files.install(b, cloexec, limit=limit)
    except KernelError:
        t.files.close(fa)
        b.release()
        raise
    try:
        k.put_bytes(t, ptr, struct.pack("<ii", fa, fb))
    except KernelError:
        t.files.close(fa)  # do_pipe2: an array that cannot be written gets no descriptors (EFAULT)
        t.files.close(fb)
        raise
    return 0
