"""Identity and naming: pids, process groups, sessions, uids, uname, prctl (kernel/sys.c)."""

from __future__ import annotations

import os
import struct

from ..abi import NR, E
from ..files import KernelError
from ..task import DEAD
from .table import syscall
from ..cred import SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED
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


@syscall("getuid", "getuid32", sig="", cls="creds,pure")
def sys_getuid(k, t, *_):
    """The real uid (16-bit getuid: ids above 65535 read as 65534, high2lowuid)."""
    return _low(t, k.cred(t).uid, NR.getuid)


@syscall("geteuid", "geteuid32", sig="", cls="creds,pure")
def sys_geteuid(k, t, *_):
    """The effective uid."""
    return _low(t, k.cred(t).euid, NR.geteuid)


@syscall("getgid", "getgid32", sig="", cls="creds,pure")
def sys_getgid(k, t, *_):
    """The real gid."""
    return _low(t, k.cred(t).gid, NR.getgid)


@syscall("getegid", "getegid32", sig="", cls="creds,pure")
def sys_getegid(k, t, *_):
    """The effective gid."""
    return _low(t, k.cred(t).egid, NR.getegid)


OVERFLOW_ID = 65534  # overflowuid / overflowgid


def _low(t, value: int, nr16: int) -> int:
    """An id as the 16-bit call returns it (high2lowuid)."""
    return (value if value < 0x10000 else OVERFLOW_ID) if t.regs.orig_ax == nr16 else value


def _id_arg(t, v: int, nr16s) -> int:
    """An id argument: -1 stays -1 ("unchanged"); a 16-bit call's 0xffff is -1 too (low2highuid)."""
    if t.regs.orig_ax in nr16s:
        v &= 0xFFFF
        return -1 if v == 0xFFFF else v
    return -1 if v == 0xFFFFFFFF else v


def _commit(k, t, new) -> int:
    """commit_creds, with the capability fix-ups of a uid change."""
    from ..cred import fix_setuid

    t.cred = fix_setuid(k.cred(t), new)
    return 0


def _setxid(k, t, v, nr16, cap: int, names: tuple[str, str, str, str]) -> int:
    """__sys_setuid / __sys_setgid: with the capability all four ids; otherwise only the effective (and fs) id,
    to the real or saved one (EPERM otherwise); EINVAL for -1."""
    c = k.cred(t)
    v = _id_arg(t, v, (nr16,))
    if v < 0:
        raise KernelError(E.EINVAL)
    if c.capable(cap):
        return _commit(k, t, c.change(**dict.fromkeys(names, v)))
    if v not in (getattr(c, names[0]), getattr(c, names[2])):
        raise KernelError(E.EPERM)
    return _commit(k, t, c.change(**{names[1]: v, names[3]: v}))


@syscall("setuid", "setuid32", sig="uid uid", cls="creds")
def sys_setuid(k, t, uid, *_):
    """setuid(2), with CAP_SETUID for all of real, effective, saved and fs uid."""
    return _setxid(k, t, uid, NR.setuid, 7, ("uid", "euid", "suid", "fsuid"))


@syscall("setgid", "setgid32", sig="gid gid", cls="creds")
def sys_setgid(k, t, gid, *_):
    """setgid(2), with CAP_SETGID for all of real, effective, saved and fs gid."""
    return _setxid(k, t, gid, NR.setgid, 6, ("gid", "egid", "sgid", "fsgid"))


def _setre(k, t, r, e, nr16, cap: int, names: tuple[str, str, str, str]) -> int:
    """__sys_setreuid / __sys_setregid: an unprivileged caller may set the real id to the real or effective one
    and the effective to the real, effective or saved one; the saved id follows the new effective one when the
    real id is set or the effective one changes away from the real."""
    c = k.cred(t)
    real, eff, saved, fs = (getattr(c, n) for n in names)
    r, e = (_id_arg(t, x, (nr16,)) for x in (r, e))
    if not c.capable(cap) and ((r >= 0 and r not in (real, eff)) or (e >= 0 and e not in (real, eff, saved))):
        raise KernelError(E.EPERM)
    new_real = real if r < 0 else r
    new_eff = eff if e < 0 else e
    new_saved = new_eff if r >= 0 or (e >= 0 and e != real) else saved
    return _commit(k, t, c.change(**dict(zip(names, (new_real, new_eff, new_saved, new_eff), strict=True))))


