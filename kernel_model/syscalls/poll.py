"""Waiting for descriptors: poll, ppoll, select, pselect6 (fs/select.c)."""

from __future__ import annotations

import struct

from ..abi import NR, E
from ..files import POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, TTY_POLL_NS, KernelError
from .. import signal as sigmod
from .table import syscall
from .common import s32, timespec_arg


def _poll_wait(k, t, files, timeout_ns):
    """Sleep until one of the files' queues is woken, the timeout passes or a signal arrives."""
    from ..task import WaitQueue

    queues = {id(q): q for q in (f.waitqueue() for f in files) if q is not None}
    if timeout_ns == 0 or (not queues and timeout_ns is None):
        return False
    if k.signal_pending(t):
        raise KernelError(sigmod.ERESTARTNOHAND)
    mine = WaitQueue("poll")
    for q in queues.values():
        q.waiters.append(t)
    # a host terminal wakes nobody when a key is typed: look at it again every TTY_POLL_NS
    tty = any(getattr(f, "tty", False) for f in files)
    sleep_ns = timeout_ns if not tty else TTY_POLL_NS if timeout_ns is None else min(timeout_ns, TTY_POLL_NS)
    k.sched.sleep_on(t, mine, sleep_ns)
    yield
    for q in queues.values():
        if t in q.waiters:
            q.waiters.remove(t)
    if t.timed_out:
        return sleep_ns == timeout_ns  # the caller's timeout, not only a terminal re-check
    if k.signal_pending(t):
        raise KernelError(sigmod.ERESTARTNOHAND)
    return False


def _wait_ready(k, t, scan, timeout_ns):
    """Call scan() -> (ready count, files looked at) until something is ready, the timeout passes or a signal
    comes, sleeping on the files' queues in between (do_poll's loop, shared by poll and select)."""
    deadline = None if timeout_ns is None else k.sched.now() + timeout_ns
    while True:
        ready, files = scan()
        if ready:
            return ready
        left = None if deadline is None else max(0, deadline - k.sched.now())
        timed_out = yield from _poll_wait(k, t, files, left)
        if timed_out or left == 0:
            return 0


def _do_poll(k, t, ufds, nfds, timeout_ns):
    """poll(2): scan, and sleep until something is ready (do_sys_poll)."""
    if nfds > 1024:
        raise KernelError(E.EINVAL)
    raw = bytearray(k.get_bytes(t, ufds, 8 * nfds))

    def scan():
        ready = 0
        files = []
        for i in range(nfds):
            fd, events = struct.unpack_from("<ih", raw, 8 * i)
            revents = 0
            if fd >= 0:
                f = t.files.fds.get(fd)
                if f is None:
                    revents = POLLNVAL
                else:
                    files.append(f[0])
                    revents = f[0].poll() & (events | POLLERR | POLLHUP)
            struct.pack_into("<h", raw, 8 * i + 6, revents)
            ready += bool(revents)
        return ready, files

    ready = yield from _wait_ready(k, t, scan, timeout_ns)
    k.put_bytes(t, ufds, bytes(raw))
    return ready


@syscall("poll", sig="pollfd(nfds) fds, uint nfds, int timeout", cls="desc", ret="poll")
def sys_poll(k, t, ufds, nfds, timeout_ms, *_):
    """Wait for events on descriptors; timeout in milliseconds, negative for none."""
    ms = s32(timeout_ms)
    return (yield from _do_poll(k, t, ufds, nfds, None if ms < 0 else ms * 10**6))


def _with_sigmask(k, t, sigmask_ptr, size):
    if not sigmask_ptr:
        return None
    if size != 8:
        raise KernelError(E.EINVAL)
    old = t.blocked
    t.blocked = struct.unpack("<Q", k.get_bytes(t, sigmask_ptr, 8))[0] & ~sigmod.UNBLOCKABLE
    return old


@syscall("ppoll",
         sig="pollfd(nfds) fds, uint nfds, timespec tsp, sigset(sigsetsize) sigmask, size sigsetsize",
         cls="desc", ret="poll")
@syscall("ppoll_time64",
         sig="pollfd(nfds) fds, uint nfds, timespec64 tsp, sigset(sigsetsize) sigmask, size sigsetsize",
         cls="desc", ret="poll")
