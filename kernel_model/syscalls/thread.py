"""Thread support: tid address, robust list, rseq, TLS descriptors (arch/x86/kernel/tls.c) and futex
(kernel/futex/syscalls.c; the wait queues are in kernel_model.futex)."""

from __future__ import annotations

import struct

from ..abi import E
from ..files import KernelError
from ..futex import (
    FUTEX_BITSET_MATCH_ANY, FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE,
    FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET,
)
from .table import syscall
from .common import CLOCK_MONOTONIC, CLOCK_REALTIME, s32


@syscall("set_tid_address", sig="ptr tidptr")
def sys_set_tid_address(k, t, tidptr, *_):
    """Remember where to clear the tid at exit; return the tid."""
    t.clear_child_tid = tidptr
    return t.pid


@syscall("set_robust_list", sig="ptr head, size len")
def sys_set_robust_list(k, t, head, length, *_):
    """Remember the robust futex list head (len must be 12 on i386)."""
    if length != 12:
        raise KernelError(E.EINVAL)
    t.robust_list = (head, length)
    return 0


@syscall("rseq", sig="ptr rseq, hex rseq_len, int flags, hex sig")
def sys_rseq(k, t, *_):
    """Restartable sequences are not modelled: -ENOSYS, which glibc accepts silently."""
    return -E.ENOSYS


@syscall("arch_prctl", sig="enum(arch_prctl) code, ptr addr")
def sys_arch_prctl(k, t, *_):
    """arch_prctl has no i386 operations here: -EINVAL, as a 32-bit task gets."""
    return -E.EINVAL


@syscall("set_thread_area", sig="user_desc u_info", ret="tls_entry")
def sys_set_thread_area(k, t, u_info, *_):
    """Install a TLS descriptor in GDT slot 6..8; entry -1 picks a free one and writes it back."""
    info = k.get_bytes(t, u_info, 16)
    entry = struct.unpack_from("<I", info)[0]
    used = k.set_tls_desc(t, entry, info)
    if entry == 0xFFFFFFFF:
        k.put_u32(t, u_info, used)
    return 0


LDT_ENTRIES = 256  # the model's LDT holds 256 descriptors (Linux: 8192); it shares the GDT's page


@syscall("modify_ldt", sig="int func, ptr ptr, size bytecount")
def sys_modify_ldt(k, t, func, ptr, bytecount, *_):
    """The process's local descriptor table (arch/x86/kernel/ldt.c): func 0 reads it (the bytes copied),
    2 reads the default LDT (zeros), 1 and 0x11 write one struct user_desc entry (the old mode 1 clears the
    useable bit and treats base 0 / limit 0 as empty). Segment registers pick LDT entries with selector bit 2."""
    from ..kernel import user_desc_to_gdt

    mm = t.mm
    if func == 0:  # read_ldt: 0 without an LDT, else bytecount (at most 64 KiB), zero-filled past the entries
        if not mm.ldt:
            return 0
        n = min(bytecount, 8192 * 8)
        k.put_bytes(t, ptr, bytes(mm.ldt[:n]).ljust(n, b"\0"))
        return n
    if func == 2:
        n = min(bytecount, 5 * 8)
        k.put_bytes(t, ptr, bytes(n))
        return n
    if func not in (1, 0x11):
        raise KernelError(E.ENOSYS)
    if bytecount != 16:
        raise KernelError(E.EINVAL)
    info = bytearray(k.get_bytes(t, ptr, 16))
    entry, base, limit, bits = struct.unpack_from("<IIII", info)
    if entry >= LDT_ENTRIES:
        raise KernelError(E.EINVAL)
    if (bits >> 1) & 3 == 3 and (func == 1 or not (bits >> 5) & 1):
        raise KernelError(E.EINVAL)  # "contents == 3" is only allowed for a not-present entry in the new mode
    if func == 1:
        bits &= ~(1 << 6)  # oldmode: no useable bit
    if base == 0 and limit == 0 and (func == 1 or bits & 0x7F in (0x28, 0)):
        desc = bytes(8)
    else:
        struct.pack_into("<I", info, 12, bits)
        desc = user_desc_to_gdt(bytes(info))
    ldt = bytearray(mm.ldt)
    if len(ldt) < (entry + 1) * 8:
        ldt.extend(bytes((entry + 1) * 8 - len(ldt)))
    ldt[entry * 8:entry * 8 + 8] = desc
    mm.ldt = bytes(ldt)  # a new value: the CPU side loads it on the way back to user mode
    mm.tlb_gen += 1
    t.tls_dirty = True  # leave the fast return path, so the segment state is reloaded
    return 0


