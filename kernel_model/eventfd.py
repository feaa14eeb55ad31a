"""Event descriptors: eventfd (fs/eventfd.c), timerfd (fs/timerfd.c) and epoll (fs/eventpoll.c).

All three are Files of the model with a wait queue, so they block and wake through the scheduler and work in
poll, select and epoll alike. An epoll instance learns of readiness the way Linux's does: each watched file's
wait queue calls back into the epoll item (ep_poll_callback), which puts it on the ready list; epoll_wait
then asks the file for its events (ep_item_poll) and keeps level-triggered items on the list.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .abi import E
from .files import (POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, AnonFile, File, KernelError,
                    O_NONBLOCK, O_RDWR)
from .task import WaitQueue

if TYPE_CHECKING:
    from .kernel import Kernel

ULLONG_MAX = (1 << 64) - 1


class EventFd(AnonFile):
    """An eventfd: a 64-bit counter; read takes it (or 1 of it with EFD_SEMAPHORE), write adds to it."""

    _ino = 0

    def __init__(self, k: Kernel, count: int, flags: int, semaphore: bool) -> None:
        super().__init__("anon_inode:[eventfd]", O_RDWR | flags)
        self.k = k
        self.count = count
        self.semaphore = semaphore
        self.wq = WaitQueue("eventfd")
        EventFd._ino += 1
        self.ino = EventFd._ino

    def read(self, n: int) -> bytes | None:
        """eventfd_read: EINVAL for less than 8 bytes; None (block) while the counter is 0."""
        if n < 8:
            raise KernelError(E.EINVAL)
        if self.count == 0:
            return None
        value = 1 if self.semaphore else self.count
        self.count -= value
        self.k.sched.wake_up(self.wq, key=POLLOUT | POLLWRNORM)
        return struct.pack("<Q", value)

    def write(self, data: bytes) -> int | None:
        """eventfd_write: EINVAL for less than 8 bytes or the value 2^64-1; None (block) while it would not fit."""
        if len(data) < 8:
            raise KernelError(E.EINVAL)
        value = struct.unpack_from("<Q", data)[0]
        if value == ULLONG_MAX:
            raise KernelError(E.EINVAL)
        if ULLONG_MAX - self.count <= value:
            return None
        self.count += value
        if value:
            self.k.sched.wake_up(self.wq, key=POLLIN | POLLRDNORM)
        return 8

    def poll(self) -> int:
        mask = POLLIN | POLLRDNORM if self.count else 0
        if self.count == ULLONG_MAX:
            mask |= POLLERR
        if ULLONG_MAX - 1 > self.count:
            mask |= POLLOUT | POLLWRNORM
        return mask

    def waitqueue(self):
        return self.wq

    def stat(self) -> dict[str, int]:
        return _anon_stat(self.ino)

    def fdinfo(self) -> str:
        return f"eventfd-count: {self.count:16x}\n"


def _anon_stat(ino: int) -> dict[str, int]:
    """An anon_inode's stat: mode 0600 with no file type, on the anon_inodefs device."""
    import os

    return {"dev": 0xE, "ino": ino, "mode": 0o600, "nlink": 1, "uid": os.getuid(), "gid": os.getgid(), "rdev": 0,
            "size": 0, "blksize": 4096, "blocks": 0, "atime": 0, "atime_ns": 0, "mtime": 0, "mtime_ns": 0,
            "ctime": 0, "ctime_ns": 0}


TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2


