"""A deterministic round-robin scheduler with wait queues and timers (kernel/sched, kernel/wait, kernel/time).

Timers (sleeps, timeouts, alarms) run on one of two clocks:

* the host's monotonic clock (the default): `sleep 1` takes a second, and when every task sleeps the emulator
  sleeps on the host until the earliest deadline;
* the model's virtual clock (``host_clock = False``, the CLI's ``--virtual-time``): time is the modelled
  duration of the executed slices, and an idle machine jumps straight to the earliest deadline, so runs that
  sleep repeat exactly and take no host time.

``clock_ns`` is the modelled time in both modes (the sum of the slices' modelled durations, plus the idle
jumps of virtual time); ``now()`` is the clock that deadlines are measured on.
"""

from __future__ import annotations

import heapq
import time
from collections import deque

from .task import RUNNING, SLEEPING, Task, WaitQueue

DEFAULT_QUANTUM = 100_000  # guest instructions per time slice


TICK_NSEC = 4_000_000  # one jiffy at CONFIG_HZ=250, the i386 default (and this machine's kernel)

# kernel/sched/core.c's sched_prio_to_weight: the load weight of nice -20 .. 19 (nice 0 is 1024)
PRIO_TO_WEIGHT = (88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
                  3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
                  70, 56, 45, 36, 29, 23, 18, 15)


