"""The machine as the scheduler shows it: CPU affinity, the current CPU, and sysinfo (kernel/sched/core.c,
kernel/sys.c). The model has one CPU (as /proc/cpuinfo and /proc/stat say), so every task runs on CPU 0."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError
from .table import syscall
from .common import pid_target, s32

CPUMASK_SIZE = 8  # cpumask_size() of the 64-bit host kernel a compat task talks to: one unsigned long


@syscall("sched_getaffinity", sig="pid pid, size cpusetsize, out cpu_mask(ret) mask")
def sys_sched_getaffinity(k, t, pid, size, mask, *_):
    """The CPUs a task may run on: CPU 0 only; returns the bytes written (compat_sys_sched_getaffinity:
    EINVAL when the set is smaller than the CPUs or not a whole number of 32-bit words)."""
    pid_target(k, t, pid)
    if size * 8 < 1 or size & 3:
        raise KernelError(E.EINVAL)
    n = min(size, CPUMASK_SIZE)
    k.put_bytes(t, mask, (1).to_bytes(n, "little"))
    return n


@syscall("sched_setaffinity", sig="pid pid, size cpusetsize, cpu_mask(cpusetsize) mask")
def sys_sched_setaffinity(k, t, pid, size, mask, *_):
    """Accept a set that includes CPU 0 (the only one); EINVAL for a set without it (sched_setaffinity(2):
    "The affinity bit mask mask contains no processors that are currently physically on the system")."""
    pid_target(k, t, pid)
    data = k.get_bytes(t, mask, min(size, 128))
    if not data or not data[0] & 1:
        raise KernelError(E.EINVAL)
    return 0


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
    """struct sysinfo (do_sysinfo): uptime on the boot clock, load averages of 0, the frame pool as RAM (page
    cache and shared memory as shared RAM), no swap, and the number of tasks."""
    pool = k.pool
    total, free = pool.nframes, len(pool.free)
    shared = sum(len(s.obj.pages) for s in k.ipc.shm.objects.values())
    cached = sum(len(o.pages) for o in k.page_cache.objects.values())
    unit = 1 if total * 4096 < 1 << 32 else 4096  # compat: scale to pages when the byte counts overflow 32 bits
    scale = 4096 // unit
    uptime = k.now_ns(7) // 10**9  # CLOCK_BOOTTIME
    fields = struct.pack("<i3I6IHH3I", s32(uptime & 0xFFFFFFFF), 0, 0, 0, total * scale, free * scale,
                         (shared + cached) * scale, 0, 0, 0, min(len(k.tasks), 0xFFFF), 0, 0, 0, unit)
    k.put_bytes(t, info, fields.ljust(64, b"\0"))
    return 0
