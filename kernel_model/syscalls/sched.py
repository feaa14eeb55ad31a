"""The machine as the scheduler shows it: CPU affinity, the current CPU, and sysinfo (kernel/sched/core.c,
kernel/sys.c). The model has one CPU (as /proc/cpuinfo and /proc/stat say), so every task runs on CPU 0."""

from __future__ import annotations

import struct

from ..abi import NR, E
from ..files import KernelError
from .table import syscall
from .common import pid_target, s32

NR_CPUS = 256  # this machine's kernel (kernel_max 255): the most CPUs a cpumask can name
CPUMASK_SIZE = NR_CPUS // 8  # cpumask_size(): what sched_getaffinity stores and returns (measured: 32)


@syscall("sched_getaffinity", sig="pid pid, size cpusetsize, out cpu_mask(ret) mask")
def sys_sched_getaffinity(k, t, pid, size, mask, *_):
    """The CPUs a task may run on: CPU 0 only; returns the bytes written (compat_sys_sched_getaffinity:
    EINVAL when the set is smaller than the CPUs or not a whole number of 32-bit words)."""
    if (size * 8) & 0xFFFFFFFF < 1 or size & 3:  # len * BITS_PER_BYTE in an unsigned int, as the kernel computes it
        raise KernelError(E.EINVAL)  # checked before the pid is looked up
    pid_target(k, t, pid)
    n = min(size, CPUMASK_SIZE)
    k.put_bytes(t, mask, (1).to_bytes(n, "little"))
    return n


@syscall("sched_setaffinity", sig="pid pid, size cpusetsize, cpu_mask(cpusetsize) mask")
def sys_sched_setaffinity(k, t, pid, size, mask, *_):
    """Accept a set that includes CPU 0 (the only one); EINVAL for a set without it (sched_setaffinity(2):
    "The affinity bit mask mask contains no processors that are currently physically on the system")."""
    data = k.get_bytes(t, mask, min(size, 128))  # get_user_cpu_mask comes first (EFAULT)
    _check_same_owner(k, t, sched_target(k, t, pid))
    if not data or not data[0] & 1:
        raise KernelError(E.EINVAL)
    return 0


def _check_same_owner(k, t, target) -> None:
    """check_same_owner: the caller's euid is the target's euid or uid, or it has CAP_SYS_NICE (EPERM)."""
    c, tc = k.cred(t), k.cred(target)
    if c.euid not in (tc.euid, tc.uid) and not c.capable(CAP_SYS_NICE):
        raise KernelError(E.EPERM)


@syscall("getcpu", sig="out int_ptr cpu, out int_ptr node, ptr tcache")
def sys_getcpu(k, t, cpu, node, tcache, *_):
    """CPU 0 on node 0."""
    if cpu:
        k.put_u32(t, cpu, 0)
    if node:
        k.put_u32(t, node, 0)
    return 0


@syscall("sysinfo", sig="out sysinfo info")
def sys_sysinfo(k, t, info, *_):
    """struct sysinfo (do_sysinfo): uptime on the boot clock, load averages of 0, the frame pool as RAM (SysV
    shared memory as shared RAM: NR_SHMEM), no buffers, no swap, and the number of tasks."""
    pool = k.pool
    total, free = pool.nframes, pool.nfree
    shared = sum(len(s.obj.pages) for s in k.ipc.shm.objects.values())
    unit = 1 if total * 4096 < 1 << 32 else 4096  # compat: scale to pages when the byte counts overflow 32 bits
    scale = 4096 // unit
    uptime = k.now_ns(7) // 10**9  # CLOCK_BOOTTIME
    fields = struct.pack("<i3I6IHH3I", s32(uptime & 0xFFFFFFFF), 0, 0, 0, total * scale, free * scale,
                         shared * scale, 0, 0, 0, min(len(k.tasks), 0xFFFF), 0, 0, 0, unit)
    k.put_bytes(t, info, fields.ljust(64, b"\0"))
    return 0


SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5
SCHED_RESET_ON_FORK = 0x40000000
PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
CAP_SYS_NICE = 23
RR_INTERVAL_NS = 100_000_000  # sched_rr_timeslice: 100 ms


def _prio_targets(k, t, which: int, who: int) -> list:
    """The processes getpriority/setpriority mean: one pid, a process group, or a user's (EINVAL otherwise)."""
    live = [x for x in k.tasks.values() if x.is_alive()]
    if which == PRIO_PROCESS:
        return [sched_target(k, t, who)] if who else [t]
    if which == PRIO_PGRP:
        pg = who or t.signal.pgid
        return [x for x in live if x.signal.pgid == pg]
    if which == PRIO_USER:
        uid = who or k.cred(t).uid
        return [x for x in live if k.cred(x).uid == uid]
    raise KernelError(E.EINVAL)


@syscall("getpriority", sig="enum(prio_which) which, int who")
def sys_getpriority(k, t, which, who, *_):
    """The best (lowest) nice value of the targets, as the kernel returns it: 20 - nice, so 1..40 (the C
    library turns it back); ESRCH when none match."""
    targets = _prio_targets(k, t, which, s32(who))
    if not targets:
        raise KernelError(E.ESRCH)
    return 20 - min(x.nice for x in targets)


def _set_nice(k, t, target, nice: int) -> None:
    """set_one_prio: EPERM for another user's process first, then EACCES for lowering the nice value without
    CAP_SYS_NICE (can_nice)."""
    nice = max(-20, min(19, nice))
    c, tc = k.cred(t), k.cred(target)
    if c.euid not in (tc.euid, tc.uid) and not c.capable(CAP_SYS_NICE):
        raise KernelError(E.EPERM)
    if nice < target.nice and not c.capable(CAP_SYS_NICE):
        raise KernelError(E.EACCES)
    target.nice = nice


@syscall("setpriority", sig="enum(prio_which) which, int who, int prio")
def sys_setpriority(k, t, which, who, prio, *_):
    """Set the nice value (-20..19, clamped) of the targets; the model's scheduler does not weigh it."""
    targets = _prio_targets(k, t, which, s32(who))
    if not targets:
        raise KernelError(E.ESRCH)
    for x in targets:
        _set_nice(k, t, x, s32(prio))
    return 0


@syscall("nice", sig="int inc")
def sys_nice(k, t, inc, *_):
    """Add inc to the nice value (EPERM to lower it without CAP_SYS_NICE); 0."""
    try:
        _set_nice(k, t, t, t.nice + s32(inc))
    except KernelError as e:
        if e.errno == E.EACCES:
            raise KernelError(E.EPERM) from None
        raise
    return 0


@syscall("sched_getscheduler", sig="pid pid")
def sys_sched_getscheduler(k, t, pid, *_):
    """The policy (SCHED_OTHER unless set)."""
    if s32(pid) < 0:
        raise KernelError(E.EINVAL)
    target = sched_target(k, t, pid)
    return target.sched_policy[0] | (SCHED_RESET_ON_FORK if getattr(target, "sched_reset_on_fork", False) else 0)


class _InitSched:
    """pid 1, the model's init, as the scheduling calls see it: it runs no guest code, but it exists, and its
    policy may be read and (by a privileged caller) set."""

    sched_policy = (0, 0)
    nice = 0
    cred = None  # set to root's by sched_target


def sched_target(k, t, pid):
    """The task the sched_* calls act on: pid_target, and pid 1 the model's init."""
    if pid == 1 and k.tasks.get(1) is None:
        init = getattr(k, "init_sched", None)
        if init is None:
            init = k.init_sched = _InitSched()
            ic = k.init_cred
            init.cred = ic.change(uid=0, euid=0, suid=0, fsuid=0, gid=0, egid=0, sgid=0, fsgid=0,
                                  cap_effective=ic.cap_bset, cap_permitted=ic.cap_bset)
        return init
    return pid_target(k, t, pid)


