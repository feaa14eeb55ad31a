"""Signals: actions, masks, pending sets, suspend, alternate stacks, sigreturn, kill (kernel/signal.c;
sending, delivery and frames are in kernel_model.signal)."""

from __future__ import annotations

import struct

from ..abi import SIG, E
from ..files import KernelError
from .. import signal as sigmod
from ..task import SIG_DFL, SIG_IGN
from .table import syscall
from .common import s32, timespec_arg


def _set_action(k, t, sig, new):
    if not 1 <= sig <= sigmod.NSIG or (sig in (SIG.SIGKILL, SIG.SIGSTOP) and new is not None):
        raise KernelError(E.EINVAL)
    old = t.sighand.actions.get(sig, (SIG_DFL, 0, 0, 0))
    if new is not None:
        handler, flags, restorer, mask = new
        t.sighand.actions[sig] = (handler, flags, restorer, mask & ~sigmod.UNBLOCKABLE)
        if handler == SIG_IGN or (handler == SIG_DFL and sig in sigmod.DEFAULT_IGNORE):
            # Setting an ignoring action discards the pending instances of the signal (do_sigaction).
            for th in t.signal.threads:
                th.pending = [x for x in th.pending if x[0] != sig]
            t.signal.shared_pending = [x for x in t.signal.shared_pending if x[0] != sig]
    return old


@syscall("rt_sigaction", sig="signal signum, sigaction act, out sigaction oldact, size sigsetsize", cls="signal")
def sys_rt_sigaction(k, t, sig, act, oact, sigsetsize, *_):
    """struct sigaction {handler, flags, restorer, mask[2]} in, the old one out (do_sigaction)."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    new = struct.unpack("<IIIQ", k.get_bytes(t, act, 20)) if act else None
    old = _set_action(k, t, sig, new)
    if oact:
        k.put_bytes(t, oact, struct.pack("<IIIQ", *old))
    return 0


@syscall("sigaction", sig="signal signum, old_sigaction act, out old_sigaction oldact", cls="signal")
def sys_sigaction(k, t, sig, act, oact, *_):
    """The old struct old_sigaction {handler, mask, flags, restorer}."""
    new = None
    if act:
        handler, mask, flags, restorer = struct.unpack("<IIII", k.get_bytes(t, act, 16))
        new = (handler, flags, restorer, mask)
    old = _set_action(k, t, sig, new)
    if oact:
        k.put_bytes(t, oact, struct.pack("<IIII", old[0], old[3] & 0xFFFFFFFF, old[1], old[2]))
    return 0


@syscall("signal", sig="signal signum, sighandler handler", cls="signal", ret="handler")
def sys_signal(k, t, sig, handler, *_):
    """signal(2) as the syscall does it: SA_ONESHOT | SA_NOMASK, returning the old handler."""
    old = _set_action(k, t, sig, (handler, sigmod.SA_RESETHAND | sigmod.SA_NODEFER, 0, 0))
    return old[0]


def _change_mask(t, how, new):
    if how == 0:
        t.blocked |= new
    elif how == 1:
        t.blocked &= ~new
    elif how == 2:
        t.blocked = new
    else:
        raise KernelError(E.EINVAL)
    t.blocked &= ~sigmod.UNBLOCKABLE


@syscall("rt_sigprocmask",
         sig="enum(sigprocmask) how, sigset(sigsetsize) set, out sigset(sigsetsize) oldset, size sigsetsize",
         cls="signal")
def sys_rt_sigprocmask(k, t, how, nset, oset, sigsetsize, *_):
    """Block, unblock or set the thread's 64-bit signal mask (sigprocmask)."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    old = t.blocked
    if nset:
        _change_mask(t, how, struct.unpack("<Q", k.get_bytes(t, nset, 8))[0])
    if oset:
        k.put_bytes(t, oset, struct.pack("<Q", old))
    return 0


@syscall("sigprocmask", sig="enum(sigprocmask) how, old_sigset set, out old_sigset oldset", cls="signal")
def sys_sigprocmask(k, t, how, nset, oset, *_):
    """The old 32-bit mask version."""
    old = t.blocked
    if nset:
        new = k.get_u32(t, nset)
        if how == 2:
            new |= t.blocked & ~0xFFFFFFFF
        _change_mask(t, how, new)
    if oset:
        k.put_u32(t, oset, old & 0xFFFFFFFF)
    return 0