class TimerFd(AnonFile):
    """A timerfd: expirations of a (periodic) timer on one clock, counted until read."""

    def __init__(self, k: Kernel, clockid: int, flags: int) -> None:
        super().__init__("anon_inode:[timerfd]", O_RDWR | flags)
        self.k = k
        self.clockid = clockid
        self.ticks = 0
        self.deadline: int | None = None  # on the scheduler's clock (sched.now())
        self.interval = 0
        self.timer = None
        self.wq = WaitQueue("timerfd")

    def settime(self, value_ns: int, interval_ns: int, absolute: bool) -> tuple[int, int]:
        """Arm (or with value 0 disarm) the timer; returns the old (remaining, interval) (do_timerfd_settime).
        An absolute value is on the timer's own clock, converted to the scheduler's."""
        old = self.gettime()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.ticks = 0
        self.interval = interval_ns
        if value_ns == 0:
            self.deadline = None
            return old
        sched = self.k.sched
        if absolute:
            value_ns -= self.k.now_ns(self.clockid)
        self.deadline = sched.now() + max(0, value_ns)
        self.timer = sched.add_timer(self.deadline, self._fire)
        return old

    def gettime(self) -> tuple[int, int]:
        """(time left, interval) in ns."""
        if self.deadline is None:
            return 0, self.interval
        return max(1 if self.deadline > self.k.sched.now() else 0, self.deadline - self.k.sched.now()), \
            self.interval

    def _fire(self) -> None:
        """timerfd_tmrproc: count the expiration (and any periods missed meanwhile), re-arm a periodic timer."""
        now = self.k.sched.now()
        self.ticks += 1
        if self.interval:
            nxt = self.deadline + self.interval
            if nxt <= now:
                missed = (now - nxt) // self.interval + 1
                self.ticks += missed
                nxt += missed * self.interval
            self.deadline = nxt
            self.timer = self.k.sched.add_timer(nxt, self._fire)
        else:
            self.deadline = None
            self.timer = None
        self.k.sched.wake_up(self.wq, key=POLLIN | POLLRDNORM)

    def read(self, n: int) -> bytes | None:
        """timerfd_read: EINVAL for less than 8 bytes; None (block) until an expiration."""
        if n < 8:
            raise KernelError(E.EINVAL)
        if not self.ticks:
            return None
        ticks, self.ticks = self.ticks, 0
        return struct.pack("<Q", ticks)

    def write(self, data: bytes) -> int | None:
        raise KernelError(E.EINVAL)

    def poll(self) -> int:
        return POLLIN | POLLRDNORM if self.ticks else 0

    def waitqueue(self):
        return self.wq

    def stat(self) -> dict[str, int]:
        return _anon_stat(0x7F000000 + id(self) % 0xFFFFFF)

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class SignalFd(AnonFile):
    """A signalfd (fs/signalfd.c): reading takes the caller's pending signals of the mask, as struct
    signalfd_siginfo, instead of delivering them; readable while one is pending."""

    def __init__(self, k: Kernel, mask: int, flags: int) -> None:
        super().__init__("anon_inode:[signalfd]", O_RDWR | flags)
        self.k = k
        self.mask = mask
        self.wq: WaitQueue | None = None  # the sighand's signalfd_wqh, once a task used it

    def _reader(self):
        return self.k.sched.current

    def read(self, n: int) -> bytes | None:
        """signalfd_read: EINVAL for less than one 128-byte record; as many pending signals as fit; None (block)
        while none is pending."""
        from .signal import dequeue_signal

        if n < 128:
            raise KernelError(E.EINVAL)
        t = self._reader()
        self.wq = t.sighand.signalfd_wq
        out = []
        while len(out) < n // 128:
            got = dequeue_signal(t, self.mask)
            if got is None:
                break
            out.append(_signalfd_siginfo(*got))
        return b"".join(out) if out else None

    def poll(self) -> int:
        t = self._reader()
        if t is None:
            return 0
        pending = 0
        for s, _ in t.pending + (t.signal.shared_pending if t.signal is not None else []):
            pending |= 1 << (s - 1)
        return POLLIN | POLLRDNORM if pending & self.mask else 0

    def waitqueue(self):
        t = self._reader()
        if t is not None:
            self.wq = t.sighand.signalfd_wq
        return self.wq

    def write(self, data: bytes) -> int | None:
        raise KernelError(E.EINVAL)

    def stat(self) -> dict[str, int]:
        return _anon_stat(0x7D000000 + id(self) % 0xFFFFFF)


