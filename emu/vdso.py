"""The model's vDSO: a small ELF image in the page at VDSO_VADDR, named by AT_SYSINFO_EHDR, as Linux gives an i386
process. It exports what the 32-bit vDSO's linker script names for entering and leaving the kernel:
__kernel_vsyscall (`int $0x80; ret`; Linux's uses sysenter or syscall where the CPU has them),
__kernel_sigreturn and __kernel_rt_sigreturn (the signal-return trampolines). It has no __vdso_clock_gettime and
friends, so glibc makes those calls syscalls. glibc finds __kernel_vsyscall through this image (its static
startup does not take AT_SYSINFO alone) and enters the kernel through it, so the cost model can tell glibc's way
in (Linux's fast entry) from an int $0x80 of the program's own.

The image: an ELF header, a PT_LOAD of the page and a PT_DYNAMIC, the dynamic section (DT_HASH, DT_STRTAB,
DT_SYMTAB, DT_STRSZ, DT_SYMENT), a SysV hash table, the symbols (unversioned: glibc accepts an unversioned
definition for its versioned lookups) and the code. Addresses are relative to the image's start, as in a
shared object linked at 0.
"""

from __future__ import annotations

import struct

from kernel_model.signal import RETCODE_RT, RETCODE_SIGRETURN

SIGRETURN_OFF, RT_SIGRETURN_OFF, VSYSCALL_OFF = 0x200, 0x210, 0x220
_DYN_OFF, _HASH_OFF, _SYM_OFF, _STR_OFF = 0x100, 0x140, 0x180, 0x1C0
_SYMBOLS = (("__kernel_vsyscall", VSYSCALL_OFF, 3), ("__kernel_sigreturn", SIGRETURN_OFF, len(RETCODE_SIGRETURN)),
            ("__kernel_rt_sigreturn", RT_SIGRETURN_OFF, len(RETCODE_RT)))
DT_NULL, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 4, 5, 6, 10, 11
PT_LOAD, PT_DYNAMIC = 1, 2


def image() -> bytes:
    """The vDSO page's bytes (4 KiB)."""
    page = bytearray(4096)
    ehdr = struct.pack("<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 3, 3, 1, VSYSCALL_OFF, 52, 0, 0,
                       52, 32, 2, 40, 0, 0)  # ET_DYN, EM_386, no section headers
    page[:52] = ehdr
    dyn = [(DT_HASH, _HASH_OFF), (DT_STRTAB, _STR_OFF), (DT_SYMTAB, _SYM_OFF), (DT_STRSZ, 0), (DT_SYMENT, 16),
           (DT_NULL, 0)]
    names = b"\0"
    syms = [bytes(16)]
    for name, off, size in _SYMBOLS:
        syms.append(struct.pack("<IIIBBH", len(names), off, size, 0x12, 0, 1))  # STB_GLOBAL STT_FUNC, in a section
        names += name.encode() + b"\0"
    dyn[3] = (DT_STRSZ, len(names))
    dyn_bytes = b"".join(struct.pack("<iI", t, v) for t, v in dyn)
    page[52:116] = struct.pack("<8I", PT_LOAD, 0, 0, 0, 4096, 4096, 5, 4096) + struct.pack(
        "<8I", PT_DYNAMIC, _DYN_OFF, _DYN_OFF, _DYN_OFF, len(dyn_bytes), len(dyn_bytes), 4, 4)
    page[_DYN_OFF:_DYN_OFF + len(dyn_bytes)] = dyn_bytes
    n = len(syms)  # one bucket: bucket[0] = the last symbol, each chain entry the one before it
    hash_words = [1, n, n - 1] + [max(i - 1, 0) for i in range(n)]
    page[_HASH_OFF:_HASH_OFF + 4 * len(hash_words)] = struct.pack(f"<{len(hash_words)}I", *hash_words)
    page[_SYM_OFF:_SYM_OFF + 16 * n] = b"".join(syms)
    page[_STR_OFF:_STR_OFF + len(names)] = names
    page[SIGRETURN_OFF:SIGRETURN_OFF + len(RETCODE_SIGRETURN)] = RETCODE_SIGRETURN
    page[RT_SIGRETURN_OFF:RT_SIGRETURN_OFF + len(RETCODE_RT)] = RETCODE_RT
    page[VSYSCALL_OFF:VSYSCALL_OFF + 3] = b"\xcd\x80\xc3"
    assert _SYM_OFF + 16 * n <= _STR_OFF and _STR_OFF + len(names) <= SIGRETURN_OFF
    return bytes(page)
