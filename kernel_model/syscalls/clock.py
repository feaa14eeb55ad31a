"""Time: clocks, sleeps, sched_yield, alarm and interval timers (kernel/time/*.c, kernel/sched/core.c)."""

from __future__ import annotations

import struct

from ..abi import NR, SIG, E
from ..files import KernelError
from ..sched import TICK_NSEC
from .. import signal as sigmod
from .table import syscall
from .common import CLOCK_REALTIME, KTS


@syscall("clock_gettime", sig="enum(clock) clockid, out timespec tp", cls="clock")
def sys_clock_gettime(k, t, clk, tp, *_):
    """struct old_timespec32 of a host clock."""
    ns = k.now_ns(clk, t)
    k.put_bytes(t, tp, struct.pack("<iI", (ns // 10**9) & 0x7FFFFFFF, ns % 10**9))
    return 0


@syscall("clock_gettime64", sig="enum(clock) clockid, out timespec64 tp", cls="clock")
def sys_clock_gettime64(k, t, clk, tp, *_):
    """struct __kernel_timespec of a host clock."""
    ns = k.now_ns(clk, t)
    k.put_bytes(t, tp, struct.pack("<qq", ns // 10**9, ns % 10**9))
    return 0


@syscall("clock_getres", sig="enum(clock) clockid, out timespec res", cls="clock")
@syscall("clock_getres_time64", sig="enum(clock) clockid, out timespec64 res", cls="clock")
def sys_clock_getres(k, t, clk, tp, *_):
    """Nanosecond resolution, but a jiffy for the coarse clocks (posix_get_coarse_res: LOW_RES_NSEC)."""
    k.now_ns(clk)
    if tp:
        fmt = "<qq" if t.regs.orig_ax == NR.clock_getres_time64 else "<iI"
        k.put_bytes(t, tp, struct.pack(fmt, 0, TICK_NSEC if clk in (5, 6) else 1))
    return 0


@syscall("gettimeofday", sig="out timeval tv, ptr tz", cls="clock")
def sys_gettimeofday(k, t, tv, tz, *_):
    """struct timeval of the host's real-time clock."""
    if tv:
        ns = k.now_ns(CLOCK_REALTIME)
        k.put_bytes(t, tv, struct.pack("<iI", (ns // 10**9) & 0x7FFFFFFF, (ns // 1000) % 10**6))
    if tz:
        k.put_bytes(t, tz, bytes(8))
    return 0


@syscall("time", sig="out time_ptr tloc", cls="clock")
def sys_time(k, t, tloc, *_):
    """Seconds since the epoch."""
    now = k.now_ns(CLOCK_REALTIME) // 10**9
    if tloc:
        k.put_u32(t, tloc, now)
    return now


def _sleep(k, t, ns: int, rem: int = 0, rem_fmt: str = "<iI"):
    """Sleep for ns on the scheduler's clock (hrtimer_nanosleep); interrupted by a signal, write the time left
    to rem when it is not NULL (nanosleep(2): "the remaining time is written into rem")."""
    from ..task import WaitQueue

    deadline = k.sched.now() + ns
    while True:
        k.sched.sleep_on(t, WaitQueue("nanosleep"), deadline - k.sched.now())
        yield
        left = deadline - k.sched.now()
        if t.timed_out or left <= 0:
            return 0
        if k.signal_pending(t):
            # Linux returns -ERESTART_RESTARTBLOCK and restarts with the time left; here a restart
            # sleeps the whole request again, and a handler sees EINTR.
            if rem:
                k.put_bytes(t, rem, struct.pack(rem_fmt, left // 10**9, left % 10**9))
            raise KernelError(sigmod.ERESTARTNOHAND)


@syscall("nanosleep", sig="timespec req, ptr rem")
def sys_nanosleep(k, t, req, rem, *_):
    """Sleep for a struct old_timespec32 (the host's clock, or the model's under virtual time)."""
    sec, nsec = struct.unpack("<iI", k.get_bytes(t, req, 8))
    if sec < 0 or nsec >= 10**9:
        raise KernelError(E.EINVAL)
    return (yield from _sleep(k, t, sec * 10**9 + nsec, rem))


@syscall("clock_nanosleep", sig="enum(clock) clockid, flags(timer) flags, timespec request, ptr remain")
@syscall("clock_nanosleep_time64", sig="enum(clock) clockid, flags(timer) flags, timespec64 request, ptr remain")
def sys_clock_nanosleep(k, t, clk, flags, req, rem, *_):
    """Relative or absolute (TIMER_ABSTIME) sleep; an absolute one is not given the time left (clock_nanosleep(2):
    "If the call is interrupted by a signal handler ... remain is unused")."""
    fmt, size = (KTS, 16) if t.regs.orig_ax == NR.clock_nanosleep_time64 else ("<iI", 8)
    if clk in (2, 3):
        raise KernelError(E.EINVAL)  # sleeping on a CPU-time clock is not modelled (Linux: the thread one is EINVAL)
    sec, nsec = struct.unpack(fmt, k.get_bytes(t, req, size))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    ns = sec * 10**9 + nsec
    if flags & 1:
        ns -= k.now_ns(clk)
    return (yield from _sleep(k, t, max(0, ns), 0 if flags & 1 else rem, fmt))


@syscall("sched_yield", sig="")
def sys_sched_yield(k, t, *_):
    """Give up the rest of the time slice."""
    k.sched.preempt()
    return 0


ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2


def _real_timer_fire(k, group):
    """ITIMER_REAL expired: SIGALRM to the process, re-armed when periodic (it_real_fn)."""
    def fire():
        rt = group.real_timer
        if rt is None or not group.threads:
            return
        deadline, interval = rt
        if k.sched.now() < deadline:
            return  # a later setitimer replaced this one
        leader = group.threads[0]
        k.send_signal(leader, SIG.SIGALRM, {"signo": SIG.SIGALRM, "code": sigmod.SI_KERNEL}, group=True)
        if interval:  # hrtimer_forward: the next expiry after now; the periods missed meanwhile are overruns
            nxt = deadline + interval
            now = k.sched.now()
            if nxt <= now:
                nxt += ((now - nxt) // interval + 1) * interval
            group.real_timer = (nxt, interval)
            group.real_timer_handle = k.sched.add_timer(nxt, fire)
        else:
            group.real_timer = None
    return fire


def _set_real_timer(k, t, value_ns, interval_ns):
    group = t.signal
    old = group.real_timer
    remaining = max(0, old[0] - k.sched.now()) if old else 0
    old_interval = old[1] if old else 0
    if group.real_timer_handle is not None:
        group.real_timer_handle.cancel()
        group.real_timer_handle = None
    if value_ns:
        deadline = k.sched.now() + value_ns
        group.real_timer = (deadline, interval_ns)
        group.real_timer_handle = k.sched.add_timer(deadline, _real_timer_fire(k, group))
    else:
        group.real_timer = None
    return remaining, old_interval


@syscall("alarm", sig="uint seconds")
def sys_alarm(k, t, seconds, *_):
    """SIGALRM after seconds; returns the seconds left on the previous alarm."""
    remaining, _ = _set_real_timer(k, t, seconds * 10**9, 0)
    return (remaining + 10**9 - 1) // 10**9 if remaining else 0


def _pack_itimerval(interval_ns, value_ns):
    return struct.pack("<iiii", interval_ns // 10**9, (interval_ns % 10**9) // 1000,
                       value_ns // 10**9, (value_ns % 10**9) // 1000)


def _cpu_timer(k, t, which):
    """(time left, interval) of ITIMER_VIRTUAL or ITIMER_PROF."""
    timer = t.signal.cpu_itimers.get(which)
    if timer is None:
        return 0, 0
    return max(timer[0] - k.itimer_cputime(t, which), 1000), timer[1]  # an expiry not yet fired shows 1 us


def _set_cpu_timer(k, t, which, value_ns, interval_ns):
    """Arm ITIMER_VIRTUAL or ITIMER_PROF (set_cpu_itimer): it fires when the process has used value_ns more of
    its CPU time; kernel_model.kernel.run_posix_cpu_timers checks it after every slice."""
    old = _cpu_timer(k, t, which)
    if value_ns:
        # set_cpu_itimer: "nval += TICK_NSEC", so the first expiry is at least value_ns of CPU time away
        t.signal.cpu_itimers[which] = (k.itimer_cputime(t, which) + value_ns + TICK_NSEC, interval_ns)
    else:
        t.signal.cpu_itimers.pop(which, None)
    return old


@syscall("setitimer", sig="enum(itimer) which, itimerval new_value, out itimerval old_value")
def sys_setitimer(k, t, which, new, old, *_):
    """Arm an interval timer (do_setitimer): ITIMER_REAL on the scheduler's clock, ITIMER_VIRTUAL and ITIMER_PROF
    on the process's CPU time from the cycle model; EINVAL for another timer or a bad timeval; a NULL new_value
    disarms (as Linux allows)."""
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise KernelError(E.EINVAL)
    isec, iusec, vsec, vusec = struct.unpack("<iiii", k.get_bytes(t, new, 16)) if new else (0, 0, 0, 0)
    if min(isec, iusec, vsec, vusec) < 0 or iusec >= 10**6 or vusec >= 10**6:
        raise KernelError(E.EINVAL)
    if old:
        k.get_bytes(t, old, 16)  # EFAULT before the timer changes
    value, interval = vsec * 10**9 + vusec * 1000, isec * 10**9 + iusec * 1000
    if which == ITIMER_REAL:
        remaining, old_interval = _set_real_timer(k, t, value, interval)
    else:
        remaining, old_interval = _set_cpu_timer(k, t, which, value, interval)
    if old:
        k.put_bytes(t, old, _pack_itimerval(old_interval, remaining))
    return 0


@syscall("getitimer", sig="enum(itimer) which, out itimerval curr_value")
def sys_getitimer(k, t, which, cur, *_):
    """The time left on an interval timer and its interval."""
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise KernelError(E.EINVAL)
    if which == ITIMER_REAL:
        rt = t.signal.real_timer
        remaining, interval = (max(0, rt[0] - k.sched.now()), rt[1]) if rt else (0, 0)
    else:
        remaining, interval = _cpu_timer(k, t, which)
    k.put_bytes(t, cur, _pack_itimerval(interval, remaining))
    return 0
