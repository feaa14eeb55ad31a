"""Fast userspace mutexes: wait, wake, bitsets and requeue (kernel/futex/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abi import E
from .files import KernelError
from .mm import PAGE_SIZE, PTE_FRAME
from .task import Task, WaitQueue

if TYPE_CHECKING:
    from .kernel import Kernel

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = 0, 1, 2, 3, 4, 5
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 6, 7, 8, 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF


class FutexTable:
    """The futex hash: one wait queue per key, waiters in FIFO order with their bitsets."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.queues: dict[tuple, WaitQueue] = {}
        self.bitsets: dict[int, int] = {}  # task pid -> bitset it waits with
        self.keys: dict[int, tuple] = {}  # task pid -> key it waits on
        self.woken: set[int] = set()  # pids woken by FUTEX_WAKE / requeue, not by a signal or timeout
        self.woken_by: dict[int, tuple] = {}  # pid -> the key whose wake woke it (futex_waitv's index)

    def key(self, task: Task, uaddr: int, private: bool) -> tuple:
        """A private futex is (mm, address); a shared one is the physical frame and offset (get_futex_key)."""
        if uaddr & 3:
            raise KernelError(E.EINVAL)
        if not private:
            self.k.get_u32(task, uaddr)  # a shared key needs the page (get_user_pages): EFAULT when unmapped
        vma = task.mm.find_vma(uaddr)
        if private or vma is None or not vma.shared:
            # Private mappings are keyed by (mm, address) even without FUTEX_PRIVATE_FLAG: after fork the
            # child's copy-on-write page is not the parent's futex (get_futex_key's private-mapping case).
            return ("mm", task.mm.serial, uaddr)
        self.k.get_u32(task, uaddr)  # fault the page in
        frame = task.mm.pte(uaddr) & PTE_FRAME
        return ("phys", frame, uaddr & (PAGE_SIZE - 1))

    def wait(self, task: Task, uaddr: int, val: int, timeout_ns: int | None, bitset: int, private: bool):
        """Sleep if *uaddr == val until woken (0) or timed out (-ETIMEDOUT); -EAGAIN if it differs (futex_wait)."""
        if bitset == 0:
            raise KernelError(E.EINVAL)
        key = self.key(task, uaddr, private)
        if self.k.get_u32(task, uaddr) != val & 0xFFFFFFFF:
            raise KernelError(E.EAGAIN)
        q = self.queues.setdefault(key, WaitQueue("futex"))
        self.bitsets[task.pid] = bitset
        self.keys[task.pid] = key
        self.k.sched.sleep_on(task, q, timeout_ns)
        task.wait_channel = f"futex {uaddr:#x}"
        yield
        self.bitsets.pop(task.pid, None)
        self.keys.pop(task.pid, None)
        if task.pid in self.woken:
            self.woken.discard(task.pid)
            return 0
        if task.timed_out:
            raise KernelError(E.ETIMEDOUT)
        if task in q.waiters:
            q.waiters.remove(task)
        raise KernelError(512)  # ERESTARTSYS: a signal ended the wait

    def wake(self, task: Task, uaddr: int, n: int, bitset: int = FUTEX_BITSET_MATCH_ANY,
             private: bool = False) -> int:
        """Wake up to n waiters whose bitset matches; return how many (futex_wake)."""
        if bitset == 0:
            raise KernelError(E.EINVAL)
        key = self.key(task, uaddr, private)
        q = self.queues.get(key)
        if q is None:
            return 0
        woken = 0
        for t in list(q.waiters):
            if woken >= n:
                break
            if t.pid in self.woken:
                q.waiters.remove(t)  # a futex_waitv waiter already woken through another of its futexes
                continue
            if self.bitsets.get(t.pid, FUTEX_BITSET_MATCH_ANY) & bitset:
                self.woken.add(t.pid)
                self.woken_by[t.pid] = key
                if t in q.waiters:
                    q.waiters.remove(t)
                self.k.sched.wake_task(t)
                woken += 1
        if not q.waiters:
            del self.queues[key]
        return woken

    def requeue(self, task: Task, uaddr: int, n_wake: int, n_requeue: int, uaddr2: int,
                cmpval: int | None, private: bool) -> int:
        """Wake n_wake waiters of uaddr and move up to n_requeue others to uaddr2 (futex_requeue)."""
        key1 = self.key(task, uaddr, private)
        key2 = self.key(task, uaddr2, private)
        if cmpval is not None and self.k.get_u32(task, uaddr) != cmpval & 0xFFFFFFFF:
            raise KernelError(E.EAGAIN)
        q1 = self.queues.get(key1)
        if q1 is None:
            return 0
        woken = moved = 0
        for t in list(q1.waiters):
            if woken < n_wake:
                self.woken.add(t.pid)
                self.k.sched.wake_task(t)
                woken += 1
            elif moved < n_requeue and key1 != key2:
                q1.waiters.remove(t)
                q2 = self.queues.setdefault(key2, WaitQueue("futex"))
                q2.waiters.append(t)
                t.wq = q2
                self.keys[t.pid] = key2
                moved += 1
        if not q1.waiters:
            self.queues.pop(key1, None)
        return woken + moved

    def waitv(self, task: Task, futexes: list[tuple[int, int, bool]], timeout_ns: int | None):
        """futex_waitv: queue on every (uaddr, val, private) futex, EAGAIN when one of them no longer holds its
        value, then sleep until one is woken: its index; ETIMEDOUT, or ERESTARTSYS for a signal."""
        keys = [self.key(task, uaddr, private) for uaddr, _, private in futexes]
        for (uaddr, val, _), _key in zip(futexes, keys, strict=True):
            if self.k.get_u32(task, uaddr) != val & 0xFFFFFFFF:
                raise KernelError(E.EAGAIN)
        queues = [self.queues.setdefault(key, WaitQueue("futex")) for key in keys]
        for q in queues:
            q.waiters.append(task)
        self.k.sched.sleep_on(task, WaitQueue("futex_waitv"), timeout_ns)
        task.wait_channel = f"futex_waitv {futexes[0][0]:#x}"
        try:
            yield
        finally:
            for key, q in zip(keys, queues, strict=True):
                while task in q.waiters:
                    q.waiters.remove(task)
                if not q.waiters and self.queues.get(key) is q:
                    del self.queues[key]
        if task.pid in self.woken:
            self.woken.discard(task.pid)
            by = self.woken_by.pop(task.pid, None)
            return keys.index(by) if by in keys else 0
        if task.timed_out:
            raise KernelError(E.ETIMEDOUT)
        raise KernelError(512)  # ERESTARTSYS: a signal ended the wait

    def forget(self, task: Task) -> None:
        """Drop an exiting task's waiting state."""
        self.bitsets.pop(task.pid, None)
        self.keys.pop(task.pid, None)
        self.woken.discard(task.pid)