@syscall("setreuid", "setreuid32", sig="uid ruid, uid euid", cls="creds")
def sys_setreuid(k, t, ruid, euid, *_):
    """setreuid(2), with CAP_SETUID for any ids."""
    return _setre(k, t, ruid, euid, NR.setreuid, 7, ("uid", "euid", "suid", "fsuid"))


@syscall("setregid", "setregid32", sig="gid rgid, gid egid", cls="creds")
def sys_setregid(k, t, rgid, egid, *_):
    """setregid(2), with CAP_SETGID for any ids."""
    return _setre(k, t, rgid, egid, NR.setregid, 6, ("gid", "egid", "sgid", "fsgid"))


def _setres(k, t, args, nr16, cap: int, names: tuple[str, str, str, str]) -> int:
    """__sys_setresuid / __sys_setresgid: each id that is not -1; an unprivileged caller only to one of its
    current three; the fs id follows the effective one."""
    c = k.cred(t)
    cur = tuple(getattr(c, n) for n in names[:3])
    ids = [_id_arg(t, x, (nr16,)) for x in args]
    if not c.capable(cap) and any(x >= 0 and x not in cur for x in ids):
        raise KernelError(E.EPERM)
    r, e, s_ = (old if x < 0 else x for x, old in zip(ids, cur, strict=True))
    return _commit(k, t, c.change(**dict(zip(names, (r, e, s_, e), strict=True))))


@syscall("setresuid", "setresuid32", sig="uid ruid, uid euid, uid suid", cls="creds")
def sys_setresuid(k, t, ruid, euid, suid, *_):
    """setresuid(2), with CAP_SETUID for any ids."""
    return _setres(k, t, (ruid, euid, suid), NR.setresuid, 7, ("uid", "euid", "suid", "fsuid"))


@syscall("setresgid", "setresgid32", sig="gid rgid, gid egid, gid sgid", cls="creds")
def sys_setresgid(k, t, rgid, egid, sgid, *_):
    """setresgid(2), with CAP_SETGID for any ids."""
    return _setres(k, t, (rgid, egid, sgid), NR.setresgid, 6, ("gid", "egid", "sgid", "fsgid"))


@syscall("getresuid", "getresuid32", sig="out int_ptr ruid, out int_ptr euid, out int_ptr suid", cls="creds")
def sys_getresuid(k, t, pr, pe, ps, *_):
    """The real, effective and saved uids (16-bit for getresuid)."""
    c = k.cred(t)
    return _put_ids(k, t, (pr, pe, ps), (c.uid, c.euid, c.suid), t.regs.orig_ax == NR.getresuid)


@syscall("getresgid", "getresgid32", sig="out int_ptr rgid, out int_ptr egid, out int_ptr sgid", cls="creds")
def sys_getresgid(k, t, pr, pe, ps, *_):
    """The real, effective and saved gids (16-bit for getresgid)."""
    c = k.cred(t)
    return _put_ids(k, t, (pr, pe, ps), (c.gid, c.egid, c.sgid), t.regs.orig_ax == NR.getresgid)


def _put_ids(k, t, ptrs, ids, narrow: bool) -> int:
    for p, v in zip(ptrs, ids, strict=True):
        if narrow:
            k.put_bytes(t, p, struct.pack("<H", v if v < 0x10000 else OVERFLOW_ID))
        else:
            k.put_u32(t, p, v)
    return 0


@syscall("setfsuid", "setfsuid32", sig="uid fsuid", cls="creds")
def sys_setfsuid(k, t, fsuid, *_):
    """setfsuid(2): returns the previous fs uid always; changes it to one of the four uids, or any with
    CAP_SETUID."""
    c = k.cred(t)
    old = c.fsuid
    v = _id_arg(t, fsuid, (NR.setfsuid,))
    if v >= 0 and (v in (c.uid, c.euid, c.suid, c.fsuid) or c.capable(7)) and v != old:
        _commit(k, t, c.change(fsuid=v))
    return old


@syscall("setfsgid", "setfsgid32", sig="gid fsgid", cls="creds")
def sys_setfsgid(k, t, fsgid, *_):
    """setfsgid(2), as setfsuid."""
    c = k.cred(t)
    old = c.fsgid
    v = _id_arg(t, fsgid, (NR.setfsgid,))
    if v >= 0 and (v in (c.gid, c.egid, c.sgid, c.fsgid) or c.capable(6)) and v != old:
        t.cred = c.change(fsgid=v)
    return old


NGROUPS_MAX = 65536