def _signalfd_siginfo(sig: int, info: dict) -> bytes:
    """struct signalfd_siginfo (128 bytes) from a queued signal's fields (signalfd_copyinfo)."""
    rec = struct.pack("<IiiIIiIIIIiiQQQQ", sig, info.get("errno", 0), info.get("code", 0), info.get("pid", 0),
                      info.get("uid", 0), 0, 0, 0, 0, 0, info.get("status", 0), info.get("value", 0),
                      info.get("value", 0) & 0xFFFFFFFF, 0, 0, info.get("addr", 0))
    return rec.ljust(128, b"\0")


# ---- epoll -------------------------------------------------------------------------------------------

EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
EPOLLRDHUP, EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 0x2000, 1 << 28, 1 << 29, 1 << 30, 1 << 31
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3


class EpItem:
    """struct epitem: one watched (file, fd) of an epoll instance."""

    __slots__ = ("ep", "file", "fd", "events", "data", "ready", "callback")

    def __init__(self, ep: EpollFile, file: File, fd: int, events: int, data: int) -> None:
        self.ep, self.file, self.fd, self.events, self.data = ep, file, fd, events, data
        self.ready = False
        self.callback = self._wakeup

    def _wakeup(self, key: int = 0) -> bool:
        """ep_poll_callback: the file's queue was woken, so it may have events: onto the ready list, unless the
        wake-up's key names events the item does not want. True for an EPOLLEXCLUSIVE item that woke a waiter
        of its epoll (the wake-up then goes to nobody else exclusive)."""
        if not self.events & ~EP_PRIVATE_BITS:
            return False
        if key and not key & self.events:
            return False
        had_waiters = bool(self.ep.wq.waiters)
        self.ep.make_ready(self)
        return bool(self.events & EPOLLEXCLUSIVE) and had_waiters


