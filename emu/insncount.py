"""Exact retired-instruction counts from Unicorn's own counter.

When emu_start is given a count, Unicorn counts instructions in C (uc_struct.emu_counter) and stops at the
limit; the Python API does not expose the counter. This module finds the counter's offset inside the
uc_struct once, by calibration against known counts, and reads it after each slice. If calibration fails
(a different Unicorn build), it says so loudly instead of guessing.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_ARCH_X86, UC_HOOK_INTR, UC_MODE_32, Uc

_SCAN_BYTES = 8192
_offset_cache: int | None = None


def _calibrate() -> int:
    """Find the byte offset of emu_counter in uc_struct by running known instruction counts."""
    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    uc.mem_map(0x1000, 0x1000)
    code = b"\x40" * 10 + b"\xcd\x80" + b"\x40\x4b\xeb\xfc"  # 10 x inc; int 0x80; loop: inc; dec; jmp
    uc.mem_write(0x1000, code)
    uc.hook_add(UC_HOOK_INTR, lambda u, n, d: u.emu_stop())
    handle = uc._uch.value

    def snapshot() -> bytes:
        return ctypes.string_at(handle, _SCAN_BYTES)

    def words(buf: bytes) -> list[int]:
        return [int.from_bytes(buf[o:o + 8], "little") for o in range(0, len(buf) - 8, 8)]

    # Stopped by the hook after 11 instructions: the counter holds 11.
    uc.emu_start(0x1000, 0xFFFFFFF0, count=1000)
    a = words(snapshot())
    # Stopped by the count: the counter holds count + 1 (it counted the instruction it refused to run).
    uc.emu_start(0x100C, 0xFFFFFFF0, count=777)
    b = words(snapshot())
    uc.emu_start(0x100C, 0xFFFFFFF0, count=4321)
    c = words(snapshot())
    hits = [i * 8 for i in range(len(a)) if a[i] == 11 and b[i] == 778 and c[i] == 4322]
    if len(hits) != 1:
        raise RuntimeError("cannot locate Unicorn's instruction counter in this build of unicorn; exact "
                           "instruction counts need unicorn 2.1.x")
    return hits[0]


class InsnCounter:
    """Reads how many instructions the last emu_start(count=N) retired."""

    def __init__(self, uc: Uc) -> None:
        global _offset_cache
        if _offset_cache is None:
            _offset_cache = _calibrate()
        self.handle = uc._uch
        self._cell = ctypes.c_uint64.from_address(uc._uch.value + _offset_cache)
        self.frozen: int | None = None  # the count at a fault the native path served, while it is reported
        self.blocks = None  # the native fast path's state when its block hook counts (emu/fastpath.py)

    def running(self) -> int:
        """Instructions retired so far by the emu_start in progress (read from inside a hook)."""
        if self.frozen is not None:
            return self.frozen
        return self._cell.value if self.blocks is None else self.blocks.committed

    def executed(self, count: int) -> int:
        """Instructions retired by the last emu_start given `count` (the limit instruction is not run)."""
        return min(self._cell.value if self.blocks is None else self.blocks.committed, count)
