"""Resource limits and randomness: prlimit64, getrlimit, setrlimit, getrandom (kernel/sys.c,
drivers/char/random.c)."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError
from .table import syscall
from .common import RLIM_INFINITY, RLIMIT_NOFILE, pid_target, rlimit
from ..cred import CAP_SYS_RESOURCE
from .read_write import MAX_RW_COUNT

NR_OPEN = 1 << 20  # fs.nr_open's default: the largest RLIMIT_NOFILE (an infinite one is EPERM too)


@syscall("prlimit64", sig="pid pid, enum(rlimit) resource, rlimit64 new_limit, out rlimit64 old_limit")
def sys_prlimit64(k, t, pid, res, new, old, *_):
    """Get and set resource limits as struct rlimit64, in prlimit64's order: the new limit is read (EFAULT),
    the task found (ESRCH), the resource and limit checked (EINVAL), and the old limit stored last."""
    limit = struct.unpack("<QQ", k.get_bytes(t, new, 16)) if new else None
    target = pid_target(k, t, pid)
    if res >= 16 or (limit is not None and limit[0] > limit[1]):
        raise KernelError(E.EINVAL)
    before = rlimit(target, res)
    if limit is not None:
        _may_raise(k, t, target, res, limit[1])
        target.signal.rlimits[res] = limit
    if old:
        k.put_bytes(t, old, struct.pack("<QQ", *before))
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
    """Set a limit from a struct rlimit (read first, EFAULT), 0xffffffff meaning RLIM_INFINITY; EINVAL for an
    unknown resource or a soft limit above the hard one (do_prlimit)."""
    cur, mx = (RLIM_INFINITY if v == 0xFFFFFFFF else v for v in struct.unpack("<II", k.get_bytes(t, buf, 8)))
    if res >= 16 or cur > mx:
        raise KernelError(E.EINVAL)
    _may_raise(k, t, t, res, mx)
    t.signal.rlimits[res] = (cur, mx)
    return 0


def _may_raise(k, t, target, res: int, mx: int) -> None:
    """do_prlimit: raising a hard limit needs CAP_SYS_RESOURCE (EPERM), and RLIMIT_NOFILE stops at fs.nr_open."""
    if res == RLIMIT_NOFILE and mx > NR_OPEN:
        raise KernelError(E.EPERM)
    if mx > rlimit(target, res)[1] and not k.cred(t).capable(CAP_SYS_RESOURCE):
        raise KernelError(E.EPERM)


@syscall("getrandom", sig="out buf(ret) buf, size buflen, flags(grnd) flags")
def sys_getrandom(k, t, buf, count, flags, *_):
    """Deterministic bytes from the kernel's seeded generator, so runs repeat exactly."""
    if flags & ~7 or flags & 6 == 6:
        raise KernelError(E.EINVAL)  # unknown flags, or GRND_INSECURE with GRND_RANDOM ("makes no sense")
    # get_random_bytes_user: at most MAX_RW_COUNT, stopping at the first fault with the bytes already copied
    return k.copy_to_user_chunked(t, buf, min(count, MAX_RW_COUNT), k.next_random)
