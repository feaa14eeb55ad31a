"""Helpers shared by the syscall modules: argument conversions, pid lookup, host calls, user timespecs."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError


AT_FDCWD = -100 & 0xFFFFFFFF


AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH = 0x100, 0x200, 0x1000


CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1


def s32(v: int) -> int:
    """An argument register as a signed 32-bit int."""
    return v - (1 << 32) if v & 0x80000000 else v


def pid_target(k, t, pid):
    """The task a pid argument names, the caller for 0, else ESRCH (find_task_by_vpid)."""
    target = k.tasks.get(pid) if pid else t
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    return target


def timespec_arg(k, t, ptr, time64):
    if not ptr:
        return None
    sec, nsec = struct.unpack("<qq" if time64 else "<iI", k.get_bytes(t, ptr, 16 if time64 else 8))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    return sec * 10**9 + nsec


def host_call(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise KernelError(e.errno or E.EIO) from None
