"""Event descriptors: eventfd, timerfd and epoll (fs/eventfd.c, fs/timerfd.c, fs/eventpoll.c; the files
themselves are in kernel_model.eventfd)."""

from __future__ import annotations

import struct

from ..abi import NR, E
from ..eventfd import (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLEXCLUSIVE, EpollFile, EventFd, SignalFd,
                       TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET, TimerFd)
from ..signal import UNBLOCKABLE
from ..files import O_CLOEXEC, O_NONBLOCK, TTY_POLL_NS, HostFile, KernelError, is_directory
from .table import syscall
from .common import RLIMIT_NOFILE, rlimit, s32, timespec_arg
from .poll import _with_sigmask

EFD_SEMAPHORE = 1


def _install(k, t, f, flags: int) -> int:
    try:
        return t.files.install(f, cloexec=bool(flags & O_CLOEXEC), limit=rlimit(t, RLIMIT_NOFILE)[0])
    except KernelError:
        f.release()
        raise


@syscall("eventfd", sig="uint initval", cls="desc")
def sys_eventfd(k, t, initval, *_):
    """eventfd(initval) = eventfd2(initval, 0)."""
    return _install(k, t, EventFd(k, initval, 0, False), 0)


@syscall("eventfd2", sig="uint initval, flags(efd) flags", cls="desc")
def sys_eventfd2(k, t, initval, flags, *_):
    """An eventfd counter starting at initval; EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE (EINVAL otherwise)."""
    if flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE):
        raise KernelError(E.EINVAL)
    return _install(k, t, EventFd(k, initval, flags & O_NONBLOCK, bool(flags & EFD_SEMAPHORE)), flags)


TIMERFD_CLOCKS = (0, 1, 7, 8, 9)  # REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM


@syscall("timerfd_create", sig="enum(clock) clockid, flags(tfd) flags", cls="desc")
def sys_timerfd_create(k, t, clockid, flags, *_):
    """A timer descriptor on one of the clocks timerfd accepts; TFD_CLOEXEC, TFD_NONBLOCK."""
    if clockid not in TIMERFD_CLOCKS:
        raise KernelError(E.EINVAL)
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise KernelError(E.EINVAL)
    if clockid in (8, 9) and not k.cred(t).capable(35):  # CAP_WAKE_ALARM
        raise KernelError(E.EPERM)
    return _install(k, t, TimerFd(k, clockid, flags & O_NONBLOCK), flags)


def _timerfd(t, fd) -> TimerFd:
    f = t.files.get(fd)
    if not isinstance(f, TimerFd):
        raise KernelError(E.EINVAL)
    return f


def _itimerspec(k, t, ptr, wide: bool) -> tuple[int, int]:
    fmt = "<qI4xqI4x" if wide else "<iIiI"  # tv_nsec's low 32 bits: get_timespec64 drops the padding
    isec, insec, vsec, vnsec = struct.unpack(fmt, k.get_bytes(t, ptr, struct.calcsize(fmt)))
    if min(isec, vsec) < 0 or not (0 <= insec < 10**9 and 0 <= vnsec < 10**9):
        raise KernelError(E.EINVAL)
    return vsec * 10**9 + vnsec, isec * 10**9 + insec


def _put_itimerspec(k, t, ptr, value_ns: int, interval_ns: int, wide: bool) -> None:
    fmt = "<qqqq" if wide else "<iIiI"
    k.put_bytes(t, ptr, struct.pack(fmt, interval_ns // 10**9, interval_ns % 10**9, value_ns // 10**9,
                                    value_ns % 10**9))


@syscall("timerfd_settime", sig="fd fd, flags(tfd_settime) flags, itimerspec new_value, out itimerspec old_value",
         cls="desc")
@syscall("timerfd_settime64",
         sig="fd fd, flags(tfd_settime) flags, itimerspec64 new_value, out itimerspec64 old_value", cls="desc")