@syscall("setgroups", "setgroups32", sig="int size, gid_list(size) list", cls="creds")
def sys_setgroups(k, t, size, lst, *_):
    """setgroups(2): CAP_SETGID (EPERM), at most NGROUPS_MAX (EINVAL); 16-bit gids for setgroups."""
    c = k.cred(t)
    size = s32(size)
    if not c.capable(6):
        raise KernelError(E.EPERM)
    if not 0 <= size <= NGROUPS_MAX:
        raise KernelError(E.EINVAL)
    wide = t.regs.orig_ax == NR.setgroups32
    raw = k.get_bytes(t, lst, size * (4 if wide else 2)) if size else b""
    groups = struct.unpack(f"<{size}{'I' if wide else 'H'}", raw)
    if (0xFFFFFFFF if wide else 0xFFFF) in groups:
        raise KernelError(E.EINVAL)  # -1 (low2highgid(0xffff)) is no group: make_kgid fails
    t.cred = c.change(groups=tuple(sorted(set(groups))))
    return 0


@syscall("getgroups", "getgroups32", sig="int size, out gid_list(ret) list", cls="creds")
def sys_getgroups(k, t, size, lst, *_):
    """The supplementary groups (the host user's, as uid and gid are): their number when size is 0, EINVAL when
    size is smaller than that (getgroups(2)); getgroups stores 16-bit gids, getgroups32 32-bit ones."""
    groups = k.cred(t).groups
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
    """Move the caller or one of its children into a process group of its session (ksys_setpgid): EINVAL for a
    negative pgid or a thread that is not a leader, ESRCH for a process that is neither, EPERM for a child in
    another session, a session leader, or a group that does not exist in the session, EACCES for a child that
    has exec'd."""
    pid, pgid = s32(pid), s32(pgid)
    me = t.group_leader
    pid = pid or me.tgid
    pgid = pgid or pid
    if pgid < 0:
        raise KernelError(E.EINVAL)
    target = k.tasks.get(pid)
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    if target.group_leader is not target:
        raise KernelError(E.EINVAL)
    parent = target.real_parent
    if parent is not None and parent.group_leader is me:
        if target.signal.sid != me.signal.sid:
            raise KernelError(E.EPERM)
        if getattr(target, "did_exec", False):
            raise KernelError(E.EACCES)
    elif target is not me:
        raise KernelError(E.ESRCH)
    if target.signal.sid == target.tgid:
        raise KernelError(E.EPERM)  # a session leader stays in its group
    if pgid != pid and not any(x.signal is not None and x.signal.pgid == pgid and x.signal.sid == me.signal.sid
                               for x in k.tasks.values() if x.group_leader is x and x.state != DEAD):
        raise KernelError(E.EPERM)
    target.signal.pgid = pgid
    return 0


@syscall("getsid", sig="pid pid")
def sys_getsid(k, t, pid, *_):
    """Session id."""
    return pid_target(k, t, pid).signal.sid


@syscall("setsid", sig="")
def sys_setsid(k, t, *_):
    """Start a new session and process group (ksys_setsid): EPERM when a process group with the caller's id
    exists (it leads one, or a group kept its id after the leader left)."""
    if any(x.signal is not None and x.signal.pgid == t.tgid for x in k.tasks.values()
           if x.group_leader is x and x.state != DEAD):
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
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS = 38, 39, 40
DEFAULT_TIMER_SLACK_NS = 50_000  # init_task.timer_slack_ns


@syscall("prctl", sig="prctl_option option, out prctl_arg(option) arg2", cls="creds", ret="prctl")
def sys_prctl(k, t, option, arg2, *args):
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
    if option == PR_SET_NO_NEW_PRIVS:  # one way: "once set, this bit cannot be unset"
        if arg2 != 1 or any(args[:3]):
            return -E.EINVAL
        t.no_new_privs = True
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        return -E.EINVAL if arg2 or any(args[:3]) else int(t.no_new_privs)
    if option == PR_GET_TID_ADDRESS:
        k.put_u32(t, arg2, t.clear_child_tid)
        return 0
    if option == PR_SET_TIMERSLACK:  # the slack is recorded; the model's timers expire without it
        t.timer_slack_ns = arg2 if arg2 else getattr(t, "default_timer_slack_ns", DEFAULT_TIMER_SLACK_NS)
        return 0
    if option == PR_GET_TIMERSLACK:
        return t.timer_slack_ns
    if option in MORE_PRCTLS:
        return MORE_PRCTLS[option](k, t, arg2, *args[:3])
    k.warn_once(f"prctl{option}", f"prctl option {option} is not modelled (-EINVAL)")
    return -E.EINVAL