class EpollFile(AnonFile):
    """An epoll instance (struct eventpoll): the interest list by (file, fd), the ready list and its queue."""

    def __init__(self, k: Kernel, flags: int) -> None:
        super().__init__("anon_inode:[eventpoll]", O_RDWR | flags)
        self.k = k
        self.items: dict[tuple[int, int], EpItem] = {}
        self.rdllist: list[EpItem] = []
        self.wq = WaitQueue("epoll")

    def make_ready(self, item: EpItem) -> None:
        if not item.ready:
            item.ready = True
            self.rdllist.append(item)
        self.k.sched.wake_up(self.wq)

    def ctl(self, op: int, fd: int, f: File, events: int, data: int) -> None:
        """epoll_ctl's ADD / MOD / DEL on the interest list (EEXIST, ENOENT as the man page says)."""
        key = (id(f), fd)
        item = self.items.get(key)
        if op == EPOLL_CTL_ADD:
            if item is not None:
                raise KernelError(E.EEXIST)
            if isinstance(f, EpollFile) and self._reaches(f):
                raise KernelError(E.ELOOP)
            item = EpItem(self, f, fd, events | EPOLLERR | EPOLLHUP, data)
            self.items[key] = item
            wq = f.waitqueue()
            if wq is not None:
                wq.callbacks.append(item.callback)
            if not hasattr(f, "epitems"):
                f.epitems = []
            f.epitems.append(item)
            if self._revents(item):
                self.make_ready(item)
        elif op == EPOLL_CTL_DEL:
            if item is None:
                raise KernelError(E.ENOENT)
            self.remove(item)
        elif op == EPOLL_CTL_MOD:
            if item is None:
                raise KernelError(E.ENOENT)
            if events & EPOLLEXCLUSIVE or item.events & EPOLLEXCLUSIVE:
                raise KernelError(E.EINVAL)
            item.events = events | EPOLLERR | EPOLLHUP
            item.data = data
            if self._revents(item):
                self.make_ready(item)
        else:
            raise KernelError(E.EINVAL)

    def _reaches(self, other: EpollFile, depth: int = 0) -> bool:
        """Adding other would close a loop of epoll instances watching each other (ep_loop_check), or nest
        deeper than EP_MAX_NESTS (4)."""
        if other is self or depth >= 4:
            return True
        return any(isinstance(it.file, EpollFile) and it.file._reaches_target(self, depth + 1)
                   for it in other.items.values())

    def _reaches_target(self, target: EpollFile, depth: int) -> bool:
        if self is target or depth >= 4:
            return True
        return any(isinstance(it.file, EpollFile) and it.file._reaches_target(target, depth + 1)
                   for it in self.items.values())

    def remove(self, item: EpItem) -> None:
        """ep_remove: off the interest and ready lists, and off the file's wait queue."""
        self.items.pop((id(item.file), item.fd), None)
        if item.ready:
            item.ready = False
            self.rdllist.remove(item)
        wq = item.file.waitqueue()
        if wq is not None and item.callback in wq.callbacks:
            wq.callbacks.remove(item.callback)
        items = getattr(item.file, "epitems", None)
        if items and item in items:
            items.remove(item)

    def _revents(self, item: EpItem) -> int:
        """ep_item_poll: the file's events that the item asks for (always EPOLLERR and EPOLLHUP)."""
        return item.file.poll() & item.events & ~EP_PRIVATE_BITS

    def harvest(self, maxevents: int) -> list[tuple[int, int]]:
        """ep_send_events: (events, data) of up to maxevents ready items; level-triggered ones stay on the ready
        list, edge-triggered ones leave it until their file wakes again, one-shot ones are disarmed."""
        out: list[tuple[int, int]] = []
        for item in self._pollable_ttys():
            if self._revents(item):
                self.make_ready(item)
        keep: list[EpItem] = []
        while self.rdllist and len(out) < maxevents:
            item = self.rdllist.pop(0)
            item.ready = False
            revents = self._revents(item)
            if not revents:
                continue
            out.append((revents, item.data))
            if item.events & EPOLLONESHOT:
                item.events &= EP_PRIVATE_BITS
            elif not item.events & EPOLLET:
                keep.append(item)
        for item in keep:
            item.ready = True
            self.rdllist.append(item)
        return out

    def _pollable_ttys(self) -> list[EpItem]:
        """Items whose file never wakes its queue (a host terminal, a file without a queue): looked at anew."""
        return [it for it in self.items.values() if getattr(it.file, "tty", False) or it.file.waitqueue() is None]

    def has_ttys(self) -> bool:
        return any(getattr(it.file, "tty", False) for it in self.items.values())

    def poll(self) -> int:
        """An epoll is readable when one of its ready items has events (ep_eventpoll_poll)."""
        for item in self._pollable_ttys():
            if self._revents(item):
                self.make_ready(item)
        return POLLIN | POLLRDNORM if any(self._revents(it) for it in self.rdllist) else 0

    def waitqueue(self):
        return self.wq

    def read(self, n: int) -> bytes | None:
        raise KernelError(E.EINVAL)

    def write(self, data: bytes) -> int | None:
        raise KernelError(E.EINVAL)

    def stat(self) -> dict[str, int]:
        return _anon_stat(0x7E000000 + id(self) % 0xFFFFFF)

    def release(self) -> None:
        for item in list(self.items.values()):
            self.remove(item)


def eventpoll_release(f: File) -> None:
    """The last reference to a watched file went: it leaves every epoll that watched it (eventpoll_release)."""
    for item in list(getattr(f, "epitems", ())):
        item.ep.remove(item)


__all__ = ["EventFd", "TimerFd", "EpollFile", "eventpoll_release", "POLLHUP", "POLLPRI", "O_NONBLOCK"]
