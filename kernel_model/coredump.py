"""Core dumps (fs/coredump.c, fs/binfmt_elf.c's elf_core_dump): an ELF32 ET_CORE file of the dying process,
named by /proc/sys/kernel/core_pattern in its working directory.

The file holds a PT_NOTE segment (NT_PRSTATUS with the signal and the registers of each thread, NT_PRPSINFO,
NT_AUXV) and one PT_LOAD per VMA. A VMA's contents are written when /proc/PID/coredump_filter asks for its kind
(bit 0 private anonymous, 1 shared anonymous, 2 private file-backed, 3 shared file-backed; the default 0x33) and
it is not MADV_DONTDUMP (only the first page of an ELF file's mapping for bit 4); otherwise the segment has no file
bytes. RLIMIT_CORE caps the size, as dump_emit does.
Pages are read without faulting anything in (untouched ones as their zero or file contents).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

from .mm import PAGE_SHIFT, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, PTE_FRAME, PTE_P, SegFault

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

ET_CORE, EM_386, PT_LOAD, PT_NOTE = 4, 3, 1, 4
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV = 1, 3, 6
PF_X, PF_W, PF_R = 1, 2, 4
DEFAULT_FILTER = 0x33
# user_regs_struct order of i386's elf_gregset_t
GREGS = ("bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs", "orig_ax", "ip", "cs", "flags", "sp",
         "ss")


def core_name(k: Kernel, task: Task, sig: int) -> str:
    """core_pattern expanded (format_corename): %p %P %i %I %u %g %s %t %e %h %%."""
    import time

    pattern = k.sysctl.get("kernel/core_pattern", "core")
    cred = k.cred(task)
    values = {"p": task.tgid, "P": task.tgid, "i": task.pid, "I": task.pid, "u": cred.uid, "g": cred.gid,
              "s": sig, "t": int(time.time()), "e": task.comm, "h": os.uname().nodename, "%": "%"}
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern):
            out.append(str(values.get(pattern[i + 1], "")))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _note(name: bytes, ntype: int, desc: bytes) -> bytes:
    name0 = name + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name0), len(desc), ntype) + pad(name0) + pad(desc)


def _prstatus(k: Kernel, t: Task, sig: int) -> bytes:
    """struct elf_prstatus (i386): siginfo, cursig, pending and held signals, pids, times, registers."""
    r = t.regs
    regs = [getattr(r, name, 0) & 0xFFFFFFFF for name in GREGS]
    leader = t.group_leader or t
    user, system = k.times_of(t)
    tv = lambda ns: struct.pack("<ii", ns // 10**9, ns % 10**9 // 1000)  # noqa: E731
    head = struct.pack("<iiihxxII", sig, 0, 0, sig, 0, t.blocked & 0xFFFFFFFF)
    ids = struct.pack("<iiii", t.pid, k.ppid_of(t), leader.signal.pgid if leader.signal else 0,
                      leader.signal.sid if leader.signal else 0)
    times = tv(user) + tv(system) + tv(0) + tv(0)
    return head + ids + times + struct.pack("<17I", *regs) + struct.pack("<i", 1)


def _prpsinfo(k: Kernel, t: Task) -> bytes:
    cred = k.cred(t)
    args = b""
    mm = t.mm
    if mm is not None and getattr(mm, "arg_end", 0) > getattr(mm, "arg_start", 0):
        try:
            args = mm.peek(mm.arg_start, min(80, mm.arg_end - mm.arg_start)).replace(b"\0", b" ").rstrip()
        except SegFault:
            args = b""
    leader = t.group_leader or t
    # pr_state is the state number (0: running), pr_sname its letter
    return struct.pack("<bcbbIHHiiii16s80s", 0, b"R", 0, 0, 0, cred.uid & 0xFFFF, cred.gid & 0xFFFF,
                       t.tgid, k.ppid_of(t), leader.signal.pgid if leader.signal else 0,
                       leader.signal.sid if leader.signal else 0, t.comm.encode()[:16], args[:80])


def _dump_size(mm, v, filt: int) -> int:
    """vma_dump_size: how much of the VMA goes into the core. A private file mapping with private copies of
    file pages (Linux: an anon_vma) counts as private anonymous memory; otherwise an ELF file's first page is
    kept for MMF_DUMP_ELF_HEADERS."""
    if v.dontdump or not v.prot & PROT_READ:
        return 0
    whole = v.end - v.start
    file_backed = v.data is not None or (v.obj is not None and hasattr(v.obj, "key"))
    if v.shared:
        return whole if filt & (8 if file_backed else 2) else 0
    if not file_backed or _has_private_copies(mm, v):
        return whole if filt & 1 else 0
    if filt & 4:
        return whole
    if filt & 16 and v.pgoff == 0:
        try:
            if mm.peek(v.start, 4) == b"\x7fELF":
                return PAGE_SIZE
        except SegFault:
            pass
    return 0


def _has_private_copies(mm, v) -> bool:
    """Does a private file mapping map a page that is not the page cache's (a COW copy, a zero-filled bss page)."""
    if v.obj is None:
        return v.prot & PROT_WRITE != 0  # an ELF segment copied into the mapping
    pages = v.obj.pages
    for addr in range(v.start, v.end, PAGE_SIZE):
        pte = mm.pte(addr)
        if pte & PTE_P and pages.get(v.page_index(addr)) != (pte & PTE_FRAME) >> PAGE_SHIFT:
            return True
    return False


