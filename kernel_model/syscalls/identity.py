"""Identity and naming: pids, process groups, sessions, uids, uname, prctl (kernel/sys.c)."""

from __future__ import annotations

import os

from ..abi import E
from ..files import KernelError
from .table import syscall
from .common import pid_target


@syscall("getpid", sig="", cls="pure")
def sys_getpid(k, t, *_):
    """The thread group id."""
    return t.tgid


@syscall("gettid", sig="", cls="pure")
def sys_gettid(k, t, *_):
    """The thread id."""
    return t.pid


@syscall("getppid", sig="", cls="pure")
def sys_getppid(k, t, *_):
    """The parent's tgid; 0 for the first process, as init's in a pid namespace."""
    p = t.group_leader.real_parent
    return p.tgid if p is not None else 0


@syscall("getuid", "getuid32", "geteuid", "geteuid32", sig="", cls="creds,pure")
def sys_getuid(k, t, *_):
    """The host user's uid."""
    return k.uid


@syscall("getgid", "getgid32", "getegid", "getegid32", sig="", cls="creds,pure")
def sys_getgid(k, t, *_):
    """The host user's gid."""
    return k.gid


@syscall("getpgid", sig="pid pid")
def sys_getpgid(k, t, pid, *_):
    """Process group of pid (0: self)."""
    return pid_target(k, t, pid).signal.pgid


@syscall("getpgrp", sig="", cls="pure")
def sys_getpgrp(k, t, *_):
    """Process group of the caller."""
    return t.signal.pgid


@syscall("setpgid", sig="pid pid, pid pgid")
def sys_setpgid(k, t, pid, pgid, *_):
    """Move a process into a process group."""
    target = pid_target(k, t, pid)
    target.signal.pgid = pgid or target.tgid
    return 0


@syscall("getsid", sig="pid pid")
def sys_getsid(k, t, pid, *_):
    """Session id."""
    return pid_target(k, t, pid).signal.sid


@syscall("setsid", sig="")
def sys_setsid(k, t, *_):
    """Start a new session and process group."""
    if t.signal.pgid == t.tgid:
        raise KernelError(E.EPERM)
    t.signal.sid = t.signal.pgid = t.tgid
    return t.tgid


@syscall("uname", sig="out utsname buf")
def sys_uname(k, t, buf, *_):
    """struct new_utsname: six 65-byte fields; the machine is i686 as on a 32-bit kernel."""
    u = os.uname()
    fields = [b"Linux", u.nodename.encode(), u.release.encode(), u.version.encode(), b"i686", b"(none)"]
    k.put_bytes(t, buf, b"".join(f[:64].ljust(65, b"\0") for f in fields))
    return 0


PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_NAME, PR_GET_NAME = 1, 2, 3, 4, 15, 16


@syscall("prctl", sig="prctl_option option, out prctl_arg(option) arg2", cls="creds", ret="prctl")
def sys_prctl(k, t, option, arg2, *_):
    """The task name, dumpable flag and parent-death signal; other options are -EINVAL (as unknown ones)."""
    if option == PR_SET_NAME:
        t.comm = os.fsdecode(k.get_bytes(t, arg2, 16).split(b"\0", 1)[0])[:15]
        return 0
    if option == PR_GET_NAME:
        k.put_bytes(t, arg2, t.comm.encode()[:15].ljust(16, b"\0"))
        return 0
    if option == PR_GET_DUMPABLE:
        return 1
    if option == PR_SET_DUMPABLE:
        return 0 if arg2 in (0, 1) else -E.EINVAL
    if option == PR_SET_PDEATHSIG:
        t.pdeath_signal = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        k.put_u32(t, arg2, getattr(t, "pdeath_signal", 0))
        return 0
    k.warn_once(f"prctl{option}", f"prctl option {option} is not modelled (-EINVAL)")
    return -E.EINVAL
