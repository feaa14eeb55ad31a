"""Signal-driven I/O (fs/fcntl.c): a file's owner (F_SETOWN, F_SETOWN_EX), the signal it gets (F_SETSIG), and
the O_ASYNC notification that sends it when the file becomes readable or writable (fasync_helper, kill_fasync,
send_sigio).

A file with O_ASYNC joins its wait queue's callbacks, as epoll does: every wake-up of the queue asks the file
what it is ready for, and readiness the wake-up announced sends the owner SIGIO, or the F_SETSIG signal with
a siginfo naming the descriptor and the band (si_fd, si_band).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .abi import SIG, E
from .files import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, KernelError

if TYPE_CHECKING:
    from .kernel import Kernel

F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP = 0, 1, 2
O_ASYNC = 0o20000
POLL_IN, POLL_OUT, POLL_MSG, POLL_ERR, POLL_PRI, POLL_HUP = 1, 2, 3, 4, 5, 6
POLLMSG, POLLWRBAND, POLLRDBAND = 0x400, 0x200, 0x80
BAND_TABLE = {POLL_IN: POLLIN | POLLRDNORM, POLL_OUT: POLLOUT | POLLWRNORM | POLLWRBAND,
              POLL_MSG: POLLIN | POLLRDNORM | POLLMSG, POLL_ERR: POLLERR, POLL_PRI: POLLPRI | POLLRDBAND,
              POLL_HUP: POLLHUP | POLLERR}


@dataclass
class Fown:
    """struct fown_struct: who gets the file's signals, and which signal (0: SIGIO)."""

    type: int = F_OWNER_PID
    pid: int = 0
    signum: int = 0


def fown(f) -> Fown:
    owner = getattr(f, "owner_sig", None)
    if owner is None:
        owner = f.owner_sig = Fown()
    return owner


def f_setown(k: Kernel, f, type_: int, pid: int) -> None:
    """Make pid (a thread, a process, or a process group) the file's owner; ESRCH when none has that id, EINVAL
    for an unknown type (f_setown_ex)."""
    if type_ not in (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP):
        raise KernelError(E.EINVAL)
    if pid and not _targets(k, type_, pid, any_state=True):
        raise KernelError(E.ESRCH)
    o = fown(f)
    o.type, o.pid = type_, pid


def f_getown(f) -> int:
    """F_GETOWN: the owner's pid, a process group as its negative."""
    o = fown(f)
    return -o.pid if o.type == F_OWNER_PGRP else o.pid


def _targets(k: Kernel, type_: int, pid: int, any_state: bool = False) -> list:
    if type_ == F_OWNER_TID:
        t = k.tasks.get(pid)
        return [t] if t is not None and (any_state or t.is_alive()) else []
    leaders = [x for x in k.tasks.values() if x.group_leader is x and x.signal is not None]
    if type_ == F_OWNER_PID:
        return [x for x in leaders if x.tgid == pid and (any_state or x.is_alive())]
    return [x for x in leaders if x.signal.pgid == pid and (any_state or x.is_alive())]


def send_sigio(k: Kernel, f, fd: int, reason: int) -> None:
    """Signal the file's owner (send_sigio): SIGIO without details, or the F_SETSIG signal queued with si_code
    the reason (POLL_IN, ...), si_band and si_fd."""
    o = fown(f)
    if not o.pid:
        return
    for task in _targets(k, o.type, o.pid):
        if o.signum:
            info = {"signo": o.signum, "code": reason, "band": BAND_TABLE[reason], "fd": fd}
            k.send_signal(task, o.signum, info, group=o.type != F_OWNER_TID)
        else:
            k.send_signal(task, SIG.SIGIO, {"signo": SIG.SIGIO, "code": 0x80}, group=o.type != F_OWNER_TID)


def fasync_helper(k: Kernel, f, fd: int, on: bool) -> None:
    """Start or stop O_ASYNC notification of f (the file's fasync method): a callback on its wait queue."""
    wq = f.waitqueue()
    old = getattr(f, "fasync_cb", None)
    if old is not None and wq is not None and old in wq.callbacks:
        wq.callbacks.remove(old)
    f.fasync_cb = None
    if not on or wq is None:
        return

    def kill_fasync(key: int, f=f, fd=fd) -> None:
        ready = f.poll()
        if key:
            ready &= key | POLLERR | POLLHUP
        if ready & POLLIN:
            send_sigio(k, f, fd, POLL_IN)
        elif ready & POLLOUT and key & POLLOUT:
            send_sigio(k, f, fd, POLL_OUT)
        elif ready & POLLHUP and key & POLLHUP:
            send_sigio(k, f, fd, POLL_HUP)
        return None

    wq.callbacks.append(kill_fasync)
    f.fasync_cb = kill_fasync


def fasync_release(f) -> None:
    """The file's last reference went: stop its notification (fasync_helper at __fput)."""
    cb = getattr(f, "fasync_cb", None)
    wq = f.waitqueue() if cb is not None else None
    if wq is not None and cb in wq.callbacks:
        wq.callbacks.remove(cb)