def write_core(k: Kernel, task: Task, sig: int, host_path: str, limit: int) -> bool:
    """Write the core file; False when it could not be created."""
    mm = task.mm
    filt = getattr(mm, "coredump_filter", DEFAULT_FILTER) if mm is not None else DEFAULT_FILTER
    threads = [th for th in (task.signal.threads if task.signal else [task])] or [task]
    notes = b"".join(_note(b"CORE", NT_PRSTATUS, _prstatus(k, th, sig)) for th in threads)
    notes += _note(b"CORE", NT_PRPSINFO, _prpsinfo(k, task))
    if mm is not None and getattr(mm, "saved_auxv", None):
        notes += _note(b"CORE", NT_AUXV, mm.saved_auxv)
    vmas = list(mm.vmas) if mm is not None else []
    phnum = 1 + len(vmas)
    off = 52 + 32 * phnum
    note_off = off
    off += len(notes)
    data_off = (off + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    phdrs = [struct.pack("<8I", PT_NOTE, note_off, 0, 0, len(notes), 0, 0, 0)]
    chunks = []
    pos = data_off
    for v in vmas:
        size = _dump_size(mm, v, filt)
        flags = (PF_R if v.prot & PROT_READ else 0) | (PF_W if v.prot & PROT_WRITE else 0) | (
            PF_X if v.prot & PROT_EXEC else 0)
        phdrs.append(struct.pack("<8I", PT_LOAD, pos if size else 0, v.start, 0, size, v.end - v.start, flags,
                                 PAGE_SIZE))
        if size:
            chunks.append((pos, v.start, size))
            pos += size
    ehdr = (b"\x7fELF" + bytes((1, 1, 1, 0)) + bytes(8) +
            struct.pack("<HHIIIIIHHHHHH", ET_CORE, EM_386, 1, 0, 52, 0, 0, 52, 32, phnum, 0, 0, 0))
    try:
        fd = os.open(host_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            head = ehdr + b"".join(phdrs) + notes
            f.write(head[:limit])
            written = len(head)
            for file_pos, addr, size in chunks:
                if file_pos >= limit:
                    break
                f.seek(file_pos)
                for a in range(addr, addr + size, PAGE_SIZE):
                    if file_pos + (a - addr) >= limit:
                        break
                    try:
                        page = mm.peek(a, PAGE_SIZE)
                    except SegFault:
                        page = bytes(PAGE_SIZE)
                    f.write(page[:max(0, limit - file_pos - (a - addr))])
                written = file_pos + size
            if written < limit:
                f.truncate(min(pos, limit))
    except OSError:
        return False
    from .cred import own_new_file

    own_new_file(k.cred(task), host_path)
    return True