def sys_timerfd_settime(k, t, fd, flags, new, old, *_):
    """Arm or disarm the timer (relative, or TFD_TIMER_ABSTIME on its clock); the old setting to old_value."""
    wide = t.regs.orig_ax == NR.timerfd_settime64
    value, interval = _itimerspec(k, t, new, wide)  # get_itimerspec64 first (EFAULT), then the checks
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise KernelError(E.EINVAL)
    tf = _timerfd(t, fd)
    left, ival = tf.settime(value, interval, bool(flags & TFD_TIMER_ABSTIME))
    if old:
        _put_itimerspec(k, t, old, left, ival, wide)
    return 0


@syscall("timerfd_gettime", sig="fd fd, out itimerspec curr_value", cls="desc")
@syscall("timerfd_gettime64", sig="fd fd, out itimerspec64 curr_value", cls="desc")
def sys_timerfd_gettime(k, t, fd, cur, *_):
    """The time to the next expiration and the interval."""
    tf = _timerfd(t, fd)
    left, ival = tf.gettime()
    _put_itimerspec(k, t, cur, left, ival, t.regs.orig_ax == NR.timerfd_gettime64)
    return 0


@syscall("epoll_create", sig="int size", cls="desc")
def sys_epoll_create(k, t, size, *_):
    """An epoll instance; size only has to be positive (epoll_create(2))."""
    if s32(size) <= 0:
        raise KernelError(E.EINVAL)
    return _install(k, t, EpollFile(k, 0), 0)


@syscall("epoll_create1", sig="flags(epoll_create) flags", cls="desc")
def sys_epoll_create1(k, t, flags, *_):
    """An epoll instance; EPOLL_CLOEXEC is the only flag."""
    if flags & ~O_CLOEXEC:
        raise KernelError(E.EINVAL)
    return _install(k, t, EpollFile(k, 0), flags)


def _no_poll_device(f) -> bool:
    """A memory device without a poll method (/dev/null, /dev/zero, /dev/full: major 1 but random/urandom)."""
    import os
    import stat as pystat

    try:
        st = os.fstat(f.fd)
    except OSError:
        return False
    return pystat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) not in (8, 9)


@syscall("epoll_ctl", sig="fd epfd, enum(epoll_ctl) op, fd fd, epoll_event event", cls="desc")
def sys_epoll_ctl(k, t, epfd, op, fd, event, *_):
    """Add, change or remove a watched descriptor (do_epoll_ctl): EBADF, EINVAL (not an epoll, the epoll
    itself, a bad op, EPOLLEXCLUSIVE misused), EPERM for files that cannot be polled (regular files and
    directories), EEXIST, ENOENT, ELOOP for epolls watching each other."""
    events = data = 0
    if op != EPOLL_CTL_DEL:  # the event is copied in before anything else (EFAULT first)
        events, data = struct.unpack("<IQ", k.get_bytes(t, event, 12))
    ep = t.files.get(epfd)
    f = t.files.get(fd)
    if ep.flags & 0o10000000 or f.flags & 0o10000000:
        raise KernelError(E.EBADF)  # O_PATH descriptors are not usable here (fdget)
    if isinstance(f, HostFile) and not f.tty and (f.regular or is_directory(f)
                                                  or _no_poll_device(f)):
        raise KernelError(E.EPERM)  # "The target file fd does not support epoll", checked before the epoll
    if not isinstance(ep, EpollFile) or f is ep:
        raise KernelError(E.EINVAL)
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        raise KernelError(E.EINVAL)
    if events & EPOLLEXCLUSIVE and (op == EPOLL_CTL_MOD or isinstance(f, EpollFile)):
        raise KernelError(E.EINVAL)
    ep.ctl(op, fd, f, events, data)
    return 0


