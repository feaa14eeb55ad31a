"""Resource limits and randomness: prlimit64, getrlimit, setrlimit, getrandom (kernel/sys.c,
drivers/char/random.c)."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError
from .table import syscall
from .common import RLIM_INFINITY, pid_target, rlimit


@syscall("prlimit64", sig="pid pid, enum(rlimit) resource, rlimit64 new_limit, out rlimit64 old_limit")
def sys_prlimit64(k, t, pid, res, new, old, *_):
    """Get and set resource limits as struct rlimit64."""
    target = pid_target(k, t, pid)
    if res >= 16:
        raise KernelError(E.EINVAL)
    if old:
        k.put_bytes(t, old, struct.pack("<QQ", *rlimit(target, res)))
    if new:
        cur, mx = struct.unpack("<QQ", k.get_bytes(t, new, 16))
        if cur > mx:
            raise KernelError(E.EINVAL)
        target.signal.rlimits[res] = (cur, mx)
    return 0


@syscall("ugetrlimit", "getrlimit", sig="enum(rlimit) resource, out rlimit rlim")
def sys_ugetrlimit(k, t, res, buf, *_):
    """struct rlimit with 32-bit fields, RLIM_INFINITY clamped to 0xffffffff."""
    if res >= 16:
        raise KernelError(E.EINVAL)
    cur, mx = (min(v, 0xFFFFFFFF) for v in rlimit(t, res))
    k.put_bytes(t, buf, struct.pack("<II", cur, mx))
    return 0


@syscall("setrlimit", sig="enum(rlimit) resource, rlimit rlim")
def sys_setrlimit(k, t, res, buf, *_):
    """Set a limit from a struct rlimit."""
    cur, mx = struct.unpack("<II", k.get_bytes(t, buf, 8))
    t.signal.rlimits[res] = tuple(RLIM_INFINITY if v == 0xFFFFFFFF else v for v in (cur, mx))
    return 0


@syscall("getrandom", sig="out buf(ret) buf, size buflen, flags(grnd) flags")
def sys_getrandom(k, t, buf, count, flags, *_):
    """Deterministic bytes from the kernel's seeded generator, so runs repeat exactly."""
    if flags & ~7:
        raise KernelError(E.EINVAL)
    # get_random_bytes_user: at most MAX_RW_COUNT, stopping at the first fault with the bytes already copied
    return k.copy_to_user_chunked(t, buf, min(count, 0x7FFFF000), k.next_random)