@syscall("get_thread_area", sig="out user_desc u_info")
def sys_get_thread_area(k, t, u_info, *_):
    """Read back a TLS descriptor as a struct user_desc."""
    entry = k.get_u32(t, u_info)
    if not 6 <= entry <= 8:
        raise KernelError(E.EINVAL)
    d = t.tls[entry - 6] or bytes(8)
    lo, hi = struct.unpack("<II", d)
    base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)
    limit = (lo & 0xFFFF) | (hi & 0xF0000)
    bits = (((hi >> 22) & 1) | (((hi >> 10) & 3) << 1) | ((((hi >> 9) & 1) ^ 1) << 3) | (((hi >> 23) & 1) << 4)
            | ((((hi >> 15) & 1) ^ 1) << 5) | (((hi >> 20) & 1) << 6))
    if d == bytes(8):
        bits = 0x28
    k.put_bytes(t, u_info, struct.pack("<IIII", entry, base, limit, bits))
    return 0


def _timeout(k, t, op, utime, time64, absolute_clock):
    if not utime:
        return None
    fmt, size = ("<qI4x", 16) if time64 else ("<iI", 8)  # tv_nsec's low 32 bits: get_timespec64 drops the padding
    sec, nsec = struct.unpack(fmt, k.get_bytes(t, utime, size))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    ns = sec * 10**9 + nsec
    if absolute_clock is not None:
        ns -= k.now_ns(absolute_clock)
    return max(0, ns)


def _futex(k, t, uaddr, op, val, utime, uaddr2, val3, time64):
    cmd = op & 0x7F
    private = bool(op & FUTEX_PRIVATE_FLAG)
    fx = k.futex
    if cmd == FUTEX_WAIT:
        to = _timeout(k, t, op, utime, time64, None)
        return (yield from fx.wait(t, uaddr, val, to, FUTEX_BITSET_MATCH_ANY, private))
    if cmd == FUTEX_WAIT_BITSET:
        clk = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
        to = _timeout(k, t, op, utime, time64, clk)
        return (yield from fx.wait(t, uaddr, val, to, val3, private))
    if cmd == FUTEX_WAKE:
        return fx.wake(t, uaddr, val, FUTEX_BITSET_MATCH_ANY, private)
    if cmd == FUTEX_WAKE_BITSET:
        return fx.wake(t, uaddr, val, val3, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if s32(val) < 0 or s32(utime) < 0:
            raise KernelError(E.EINVAL)  # futex_requeue: nr_wake and nr_requeue must not be negative
        return fx.requeue(t, uaddr, val, utime, uaddr2, val3 if cmd == FUTEX_CMP_REQUEUE else None, private)
    k.warn_once(f"futex{cmd}", f"futex operation {cmd} is not implemented (-ENOSYS)")
    raise KernelError(E.ENOSYS)


@syscall("futex",
         sig=("ptr uaddr, futex_op futex_op, int val, futex_timeout(futex_op) timeout, futex_uaddr2(futex_op) "
              "uaddr2, futex_val3(futex_op) val3"))
def sys_futex(k, t, uaddr, op, val, utime, uaddr2, val3):
    """futex with a struct old_timespec32 timeout."""
    return (yield from _futex(k, t, uaddr, op, val, utime, uaddr2, val3, False))


@syscall("futex_time64",
         sig=("ptr uaddr, futex_op futex_op, int val, futex_timeout(futex_op) timeout, futex_uaddr2(futex_op) "
              "uaddr2, futex_val3(futex_op) val3"))
def sys_futex_time64(k, t, uaddr, op, val, utime, uaddr2, val3):
    """futex with a struct __kernel_timespec timeout."""
    return (yield from _futex(k, t, uaddr, op, val, utime, uaddr2, val3, True))


FUTEX_WAITV_MAX, FUTEX2_SIZE_U32, FUTEX2_PRIVATE = 128, 2, 128


@syscall("futex_waitv", sig="ptr waiters, uint nr_futexes, uint flags, timespec64 timeout, enum(clock) clockid")
def sys_futex_waitv(k, t, waiters, nr, flags, timeout, clockid, *_):
    """Wait on up to 128 32-bit futexes at once (futex_waitv(2)): struct futex_waitv {u64 val; u64 uaddr;
    u32 flags; u32 __reserved} each; an absolute timeout on CLOCK_MONOTONIC or CLOCK_REALTIME; returns the index
    of the futex that was woken. EINVAL for bad counts, flags, sizes or clocks; EAGAIN when a value differs."""
    if flags or not 0 < nr <= FUTEX_WAITV_MAX or not waiters:
        raise KernelError(E.EINVAL)
    to = None
    if timeout:
        if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
            raise KernelError(E.EINVAL)
        to = _timeout(k, t, 0, timeout, True, clockid)
    raw = k.get_bytes(t, waiters, 24 * nr)
    futexes = []
    for i in range(nr):
        val, uaddr, fl, reserved = struct.unpack_from("<QQII", raw, 24 * i)
        if reserved or fl & ~(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE) or fl & 3 != FUTEX2_SIZE_U32:
            raise KernelError(E.EINVAL)
        if uaddr >> 32 or val >> 32:
            raise KernelError(E.EINVAL)  # a 32-bit task's address and a 32-bit futex's value
        futexes.append((uaddr, val, bool(fl & FUTEX2_PRIVATE)))
    return (yield from k.futex.waitv(t, futexes, to))