def _epoll_wait(k, t, epfd, events, maxevents, timeout_ns):
    """do_epoll_wait: up to maxevents ready (events, data) pairs, sleeping until one comes or the timeout;
    EINTR when a signal arrives (never restarted); EINVAL for maxevents <= 0 or not an epoll."""
    ep = t.files.get(epfd)
    if not isinstance(ep, EpollFile) or s32(maxevents) <= 0 or maxevents > 0x7FFFFFFF // 12:
        raise KernelError(E.EINVAL)
    k.get_bytes(t, events, 0)
    deadline = None if timeout_ns is None else k.sched.now() + timeout_ns
    while True:
        got = ep.harvest(maxevents)
        if got:
            k.put_bytes(t, events, b"".join(struct.pack("<IQ", ev, data) for ev, data in got))
            return len(got)
        left = None if deadline is None else max(0, deadline - k.sched.now())
        if left == 0:
            return 0
        if k.signal_pending(t):
            raise KernelError(E.EINTR)
        step = left if not ep.has_ttys() else TTY_POLL_NS if left is None else min(left, TTY_POLL_NS)
        k.sched.sleep_on(t, ep.wq, step)
        yield


@syscall("epoll_wait", sig="fd epfd, out epoll_events(ret) events, int maxevents, int timeout", cls="desc")
def sys_epoll_wait(k, t, epfd, events, maxevents, timeout, *_):
    """Wait for events; timeout in milliseconds, -1 for none."""
    ms = s32(timeout)
    return (yield from _epoll_wait(k, t, epfd, events, maxevents, None if ms < 0 else ms * 10**6))


def _with_mask(k, t, sigmask, size, body):
    old = _with_sigmask(k, t, sigmask, size)
    try:
        return (yield from body)
    finally:
        if old is not None:
            t.saved_sigmask = old if k.signal_pending(t) else None
            if t.saved_sigmask is None:
                t.blocked = old


@syscall("epoll_pwait",
         sig="fd epfd, out epoll_events(ret) events, int maxevents, int timeout, sigset(sigsetsize) sigmask, "
             "size sigsetsize", cls="desc")
def sys_epoll_pwait(k, t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    """epoll_wait with a temporary signal mask."""
    ms = s32(timeout)
    return (yield from _with_mask(k, t, sigmask, sigsetsize,
                                  _epoll_wait(k, t, epfd, events, maxevents, None if ms < 0 else ms * 10**6)))


@syscall("epoll_pwait2",
         sig="fd epfd, out epoll_events(ret) events, int maxevents, timespec64 timeout, sigset(sigsetsize) "
             "sigmask, size sigsetsize", cls="desc")
def sys_epoll_pwait2(k, t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    """epoll_pwait with a struct __kernel_timespec timeout (NULL: none)."""
    to = timespec_arg(k, t, timeout, True)
    return (yield from _with_mask(k, t, sigmask, sigsetsize, _epoll_wait(k, t, epfd, events, maxevents, to)))



@syscall("signalfd", sig="fd fd, sigset(sizemask) mask, size sizemask", cls="desc,signal")
def sys_signalfd(k, t, fd, mask, sizemask, *_):
    """signalfd(fd, mask, size) = signalfd4(fd, mask, size, 0)."""
    return sys_signalfd4(k, t, fd, mask, sizemask, 0)


@syscall("signalfd4", sig="fd fd, sigset(sizemask) mask, size sizemask, flags(sfd) flags", cls="desc,signal")
def sys_signalfd4(k, t, fd, mask, sizemask, flags, *_):
    """A descriptor to read the caller's signals of mask from (fd -1), or a new mask for an existing signalfd
    (EINVAL if fd is another file); SIGKILL and SIGSTOP are never taken; SFD_CLOEXEC, SFD_NONBLOCK."""
    if sizemask != 8:
        raise KernelError(E.EINVAL)
    bits = struct.unpack("<Q", k.get_bytes(t, mask, 8))[0] & ~UNBLOCKABLE  # copied in before the flags are checked
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise KernelError(E.EINVAL)
    if s32(fd) != -1:
        f = t.files.get(fd)
        if not isinstance(f, SignalFd):
            raise KernelError(E.EINVAL)
        f.mask = bits
        k.sched.wake_up(t.sighand.signalfd_wq)
        return fd
    return _install(k, t, SignalFd(k, bits, flags & O_NONBLOCK), flags)