def _pending_set(t):
    bits = 0
    for s, _ in t.pending + t.signal.shared_pending:
        bits |= sigmod.sigmask(s)
    return bits & t.blocked


@syscall("rt_sigpending", sig="out sigset(sigsetsize) set, size sigsetsize", cls="signal")
def sys_rt_sigpending(k, t, uset, sigsetsize, *_):
    """Signals pending while blocked."""
    if sigsetsize > 8:
        raise KernelError(E.EINVAL)
    k.put_bytes(t, uset, struct.pack("<Q", _pending_set(t))[:sigsetsize])
    return 0


@syscall("sigpending", sig="out old_sigset set", cls="signal")
def sys_sigpending(k, t, uset, *_):
    """The old 32-bit sigpending."""
    k.put_u32(t, uset, _pending_set(t) & 0xFFFFFFFF)
    return 0


def _suspend(k, t, mask):
    """Sleep with a temporary mask until a signal is delivered; the old mask comes back after the handler."""
    from ..task import WaitQueue

    saved = t.blocked
    t.blocked = mask & ~sigmod.UNBLOCKABLE
    while not sigmod.signal_pending(t):
        k.sched.sleep_on(t, WaitQueue("sigsuspend"))
        yield
    t.saved_sigmask = saved
    raise KernelError(sigmod.ERESTARTNOHAND)


@syscall("rt_sigsuspend", sig="sigset(sigsetsize) mask, size sigsetsize", cls="signal")
def sys_rt_sigsuspend(k, t, uset, sigsetsize, *_):
    """Wait for a signal with a temporary 64-bit mask."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    return (yield from _suspend(k, t, struct.unpack("<Q", k.get_bytes(t, uset, 8))[0]))


@syscall("sigsuspend", sig="int history0, int history1, sigmask_val mask", cls="signal", order="mask")
def sys_sigsuspend(k, t, a, b, c, *_):
    """The old sigsuspend(int, int, old_sigset_t): the mask is the third argument."""
    return (yield from _suspend(k, t, c | (t.blocked & ~0xFFFFFFFF)))


@syscall("pause", sig="", cls="signal")
def sys_pause(k, t, *_):
    """Sleep until a signal is delivered."""
    return (yield from _suspend(k, t, t.blocked))


def siginfo_from_user(k, t, sig: int, uinfo: int) -> dict:
    """A siginfo_t the sender supplies (copy_siginfo_from_user32): kept whole, with the fields the model and the
    tracer read picked out."""
    raw = k.get_bytes(t, uinfo, 128)
    _signo, errno, code, pid, uid, value = struct.unpack_from("<iiiiIi", raw)
    return {"signo": sig, "errno": errno, "code": code, "pid": pid, "uid": uid, "value": value, "raw": raw}


def _may_queue(t, target_tgid: int, info: dict) -> None:
    """do_rt_sigqueueinfo: "Not even root can pretend to send signals from the kernel. Nor can they impersonate
    a kill()/tgkill(), which adds source info" (EPERM), except to itself."""
    if (info["code"] >= 0 or info["code"] == sigmod.SI_TKILL) and target_tgid != t.tgid:
        raise KernelError(E.EPERM)


@syscall("rt_sigqueueinfo", sig="pid tgid, signal sig, siginfo_user info", cls="process,signal")
def sys_rt_sigqueueinfo(k, t, tgid, sig, uinfo, *_):
    """Queue a signal with the caller's siginfo to a process (sigqueue(3) uses it with si_code SI_QUEUE)."""
    _check_sig(sig)
    info = siginfo_from_user(k, t, sig, uinfo)
    _may_queue(t, s32(tgid), info)
    target = k.tasks.get(s32(tgid))
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    live = [th for th in target.signal.threads if th.is_alive()]  # a thread's id names its process
    if live and sig:
        k.send_signal(live[0], sig, info, group=True)
    return 0


@syscall("rt_tgsigqueueinfo", sig="pid tgid, pid tid, signal sig, siginfo_user info", cls="process,signal")
def sys_rt_tgsigqueueinfo(k, t, tgid, tid, sig, uinfo, *_):
    """Queue a signal with the caller's siginfo to one thread of a process (do_rt_tgsigqueueinfo)."""
    if s32(tgid) <= 0 or s32(tid) <= 0:
        raise KernelError(E.EINVAL)
    _check_sig(sig)
    info = siginfo_from_user(k, t, sig, uinfo)
    _may_queue(t, s32(tgid), info)
    target = k.tasks.get(tid)
    if target is None or target.tgid != tgid or not target.is_alive():
        raise KernelError(E.ESRCH)
    if sig:
        k.send_signal(target, sig, info)
    return 0


