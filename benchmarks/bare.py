"""Bare Unicorn: the compute kernel's machine code (guests/build/compute_kernel.bin, the .text of
guests/compute_kernel.S, the same bytes linked into the compute guest) run by Unicorn with no hook at all,
then again with count= slices of 100,000 instructions (what the emulator does to count exactly).

Memory is plain uc.mem_map (Unicorn's own soft-MMU page table, no TLB-fill hook); the kernel is called like a
cdecl function with a return address that is the emu_start `until` address. It retires exactly
17 + 15 * iters instructions; the sliced run checks that with Unicorn's own counter (emu.insncount).
"""

from __future__ import annotations

import struct
import time

from .runners import BUILD_DIR

CODE = 0x10000
RET = CODE + 0xFF0  # the return address: emu_start stops here
ARR = 0x100000  # 64 KiB array
STACK = 0x200000
SLICE = 100_000


def kernel_insns(iters: int) -> int:
    """Instructions compute_kernel retires for iters > 0 (see compute_kernel.S)."""
    return 17 + 15 * iters


def _machine(iters: int):
    from unicorn import UC_ARCH_X86, UC_MODE_32, Uc
    from unicorn import x86_const as X

    code = (BUILD_DIR / "compute_kernel.bin").read_bytes()
    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    uc.mem_map(CODE, 0x1000)
    uc.mem_map(ARR, 0x10000)
    uc.mem_map(STACK - 0x1000, 0x1000)
    uc.mem_write(CODE, code)
    uc.mem_write(ARR, b"\x01" * 0x10000)  # as the guest's memset
    sp = STACK - 16
    uc.mem_write(sp, struct.pack("<III", RET, iters, ARR))
    uc.reg_write(X.UC_X86_REG_ESP, sp)
    return uc


def run_plain(iters: int) -> dict:
    """emu_start without count or hooks; seconds of that call."""
    from unicorn import x86_const as X

    uc = _machine(iters)
    t0 = time.perf_counter()
    uc.emu_start(CODE, RET)
    dt = time.perf_counter() - t0
    if uc.reg_read(X.UC_X86_REG_EIP) != RET:
        raise RuntimeError("bare Unicorn run did not return")
    n = kernel_insns(iters)
    return {"iters": iters, "insns": n, "seconds": dt, "mips": n / dt / 1e6,
            "checksum": uc.reg_read(X.UC_X86_REG_EAX)}


def run_sliced(iters: int, slice_: int = SLICE) -> dict:
    """emu_start(count=slice_) repeatedly, resuming at EIP, summing Unicorn's exact retired count."""
    from unicorn import x86_const as X

    from emu.insncount import InsnCounter

    uc = _machine(iters)
    counter = InsnCounter(uc)
    total = 0
    slices = 0
    pc = CODE
    t0 = time.perf_counter()
    while pc != RET:
        uc.emu_start(pc, RET, count=slice_)
        total += counter.executed(slice_)
        slices += 1
        pc = uc.reg_read(X.UC_X86_REG_EIP)
    dt = time.perf_counter() - t0
    n = kernel_insns(iters)
    return {"iters": iters, "insns": n, "counted": total, "slices": slices, "seconds": dt,
            "mips": n / dt / 1e6, "checksum": uc.reg_read(X.UC_X86_REG_EAX)}


def scaled(fn, target_s: float = 0.4, first: int = 200_000) -> dict:
    """Run fn(iters) once small, then with iters scaled for a ~target_s run."""
    probe = fn(first)
    iters = max(first, int(first * target_s / max(probe["seconds"], 1e-6)))
    return fn(iters) if iters > 1.5 * first else probe