def _policy_param(k, t, policy: int, param: int, target=None) -> tuple[int, int]:
    prio = struct.unpack("<i", k.get_bytes(t, param, 4))[0]
    reset = bool(policy & SCHED_RESET_ON_FORK)
    policy &= ~SCHED_RESET_ON_FORK
    if policy in (SCHED_FIFO, SCHED_RR):
        if not 1 <= prio <= 99:
            raise KernelError(E.EINVAL)
        if not k.cred(t).capable(CAP_SYS_NICE):
            raise KernelError(E.EPERM)
    elif policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE):
        if prio != 0:
            raise KernelError(E.EINVAL)
    else:
        raise KernelError(E.EINVAL)
    if target is not None:
        target.sched_reset_on_fork = reset
    return policy, prio


@syscall("sched_setscheduler", sig="pid pid, enum(sched_policy) policy, ptr param")
def sys_sched_setscheduler(k, t, pid, policy, param, *_):
    """Set the policy and static priority (recorded; the model's round-robin scheduler runs every policy
    alike). EINVAL for a bad policy or priority, EPERM for a real-time policy without CAP_SYS_NICE."""
    if s32(pid) < 0 or not param:
        raise KernelError(E.EINVAL)
    target = sched_target(k, t, pid)
    new = _policy_param(k, t, s32(policy), param, target)
    _check_same_owner(k, t, target)
    target.sched_policy = new
    return 0


@syscall("sched_setparam", sig="pid pid, ptr param")
def sys_sched_setparam(k, t, pid, param, *_):
    """Set the static priority within the current policy."""
    if s32(pid) < 0 or not param:
        raise KernelError(E.EINVAL)
    target = sched_target(k, t, pid)
    new = _policy_param(k, t, target.sched_policy[0], param)
    _check_same_owner(k, t, target)
    target.sched_policy = new
    return 0


@syscall("sched_getparam", sig="pid pid, out int_ptr param")
def sys_sched_getparam(k, t, pid, param, *_):
    """The static priority (0 for SCHED_OTHER)."""
    if s32(pid) < 0 or not param:
        raise KernelError(E.EINVAL)
    k.put_u32(t, param, sched_target(k, t, pid).sched_policy[1])
    return 0


@syscall("sched_get_priority_max", "sched_get_priority_min", sig="enum(sched_policy) policy")
def sys_sched_get_priority_bound(k, t, policy, *_):
    """The real-time policies' priority range 1..99, 0..0 for the others; EINVAL for an unknown policy."""
    if policy in (SCHED_FIFO, SCHED_RR):
        return 99 if t.regs.orig_ax == NR.sched_get_priority_max else 1
    if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, 6, 7):  # 6 SCHED_DEADLINE, 7 SCHED_EXT (Linux 6.12)
        return 0
    raise KernelError(E.EINVAL)


@syscall("sched_rr_get_interval", sig="pid pid, out timespec tp")
@syscall("sched_rr_get_interval_time64", sig="pid pid, out timespec64 tp")
def sys_sched_rr_get_interval(k, t, pid, tp, *_):
    """The round-robin time slice: 100 ms for SCHED_RR, 0 for SCHED_FIFO (sched_rr_get_interval)."""
    from ..abi import NR

    if s32(pid) < 0:
        raise KernelError(E.EINVAL)
    target = pid_target(k, t, pid)
    ns = 0 if target.sched_policy[0] == SCHED_FIFO else RR_INTERVAL_NS
    fmt = "<qq" if t.regs.orig_ax == NR.sched_rr_get_interval_time64 else "<iI"
    k.put_bytes(t, tp, struct.pack(fmt, ns // 10**9, ns % 10**9))
    return 0


PER_LINUX = 0


@syscall("personality", sig="hex persona")
def sys_personality(k, t, persona, *_):
    """The execution domain (PER_LINUX and its flags, recorded per process and kept across exec);
    0xffffffff only asks. Returns the previous one."""
    old = t.signal.personality
    if persona != 0xFFFFFFFF:
        t.signal.personality = persona
    return old