@syscall("rt_sigtimedwait", sig="sigset(sigsetsize) set, out siginfo_user info, timespec timeout, size sigsetsize",
         cls="signal", ret="signo")
@syscall("rt_sigtimedwait_time64",
         sig="sigset(sigsetsize) set, out siginfo_user info, timespec64 timeout, size sigsetsize",
         cls="signal", ret="signo")
def sys_rt_sigtimedwait(k, t, uset, uinfo, uts, sigsetsize, *_):
    """Take a pending signal of the set, waiting for one until the timeout (do_sigtimedwait): the signal number,
    EAGAIN when the time ran out, EINTR when another signal's handler is to run."""
    from ..abi import NR
    from ..task import WaitQueue

    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    mask = struct.unpack("<Q", k.get_bytes(t, uset, 8))[0] & ~sigmod.UNBLOCKABLE
    timeout = timespec_arg(k, t, uts, t.regs.orig_ax == NR.rt_sigtimedwait_time64)
    got = sigmod.dequeue_signal(t, mask)
    if got is None:
        if timeout == 0:
            raise KernelError(E.EAGAIN)
        deadline = None if timeout is None else k.sched.now() + timeout
        t.sigwait = mask  # the set wakes the task though blocked, and is not fatal meanwhile (real_blocked)
        try:
            while got is None:
                k.sched.sleep_on(t, WaitQueue("sigtimedwait"), None if deadline is None
                                 else max(0, deadline - k.sched.now()))
                yield
                got = sigmod.dequeue_signal(t, mask)
                if got is None and sigmod.signal_pending(t):
                    raise KernelError(E.EINTR)
                if got is None and deadline is not None and k.sched.now() >= deadline:
                    raise KernelError(E.EAGAIN)
        finally:
            t.sigwait = 0
    sig, info = got
    k.emit("signal_deliver", t, sig, info, "sigwait")
    if uinfo:
        k.put_bytes(t, uinfo, sigmod.pack_siginfo(info))
    return sig


@syscall("sigaltstack", sig="sigaltstack ss, out sigaltstack old_ss", cls="signal")
def sys_sigaltstack(k, t, ss, oss, *_):
    """Set or query the alternate signal stack (do_sigaltstack)."""
    ss_sp, ss_flags, ss_size = t.altstack
    on = ss_size and ss_sp <= t.regs.sp < ss_sp + ss_size
    if ss:
        nsp, nflags, nsize = struct.unpack("<IiI", k.get_bytes(t, ss, 12))
        if on:
            raise KernelError(E.EPERM)
        if nflags & ~(sigmod.SS_DISABLE | sigmod.SS_ONSTACK | (1 << 31)):
            raise KernelError(E.EINVAL)
        if (nsp, nflags, nsize) == (ss_sp if ss_size else 0, t.sas_raw_flags, ss_size):
            ss = 0  # "Return before taking any locks if no actual sigaltstack changes were requested"
        elif nflags & sigmod.SS_DISABLE:
            new = (0, sigmod.SS_DISABLE, 0)
        else:
            if nsize < sigmod.MINSIGSTKSZ:
                raise KernelError(E.ENOMEM)
            new = (nsp, 0, nsize)
    if oss:
        k.put_bytes(t, oss, struct.pack("<IiI", ss_sp, sigmod.SS_ONSTACK if on else ss_flags, ss_size))
    if ss:
        t.altstack = new
        t.sas_raw_flags = nflags  # the flags as given, which that comparison uses (t->sas_ss_flags)
    return 0


@syscall("sigreturn", sig="sigframe frame", cls="signal")
def sys_sigreturn(k, t, *_):
    """Return from a handler entered through a sigframe."""
    return sigmod.sys_sigreturn(k, t)


@syscall("rt_sigreturn", sig="rt_sigframe frame", cls="signal")
def sys_rt_sigreturn(k, t, *_):
    """Return from a handler entered through an rt_sigframe."""
    return sigmod.sys_rt_sigreturn(k, t)


def _may_kill(k, t, target, sig) -> bool:
    """check_kill_permission: matching uids or CAP_KILL; SIGCONT within the session always."""
    from ..cred import may_signal

    if sig == SIG.SIGCONT and target.signal.sid == t.signal.sid:
        return True
    return may_signal(k.cred(t), k.cred(target))


