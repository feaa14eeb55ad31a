"""Process file descriptors (kernel/pid.c, fs/pidfs.c): a descriptor naming a process, made by pidfd_open or
clone's CLONE_PIDFD. It is readable once the process has exited (pidfd_poll: POLLIN, and POLLHUP once reaped),
signals go through it (pidfd_send_signal), waitid(P_PIDFD) waits for it, and pidfd_getfd copies a descriptor out
of its process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .files import POLLHUP, POLLIN, POLLRDNORM, File, O_RDWR
from .task import DEAD, WaitQueue, ZOMBIE

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

PIDFD_NONBLOCK, PIDFD_THREAD = 0o4000, 0o200  # O_NONBLOCK, O_EXCL


class PidFd(File):
    """A pidfd: the process (or with PIDFD_THREAD the thread) it names, which it outlives."""

    def __init__(self, k: Kernel, task: Task, flags: int) -> None:
        super().__init__("anon_inode:[pidfd]", O_RDWR | flags)
        self.k = k
        self.task = task
        self.pid = task.pid
        self.thread = bool(flags & PIDFD_THREAD)
        self.wq = pidfd_waitqueue(task)

    def exited(self) -> bool:
        """The process has ended: every thread gone (thread_group_exited), or the thread for PIDFD_THREAD."""
        t = self.task
        if self.thread:
            return t.state in (ZOMBIE, DEAD)
        return t.state in (ZOMBIE, DEAD) and (t.signal is None or not any(th.is_alive() for th in t.signal.threads))

    def poll(self) -> int:
        if self.task.state == DEAD or self.task.signal is None:
            return POLLIN | POLLRDNORM | POLLHUP
        return POLLIN | POLLRDNORM if self.exited() else 0

    def waitqueue(self):
        return self.wq

    def stat(self) -> dict[str, int]:
        from .eventfd import _anon_stat

        return _anon_stat(0x40000 + self.pid)

    def fdinfo(self) -> str:
        pid = self.pid if self.task.state != DEAD else -1
        return f"Pid:\t{pid}\nNSpid:\t{pid}\n"


def pidfd_waitqueue(task: Task) -> WaitQueue:
    """The queue pidfds of the process wait on (signal_struct's wait_pidfd)."""
    leader = task.group_leader or task
    wq = getattr(leader, "wait_pidfd", None)
    if wq is None:
        wq = leader.wait_pidfd = WaitQueue("pidfd")
    return wq


def do_notify_pidfd(k: Kernel, task: Task) -> None:
    """The process exited or was reaped: wake its pidfds' pollers (do_notify_pidfd)."""
    leader = task.group_leader or task
    wq = getattr(leader, "wait_pidfd", None)
    if wq is not None:
        k.sched.wake_up(wq, key=POLLIN | POLLRDNORM | POLLHUP)