PR_GET_TIMING, PR_SET_TIMING, PR_GET_TSC, PR_SET_TSC, PR_GET_SECCOMP, PR_SET_SECCOMP = 13, 14, 25, 26, 21, 22
PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_SECUREBITS, PR_SET_SECUREBITS = 23, 24, 27, 28
PR_GET_THP_DISABLE, PR_SET_THP_DISABLE, PR_CAP_AMBIENT, PR_GET_SPECULATION_CTRL = 42, 41, 47, 52
PR_TSC_ENABLE, PR_TSC_SIGSEGV = 1, 2
CAP_LAST_CAP, CAP_SETPCAP, CAP_SYS_ADMIN = 40, 8, 21
SECCOMP_MODE_STRICT, SECCOMP_MODE_FILTER = 1, 2


def _pr_timing(k, t, arg2, *rest):
    """PR_SET_TIMING: only statistical process timing exists (PR_TIMING_TIMESTAMP is EINVAL)."""
    return 0 if arg2 == 0 else -E.EINVAL


def _pr_tsc(k, t, arg2, *rest):
    """PR_SET_TSC: whether rdtsc works (PR_TSC_ENABLE) or raises SIGSEGV (PR_TSC_SIGSEGV); the CPU side traps
    every rdtsc already, so it only has to look at the task's mode."""
    if arg2 not in (PR_TSC_ENABLE, PR_TSC_SIGSEGV):
        return -E.EINVAL
    t.tsc_mode = arg2
    return 0


def _pr_get_tsc(k, t, arg2, *rest):
    k.put_u32(t, arg2, getattr(t, "tsc_mode", PR_TSC_ENABLE))
    return 0


def _pr_get_seccomp(k, t, arg2, *rest):
    return t.seccomp_mode


def _pr_set_seccomp(k, t, arg2, arg3, *rest):
    """Strict mode: from now on only read, write, exit and sigreturn (anything else is SIGKILL). Filter mode
    needs no_new_privs or CAP_SYS_ADMIN (EACCES) and a readable program (EFAULT); running classic BPF filters
    is not modelled (EINVAL, said once)."""
    if arg2 == SECCOMP_MODE_STRICT:
        t.seccomp_mode = SECCOMP_MODE_STRICT
        return 0
    if arg2 != SECCOMP_MODE_FILTER:
        return -E.EINVAL
    length, filt = struct.unpack("<HxxI", k.get_bytes(t, arg3, 8))  # struct sock_fprog first (EFAULT)
    if length == 0 or length > 4096:
        return -E.EINVAL
    if not t.no_new_privs and not k.cred(t).capable(CAP_SYS_ADMIN):
        return -E.EACCES
    k.get_bytes(t, filt, 8 * length)
    k.warn_once("seccomp", "seccomp filters (classic BPF) are not modelled (-EINVAL)")
    return -E.EINVAL


def _pr_capbset_read(k, t, arg2, *rest):
    if arg2 > CAP_LAST_CAP:
        return -E.EINVAL
    return k.cred(t).cap_bset >> arg2 & 1


def _pr_capbset_drop(k, t, arg2, *rest):
    """Drop a capability from the bounding set for good (cap_prctl_drop): EPERM without CAP_SETPCAP."""
    cred = k.cred(t)
    if not cred.capable(CAP_SETPCAP):
        return -E.EPERM
    if arg2 > CAP_LAST_CAP:
        return -E.EINVAL
    t.cred = cred.change(cap_bset=cred.cap_bset & ~(1 << arg2))
    return 0


def _pr_get_keepcaps(k, t, *rest):
    """PR_GET_KEEPCAPS: whether setuid away from root keeps the permitted capabilities (the other arguments are
    not looked at)."""
    return int(bool(k.cred(t).securebits & SECBIT_KEEP_CAPS))


def _pr_set_keepcaps(k, t, arg2, *rest):
    """PR_SET_KEEPCAPS (cap_task_prctl): 0 or 1 (EINVAL otherwise), EPERM once the bit is locked; cleared again by
    execve."""
    cred = k.cred(t)
    if arg2 > 1:
        return -E.EINVAL
    if cred.securebits & SECBIT_KEEP_CAPS_LOCKED:
        return -E.EPERM
    t.cred = cred.change(securebits=cred.securebits & ~SECBIT_KEEP_CAPS | (SECBIT_KEEP_CAPS if arg2 else 0))
    return 0


