"""TLB fills: Unicorn with the emulator's own TLB-fill hook, native (emu/_fastpath.c) and Python (emu/cpu.py).

A real Machine's CPU runs a loop that reads one word from each of N resident pages of an mm built by the kernel
model (a VMA, page tables and frames from its pool); before each round the TLB is flushed, as a context switch
does, so every page costs one fill. Nothing else runs: no syscall, no fault, no counting (emu_start without
count=). This is the floor under every guest access pattern the emulator runs: bare Unicorn plus its hooks.
"""

from __future__ import annotations

import struct
import time
from types import SimpleNamespace

PAGES = 4096
CODE = 0x10000
DATA = 0x1000000


def _loop() -> bytes:
    """mov esi, DATA; mov ecx, PAGES; 1: mov eax, [esi]; add esi, 4096; dec ecx; jnz 1b; 2: jmp 2b (the until)."""
    body = b"\x8b\x06" + b"\x81\xc6" + struct.pack("<I", 4096) + b"\x49"
    jnz = b"\x75" + bytes([(-(len(body) + 2)) & 0xFF])
    return b"\xbe" + struct.pack("<I", DATA) + b"\xb9" + struct.pack("<I", PAGES) + body + jnz + b"\xeb\xfe"


def run(fastpath: bool, target_s: float = 0.4) -> dict:
    """Fills per second of host time over rounds of PAGES fills."""
    from emu.machine import Machine
    from kernel_model.mm import MM, PROT_EXEC, PROT_READ, PROT_WRITE, FaultAcct

    m = Machine(mem=64 << 20, fastpath=fastpath)
    cpu, k = m.cpu, m.kernel
    if fastpath and cpu.fast is None:
        return {"path": "native", "error": cpu.fast_reason}
    mm = MM(k.pool)
    code = _loop()
    mm.map_region(CODE, CODE + 4096, PROT_READ | PROT_EXEC, data=code, data_start=CODE)
    mm.map_region(DATA, DATA + PAGES * 4096, PROT_READ | PROT_WRITE)
    acct = FaultAcct()
    mm.populate(CODE, CODE + 4096, False, acct)
    mm.populate(DATA, DATA + PAGES * 4096, False, acct)  # zero-filled and present: a fill is a page walk
    task = SimpleNamespace(tlb_fills=0, acct=acct)
    cpu.cur, cpu.cur_mm = task, mm
    until = CODE + len(code) - 2
    fast = cpu.fast

    def rounds(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            cpu.flush_tlb()
            if fast is not None:
                fast.set_mm(mm)
            cpu.uc.emu_start(CODE, until)
        return time.perf_counter() - t0

    probe = rounds(2)
    n = max(2, int(2 * target_s / max(probe, 1e-6)))
    cpu.sync_native()
    task.tlb_fills = 0
    dt = rounds(n)
    cpu.sync_native()
    fills = task.tlb_fills  # PAGES a round, and the code page's
    return {"path": "native" if fast is not None else "python", "pages": PAGES, "rounds": n, "fills": fills,
            "seconds": dt, "rate": fills / dt}