def sys_ppoll(k, t, ufds, nfds, tsp, sigmask, sigsetsize, *_):
    """poll with a timespec timeout and a temporary signal mask."""
    timeout = timespec_arg(k, t, tsp, t.regs.orig_ax == NR.ppoll_time64)
    old = _with_sigmask(k, t, sigmask, sigsetsize)
    try:
        return (yield from _do_poll(k, t, ufds, nfds, timeout))
    finally:
        if old is not None:
            t.saved_sigmask = old if k.signal_pending(t) else None
            if t.saved_sigmask is None:
                t.blocked = old


def _do_select(k, t, n, inp, outp, exp, timeout_ns):
    """select(2) over fd_sets of n descriptors (core_sys_select)."""
    if s32(n) < 0 or n > 1024:
        raise KernelError(E.EINVAL)
    nbytes = ((n + 31) // 32) * 4
    sets = [int.from_bytes(k.get_bytes(t, p, nbytes), "little") if p else 0 for p in (inp, outp, exp)]
    wanted = [fd for fd in range(n) if (sets[0] | sets[1] | sets[2]) >> fd & 1]
    if any(fd not in t.files.fds for fd in wanted):
        raise KernelError(E.EBADF)
    res = [0, 0, 0]

    def scan():
        res[:] = [0, 0, 0]
        files = []
        for fd in wanted:
            f = t.files.fds[fd][0]
            files.append(f)
            m = f.poll()
            for n_set, mask in ((0, POLLIN | POLLHUP | POLLERR), (1, POLLOUT | POLLERR), (2, POLLPRI)):
                if sets[n_set] >> fd & 1 and m & mask:
                    res[n_set] |= 1 << fd
        return sum(bin(x).count("1") for x in res), files

    count = yield from _wait_ready(k, t, scan, timeout_ns)
    for p, bits in zip((inp, outp, exp), res, strict=True):
        if p:
            k.put_bytes(t, p, bits.to_bytes(nbytes, "little"))
    return count


@syscall("_newselect",
         sig="int nfds, fd_set(nfds) readfds, fd_set(nfds) writefds, fd_set(nfds) exceptfds, timeval timeout",
         cls="desc", ret="select")
def sys_newselect(k, t, n, inp, outp, exp, tvp, *_):
    """select with a struct timeval timeout."""
    timeout = None
    if tvp:
        sec, usec = struct.unpack("<ii", k.get_bytes(t, tvp, 8))
        if sec < 0 or not 0 <= usec < 10**6:
            raise KernelError(E.EINVAL)
        timeout = sec * 10**9 + usec * 1000
    return (yield from _do_select(k, t, n, inp, outp, exp, timeout))


@syscall("select", sig="sel_args args", cls="desc", ret="select")
def sys_old_select(k, t, argp, *_):
    """The old i386 select: one pointer to the five arguments."""
    n, inp, outp, exp, tvp = struct.unpack("<5I", k.get_bytes(t, argp, 20))
    return (yield from sys_newselect(k, t, n, inp, outp, exp, tvp))


@syscall("pselect6",
         sig=("int nfds, fd_set(nfds) readfds, fd_set(nfds) writefds, fd_set(nfds) exceptfds, timespec timeout, "
              "pselect_sig sigmask"),
         cls="desc", ret="select")
@syscall("pselect6_time64",
         sig=("int nfds, fd_set(nfds) readfds, fd_set(nfds) writefds, fd_set(nfds) exceptfds, timespec64 timeout, "
              "pselect_sig sigmask"),
         cls="desc", ret="select")
def sys_pselect6(k, t, n, inp, outp, exp, tsp, sig):
    """select with a timespec and an optional {sigset *, size} for the duration."""
    timeout = timespec_arg(k, t, tsp, t.regs.orig_ax == NR.pselect6_time64)
    old = None
    if sig:
        ss, size = struct.unpack("<II", k.get_bytes(t, sig, 8))
        old = _with_sigmask(k, t, ss, size)
    try:
        return (yield from _do_select(k, t, n, inp, outp, exp, timeout))
    finally:
        if old is not None:
            t.saved_sigmask = old if k.signal_pending(t) else None
            if t.saved_sigmask is None:
                t.blocked = old