def _pr_get_securebits(k, t, arg2, *rest):
    return k.cred(t).securebits


def _pr_set_securebits(k, t, arg2, *rest):
    cred = k.cred(t)
    if not cred.capable(CAP_SETPCAP) or arg2 & ~0xFF:
        return -E.EPERM
    t.cred = cred.change(securebits=arg2)
    return 0


def _pr_thp(k, t, arg2, arg3=0, arg4=0, arg5=0):
    """PR_SET_THP_DISABLE / PR_GET_THP_DISABLE: a flag of the mm (the model has no huge pages to disable)."""
    if t.regs.bx == PR_SET_THP_DISABLE:
        if arg3 or arg4 or arg5:
            return -E.EINVAL
        t.mm.thp_disabled = bool(arg2)
        return 0
    if arg2 or arg3 or arg4 or arg5:
        return -E.EINVAL
    return int(getattr(t.mm, "thp_disabled", False))


def _pr_cap_ambient(k, t, arg2, arg3=0, arg4=0, arg5=0):
    """The ambient set (cap_prctl's PR_CAP_AMBIENT): IS_SET, RAISE (EPERM unless permitted and inheritable),
    LOWER, CLEAR_ALL; EINVAL for stray arguments or a capability past CAP_LAST_CAP."""
    cred = k.cred(t)
    if arg4 or arg5:
        return -E.EINVAL
    if arg2 == 4:  # PR_CAP_AMBIENT_CLEAR_ALL
        if arg3:
            return -E.EINVAL
        t.cred = cred.change(cap_ambient=0)
        return 0
    if arg3 > CAP_LAST_CAP:
        return -E.EINVAL
    bit = 1 << arg3
    if arg2 == 1:  # IS_SET
        return int(bool(cred.cap_ambient & bit))
    if arg2 == 2:  # RAISE
        if not cred.cap_permitted & bit or not cred.cap_inheritable & bit or cred.securebits & 0x40:
            return -E.EPERM
        t.cred = cred.change(cap_ambient=cred.cap_ambient | bit)
        return 0
    if arg2 == 3:  # LOWER
        t.cred = cred.change(cap_ambient=cred.cap_ambient & ~bit)
        return 0
    return -E.EINVAL


def _pr_get_speculation_ctrl(k, t, arg2, arg3=0, arg4=0, arg5=0):
    """PR_SPEC_NOT_AFFECTED: the model's CPU does not speculate; EINVAL for stray arguments, ENODEV for an
    unknown misfeature."""
    if arg3 or arg4 or arg5:
        return -E.EINVAL
    return 0 if arg2 in (0, 1, 2) else -E.ENODEV


MORE_PRCTLS = {
    7: _pr_get_keepcaps, 8: _pr_set_keepcaps,  # PR_GET_KEEPCAPS, PR_SET_KEEPCAPS
    PR_GET_TIMING: lambda k, t, *a: 0, PR_SET_TIMING: _pr_timing, PR_GET_TSC: _pr_get_tsc, PR_SET_TSC: _pr_tsc,
    PR_GET_SECCOMP: _pr_get_seccomp, PR_SET_SECCOMP: _pr_set_seccomp, PR_CAPBSET_READ: _pr_capbset_read,
    PR_CAPBSET_DROP: _pr_capbset_drop, PR_GET_SECUREBITS: _pr_get_securebits,
    PR_SET_SECUREBITS: _pr_set_securebits, PR_SET_THP_DISABLE: _pr_thp, PR_GET_THP_DISABLE: _pr_thp,
    PR_CAP_AMBIENT: _pr_cap_ambient, PR_GET_SPECULATION_CTRL: _pr_get_speculation_ctrl,
}


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
    c = k.cred(t)
    return c.cap_effective, c.cap_permitted, c.cap_inheritable


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
    cred = k.cred(t)
    if not cred.capable(CAP_SETPCAP) and inh & ~(old_inh | old_prm):
        raise KernelError(E.EPERM)  # cap_inh_is_capped: incapable of using this inheritable set
    if inh & ~(old_inh | cred.cap_bset) or prm & ~old_prm or eff & ~prm:
        raise KernelError(E.EPERM)  # no new inheritable capability outside the bounding set
    t.cred = k.cred(t).change(cap_effective=eff, cap_permitted=prm, cap_inheritable=inh)
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