class Scheduler:
    """Runnable tasks take turns in FIFO order; sleepers wait on queues or on the virtual clock."""

    def __init__(self, quantum: int = DEFAULT_QUANTUM) -> None:
        if quantum <= 0:
            raise ValueError("the quantum must be a positive number of instructions")
        self.quantum = quantum
        self.runqueue: deque[Task] = deque()
        self.current: Task | None = None
        self.clock_ns = 0  # virtual time, advanced by executed instructions
        self.host_clock = True  # deadlines on the host's monotonic clock; False: on clock_ns
        self.epoch_ns = time.monotonic_ns()  # host-clock time 0 (the run's start)
        self.idle_ns = 0  # host time spent idle, waiting for a deadline
        # Called when the machine is idle and between slices: delivers what came from outside the model (a key
        # that the host terminal turned into a signal); returns whether it did anything.
        self.external = None
        self.timers: list[tuple[int, int, Task]] = []  # (deadline, seq, task)
        self._seq = 0
        self.need_resched = False
        self.switches = 0

    def now(self) -> int:
        """The time deadlines are measured on, in ns since the run started."""
        if self.host_clock:
            return time.monotonic_ns() - self.epoch_ns
        return self.clock_ns

    def enqueue(self, task: Task) -> None:
        """Make a task runnable at the back of the queue (activate_task)."""
        task.state = RUNNING
        if task is not self.current and task not in self.runqueue:
            self.runqueue.append(task)

    def sleep_on(self, task: Task, wq: WaitQueue, timeout_ns: int | None = None,
                 interruptible: bool = True) -> None:
        """Put task to sleep on wq, optionally until timeout_ns from now (prepare_to_wait + schedule_timeout)."""
        task.state = SLEEPING
        task.interruptible = interruptible
        task.wait_channel = wq.name
        task.timed_out = False
        task.wq = wq
        wq.waiters.append(task)
        if task in self.runqueue:
            self.runqueue.remove(task)
        if timeout_ns is not None:
            self._seq += 1
            task.timeout_ns = self.now() + max(0, timeout_ns)
            heapq.heappush(self.timers, (task.timeout_ns, self._seq, task))
        else:
            task.timeout_ns = None
        if task is self.current:
            self.need_resched = True

    def wake_task(self, task: Task) -> None:
        """Wake one sleeping task (try_to_wake_up)."""
        if task.state == SLEEPING:
            if task.wq is not None and task in task.wq.waiters:
                task.wq.waiters.remove(task)
            task.wq = None
            task.timeout_ns = None
            task.wait_channel = ""
            self.enqueue(task)

    def wake_up(self, wq: WaitQueue, n: int | None = None, key: int = 0) -> int:
        """Wake up to n waiters of wq (all when n is None) in FIFO order; return how many woke (__wake_up).
        The queue's callbacks run first with the wake-up's event key (0: any), so an epoll watching the file
        learns that it may be ready (ep_poll_callback); an exclusive callback that took the event ends them."""
        if wq.callbacks:
            for cb in list(wq.callbacks):
                if cb(key) is True:
                    break
        woken = 0
        while wq.waiters and (n is None or woken < n):
            t = wq.waiters.pop(0)
            if t.state == SLEEPING:
                self.wake_task(t)
                woken += 1
        return woken

    def cancel_sleep(self, task: Task) -> None:
        """Take a sleeping task off its wait queue without waking it (a killed sleeper)."""
        if task.wq is not None and task in task.wq.waiters:
            task.wq.waiters.remove(task)
        task.wq = None
        task.timeout_ns = None

    def task_exited(self, task: Task) -> None:
        """A task stopped being schedulable for good."""
        if task in self.runqueue:
            self.runqueue.remove(task)
        if task is self.current:
            self.need_resched = True

    def quantum_for(self, task: Task) -> int:
        """The slice of a task with a nice value: the quantum scaled by its CFS load weight against nice 0's
        (sched_prio_to_weight), so over a round a nice -5 thread runs about three times as long as a nice 0 one
        and a nice 19 one about 1/68 as long. Real-time policies keep the whole quantum."""
        if task.sched_policy[0] in (1, 2):
            return self.quantum
        return max(1000, self.quantum * PRIO_TO_WEIGHT[max(-20, min(19, task.nice)) + 20] // 1024)

    def advance(self, ns: int) -> None:
        """Move the virtual clock on by the modelled duration of a time slice; fire expired timers."""
        self.clock_ns += ns
        self._fire_timers()

    def add_timer(self, deadline_ns: int, callback) -> Timer:
        """Call callback() once now() reaches deadline_ns, unless the returned timer is cancelled first
        (hrtimer_start / hrtimer_cancel)."""
        self._seq += 1
        timer = Timer(callback)
        heapq.heappush(self.timers, (deadline_ns, self._seq, timer))
        return timer

    def _live_timer(self, entry) -> bool:
        deadline, _, obj = entry
        if isinstance(obj, Task):
            return obj.state == SLEEPING and obj.timeout_ns == deadline
        return not obj.cancelled

    def _fire_timers(self) -> None:
        if not self.timers:
            return
        now = self.now()
        while self.timers and self.timers[0][0] <= now:
            entry = heapq.heappop(self.timers)
            deadline, _, obj = entry
            if not isinstance(obj, Task):
                if not obj.cancelled:
                    obj.cancelled = True
                    obj.callback()
            elif obj.state == SLEEPING and obj.timeout_ns == deadline:
                obj.timed_out = True
                self.wake_task(obj)

    def pick_next(self) -> Task | None:
        """The next task to run; when all sleep, wait for the earliest timer (idle): on the host clock by
        sleeping, on the virtual clock by jumping to it."""
        while True:
            cur = self.current
            if cur is not None and cur.state == RUNNING and not self.need_resched and not _stopped(cur):
                return cur
            if cur is not None and cur.state == RUNNING and cur not in self.runqueue and not _stopped(cur):
                self.runqueue.append(cur)
            self.need_resched = False
            while self.runqueue and _stopped(self.runqueue[0]):
                self.runqueue.popleft()  # a stopped group's threads leave the queue until SIGCONT
            if self.runqueue:
                nxt = self.runqueue.popleft()
                if nxt is not cur:
                    self.switches += 1
                    nxt.switches += 1
                self.current = nxt
                return nxt
            self.current = None  # idle: whatever the timers wake must land on the run queue
            live = [t for t in self.timers if self._live_timer(t)]
            if not live:
                return None
            self.timers = live
            heapq.heapify(self.timers)
            deadline = self.timers[0][0]
            if self.host_clock:
                wait = deadline - self.now()
                if wait > 0:
                    # in steps of at most 50 ms, so that a signal from the terminal is not kept waiting
                    step = min(wait, 50_000_000) if self.external is not None else wait
                    _host_sleep(step, self.now() + step, self.now)
                    self.idle_ns += step
                if self.external is not None and self.external():
                    continue
            else:
                self.clock_ns = max(self.clock_ns, deadline)
            self._fire_timers()

    def preempt(self) -> None:
        """The current task used its slice: it goes to the back of the queue."""
        self.need_resched = True

    @property
    def runnable(self) -> bool:
        """Is any task runnable now."""
        return bool(self.runqueue) or (self.current is not None and self.current.state == RUNNING)


SPIN_NS = 250_000  # the host's sleep oversleeps by ~0.2 ms: the last part of an idle wait spins instead


def _host_sleep(ns: int, until: int, now) -> None:
    """Sleep ns of host time, waking close to until: time.sleep for all but the last SPIN_NS, then spin."""
    if ns > SPIN_NS:
        time.sleep((ns - SPIN_NS) / 1e9)
    while now() < until:
        pass


class Timer:
    """A pending callback on the scheduler's clock; a cancelled one neither fires nor keeps an idle machine
    waiting for it."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """hrtimer_cancel."""
        self.cancelled = True


def _stopped(task: Task) -> bool:
    """The task's thread group is stopped by a stop signal."""
    return task.signal is not None and task.signal.stopped
