"""Identity and naming: pids, process groups, sessions, uids, uname, prctl (kernel/sys.c)."""

from __future__ import annotations

import os
import struct

from ..abi import E
from ..files import KernelError
from .table import syscall
from .common import pid_target, s32


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
    """The parent's tgid: for the first process the shell that started it (its pid less one), for an orphan init
    (1), which is where orphans go."""
    return k.ppid_of(t)


@syscall("getuid", "getuid32", "geteuid", "geteuid32", sig="", cls="creds,pure")
def sys_getuid(k, t, *_):
    """The host user's uid."""
    return k.uid


@syscall("getgid", "getgid32", "getegid", "getegid32", sig="", cls="creds,pure")
def sys_getgid(k, t, *_):
    """The host user's gid."""
    return k.gid


@syscall("getgroups", "getgroups32", sig="int size, out gid_list(ret) list", cls="creds")
def sys_getgroups(k, t, size, lst, *_):
    """The supplementary groups (the host user's, as uid and gid are): their number when size is 0, EINVAL when
    size is smaller than that (getgroups(2)); getgroups stores 16-bit gids, getgroups32 32-bit ones."""
    from ..abi import NR

    groups = k.groups
    size = s32(size)
    if size < 0:
        raise KernelError(E.EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise KernelError(E.EINVAL)
    wide = t.regs.orig_ax == NR.getgroups32
    fmt = "<%d%s" % (len(groups), "I" if wide else "H")
    k.put_bytes(t, lst, struct.pack(fmt, *(g if wide else min(g, 0xFFFF) for g in groups)))
    return len(groups)


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
PR_SET_TIMERSLACK, PR_GET_TIMERSLACK, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 29, 30, 36, 37
DEFAULT_TIMER_SLACK_NS = 50_000  # init_task.timer_slack_ns


@syscall("prctl", sig="prctl_option option, out prctl_arg(option) arg2", cls="creds", ret="prctl")
def sys_prctl(k, t, option, arg2, *_):
    """The task name, dumpable flag, parent-death signal, child subreaper and timer slack; other options are
    -EINVAL (as unknown ones), with a line on stderr the first time."""
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
        if arg2 > 64:
            return -E.EINVAL  # "valid_signal(arg2)"
        t.pdeath_signal = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        k.put_u32(t, arg2, t.pdeath_signal)
        return 0
    if option == PR_SET_CHILD_SUBREAPER:
        t.signal.is_child_subreaper = bool(arg2)  # orphaned descendants reparent to this process
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        k.put_u32(t, arg2, int(t.signal.is_child_subreaper))
        return 0
    if option == PR_SET_TIMERSLACK:  # the slack is recorded; the model's timers expire without it
        t.timer_slack_ns = arg2 if arg2 else DEFAULT_TIMER_SLACK_NS
        return 0
    if option == PR_GET_TIMERSLACK:
        return t.timer_slack_ns
    k.warn_once(f"prctl{option}", f"prctl option {option} is not modelled (-EINVAL)")
    return -E.EINVAL


_LINUX_CAPABILITY_VERSION_1, _LINUX_CAPABILITY_VERSION_2, _LINUX_CAPABILITY_VERSION_3 = 0x19980330, 0x20071026, \
    0x20080522


def _cap_header(k, t, hdrp) -> tuple[int, int]:
    """(version's number of 32-bit words, the pid) from a cap_user_header_t; an unknown version is answered
    with the preferred one written back and EINVAL (cap_validate_magic)."""
    version, pid = struct.unpack("<Ii", k.get_bytes(t, hdrp, 8))
    words = {_LINUX_CAPABILITY_VERSION_1: 1, _LINUX_CAPABILITY_VERSION_2: 2, _LINUX_CAPABILITY_VERSION_3: 2}
    if version not in words:
        k.put_u32(t, hdrp, _LINUX_CAPABILITY_VERSION_3)
        raise KernelError(E.EINVAL)
    if pid < 0:
        raise KernelError(E.EINVAL)
    return words[version], pid


def task_caps(k, t) -> tuple[int, int, int]:
    """A task's (effective, permitted, inheritable) capability sets."""
    return t.caps if t.caps is not None else k.caps


@syscall("capget", sig="cap_header hdrp, out cap_data(hdrp) datap", cls="creds")
def sys_capget(k, t, hdrp, datap, *_):
    """A task's capability sets (capget); a NULL datap only asks for the version."""
    try:
        words, pid = _cap_header(k, t, hdrp)
    except KernelError as e:
        if e.errno == E.EINVAL and not datap:
            return 0  # "If the version is not supported ... when datap is NULL" returns the version, success
        raise
    target = k.tasks.get(pid) if pid else t
    if target is None:
        raise KernelError(E.ESRCH)
    if not datap:
        return 0
    eff, prm, inh = task_caps(k, target)
    out = b"".join(struct.pack("<III", (eff >> (32 * i)) & 0xFFFFFFFF, (prm >> (32 * i)) & 0xFFFFFFFF,
                               (inh >> (32 * i)) & 0xFFFFFFFF) for i in range(words))
    k.put_bytes(t, datap, out)
    return 0


@syscall("capset", sig="cap_header hdrp, cap_data(hdrp) datap", cls="creds")
def sys_capset(k, t, hdrp, datap, *_):
    """Set the caller's capability sets (capset / cap_capset): only the caller's own; the new permitted set a
    subset of the old, the effective a subset of the new permitted, the inheritable within the old permitted
    plus the old inheritable (EPERM otherwise)."""
    words, pid = _cap_header(k, t, hdrp)
    if pid and pid != t.pid:
        raise KernelError(E.EPERM)
    raw = k.get_bytes(t, datap, 12 * words)
    eff = prm = inh = 0
    for i in range(words):
        e, p, n = struct.unpack_from("<III", raw, 12 * i)
        eff |= e << (32 * i)
        prm |= p << (32 * i)
        inh |= n << (32 * i)
    old_eff, old_prm, old_inh = task_caps(k, t)
    if words == 1:  # a version-1 caller leaves the upper words as they are
        eff |= old_eff & ~0xFFFFFFFF
        prm |= old_prm & ~0xFFFFFFFF
        inh |= old_inh & ~0xFFFFFFFF
    if prm & ~old_prm or eff & ~prm or inh & ~(old_inh | old_prm):
        raise KernelError(E.EPERM)
    t.caps = (eff, prm, inh)
    return 0


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def _timeval(ns: int) -> tuple[int, int]:
    return ns // 10**9, (ns // 1000) % 10**6


@syscall("getrusage", sig="enum(rusage_who) who, out rusage_full usage")
def sys_getrusage(k, t, who, usage, *_):
    """Resource usage of the process, its reaped children or the thread (getrusage): CPU time from the cycle
    model (user: instructions; system: priced kernel events), minor faults, voluntary switches, max RSS."""
    who = s32(who)
    sig = t.signal
    if who == RUSAGE_THREAD:
        u, st = k.times_of(t)
        minflt, nvcsw = sum(t.acct.counts), t.switches
    elif who == RUSAGE_SELF:
        u, st, minflt, nvcsw = sig.utime, sig.stime, sig.minflt, sig.nvcsw
        for th in sig.threads:
            if th.is_alive():
                tu, ts = k.times_of(th)
                u, st = u + tu, st + ts
                minflt += sum(th.acct.counts)
                nvcsw += th.switches
    elif who == RUSAGE_CHILDREN:
        u, st, minflt, nvcsw = sig.cutime, sig.cstime, sig.cminflt, sig.cnvcsw
    else:
        raise KernelError(E.EINVAL)
    rss_kb = (int(t.mm.present_ptes().size) * 4) if t.mm is not None and who != RUSAGE_CHILDREN else 0
    k.put_bytes(t, usage, pack_rusage(u, st, minflt, nvcsw, rss_kb))
    return 0


def pack_rusage(utime: int, stime: int, minflt: int, nvcsw: int, maxrss_kb: int = 0) -> bytes:
    """A 72-byte i386 struct rusage (compat_rusage) with the fields the model counts."""
    fields = [*_timeval(utime), *_timeval(stime), maxrss_kb, 0, 0, 0, minflt, 0, 0, 0, 0, 0, 0, 0, nvcsw, 0]
    return struct.pack("<18i", *fields)


USER_HZ = 100  # clock_t ticks per second (include/asm-generic/param.h)


def _group_times(k, t) -> tuple[int, int]:
    """(user, system) ns of the whole process: its exited threads' and its live threads' (thread_group_cputime)."""
    sig = t.signal
    u, st = sig.utime, sig.stime
    for th in sig.threads:
        if th.is_alive():
            tu, ts = k.times_of(th)
            u, st = u + tu, st + ts
    return u, st


@syscall("times", sig="out tms buf")
def sys_times(k, t, buf, *_):
    """times(2): the process's and its waited-for children's user and system time in clock ticks; returns "the
    number of clock ticks that have elapsed since an arbitrary point in the past" (here the run's start)."""
    if buf:
        u, st = _group_times(k, t)
        ticks = [x * USER_HZ // 10**9 for x in (u, st, t.signal.cutime, t.signal.cstime)]
        k.put_bytes(t, buf, struct.pack("<4I", *(x & 0xFFFFFFFF for x in ticks)))
    return (k.now_ns(1) * USER_HZ // 10**9) & 0x7FFFFFFF