def _check_sig(sig):
    if not 0 <= sig <= sigmod.NSIG:
        raise KernelError(E.EINVAL)


@syscall("kill", sig="pid pid, signal sig", cls="process,signal")
def sys_kill(k, t, pid, sig, *_):
    """Send a signal to a process, a process group or everyone (kill_something_info). A thread's id names its
    process (kill_pid_info: pid_task(PIDTYPE_PID), then the group); a zombie not yet reaped still takes the
    signal, to no effect."""
    _check_sig(sig)
    pid = s32(pid)
    leaders = [x for x in k.tasks.values() if x.group_leader is x and x.signal is not None]
    if pid > 0:
        named = k.tasks.get(pid)
        targets = [named.group_leader] if named is not None and named.signal is not None else []
    elif pid == 0:
        targets = [x for x in leaders if x.signal.pgid == t.signal.pgid]
    elif pid == -1:
        targets = [x for x in leaders if x.tgid != 1 and x.tgid != t.tgid]
    else:
        targets = [x for x in leaders if x.signal.pgid == -pid]
    if not targets:
        raise KernelError(E.ESRCH)
    allowed = [x for x in targets if _may_kill(k, t, x, sig)]
    if not allowed:
        raise KernelError(E.EPERM)
    for x in allowed:
        live = [th for th in x.signal.threads if th.is_alive()]
        if live:
            k.send_signal(live[0], sig, {"signo": sig, "code": sigmod.SI_USER, "pid": t.tgid, "uid": k.cred(t).uid},
                          group=True)
    return 0


@syscall("tkill", sig="pid tid, signal sig", cls="process,signal")
def sys_tkill(k, t, tid, sig, *_):
    """Send a signal to one thread."""
    _check_sig(sig)
    target = k.tasks.get(tid)
    if target is None or not target.is_alive():
        raise KernelError(E.ESRCH)
    if not _may_kill(k, t, target, sig):
        raise KernelError(E.EPERM)
    k.send_signal(target, sig, {"signo": sig, "code": sigmod.SI_TKILL, "pid": t.tgid, "uid": k.cred(t).uid})
    return 0


@syscall("tgkill", sig="pid tgid, pid tid, signal sig", cls="process,signal")
def sys_tgkill(k, t, tgid, tid, sig, *_):
    """Send a signal to one thread of a given group; EINVAL for a tgid or tid that is not positive (do_tkill)."""
    if s32(tgid) <= 0 or s32(tid) <= 0:
        raise KernelError(E.EINVAL)
    target = k.tasks.get(tid)
    if target is None or target.tgid != tgid:
        raise KernelError(E.ESRCH)
    return sys_tkill(k, t, tid, sig)


@syscall("restart_syscall", sig="restart resume")
def sys_restart_syscall(k, t, *_):
    """Nothing here is restarted through a restart block: -EINTR."""
    return -E.EINTR


PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4


@syscall("pidfd_send_signal", sig="fd pidfd, signal sig, siginfo_user info, uint flags", cls="desc,signal")
def sys_pidfd_send_signal(k, t, pidfd, sig, uinfo, flags, *_):
    """Signal the process a pidfd names (pidfd_send_signal(2)): EBADF for another kind of file, EINVAL for bad
    flags or signal, ESRCH once it has exited, EPERM as kill; info NULL means SI_USER from the caller."""
    from ..pidfd import PidFd

    if flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP):
        raise KernelError(E.EINVAL)
    f = t.files.get(pidfd)
    if not isinstance(f, PidFd):
        raise KernelError(E.EBADF)
    _check_sig(sig)
    target = f.task
    live = [th for th in (target.signal.threads if target.signal else []) if th.is_alive()]
    if not live:
        raise KernelError(E.ESRCH)
    if uinfo:
        info = siginfo_from_user(k, t, sig, uinfo)
        _may_queue(t, target.tgid, info)
    else:
        info = {"signo": sig, "code": sigmod.SI_USER, "pid": t.tgid, "uid": k.cred(t).uid}
    if not _may_kill(k, t, target, sig):
        raise KernelError(E.EPERM)
    if sig:
        if flags & PIDFD_SIGNAL_THREAD or f.thread:
            k.send_signal(target, sig, info)
        else:
            k.send_signal(live[0], sig, info, group=True)
    return 0
