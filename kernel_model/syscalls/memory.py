"""Memory: brk, mmap, munmap, mprotect, madvise, mremap (mm/mmap.c, mm/mprotect.c, mm/madvise.c,
mm/mremap.c; the mechanisms are in kernel_model.mm)."""

from __future__ import annotations

import os
import struct

from ..abi import E
from ..files import KernelError
from ..mm import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, MMAP_MIN_ADDR,
    PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE, OutOfMemory, page_up,
)
from .table import syscall
from .common import s32


MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2


MADV_DONTNEED, MADV_FREE = 4, 8


@syscall("brk", sig="ptr addr", cls="memory", ret="hex")
def sys_brk(k, t, brk, *_):
    """Move the program break; return the new break, or the old one on failure (sys_brk)."""
    mm = t.mm
    if brk < mm.start_brk:
        return mm.brk
    new_end, old_end = page_up(brk), page_up(mm.brk)
    if new_end < old_end:
        mm.unmap(new_end, old_end)
    elif new_end > old_end:
        if new_end > mm.mmap_base or not mm.range_is_free(old_end, new_end):
            return mm.brk
        heap = mm.find_vma(old_end - 1) if old_end > mm.start_brk else None
        if heap is not None and heap.name == "[heap]":
            heap.end = new_end
        else:
            mm.map_region(old_end, new_end, PROT_READ | PROT_WRITE, name="[heap]")
    mm.brk = brk
    return brk


def do_mmap(k, t, addr, length, prot, flags, fd, offset) -> int:
    """mmap: anonymous private or shared memory, or a private copy of a file (do_mmap)."""
    mm = t.mm
    if length == 0 or offset & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    length = page_up(length)
    if length == 0 or length > TASK_SIZE:
        raise KernelError(E.ENOMEM)
    kind = flags & 3
    if kind not in (MAP_SHARED, MAP_PRIVATE, 3):
        raise KernelError(E.EINVAL)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1):
            raise KernelError(E.EINVAL)
        if addr < MMAP_MIN_ADDR or addr + length > TASK_SIZE:
            raise KernelError(E.EPERM if addr < MMAP_MIN_ADDR else E.ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and not mm.range_is_free(addr, addr + length):
            raise KernelError(E.EEXIST)
        start = addr
    else:
        try:
            start = mm.get_unmapped_area(length, addr)
        except OutOfMemory:
            raise KernelError(E.ENOMEM) from None
    data = None
    name = ""
    if not flags & MAP_ANONYMOUS:
        f = t.files.get(fd)
        if kind == MAP_SHARED and prot & PROT_WRITE:
            raise KernelError(E.ENODEV, "writable shared file mappings are not modelled")
        if not hasattr(f, "fd"):
            raise KernelError(E.ENODEV)
        data = os.pread(f.fd, length, offset)
        name = f.name
    mm.map_region(start, start + length, prot & (PROT_READ | PROT_WRITE | PROT_EXEC), shared=kind == MAP_SHARED,
                  name=name, data=data, data_start=start, growsdown=bool(flags & MAP_GROWSDOWN))
    return start


@syscall("mmap2",
         sig="ptr addr, size length, prot prot, mmap_flags flags, fd fd, pgoff pgoffset",
         cls="desc,memory", ret="hex")
def sys_mmap2(k, t, addr, length, prot, flags, fd, pgoff):
    """mmap with the offset in pages."""
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), pgoff * PAGE_SIZE)


@syscall("mmap", sig="mmap_args args", cls="desc,memory", ret="hex")
def sys_old_mmap(k, t, argp, *_):
    """The old i386 mmap: one pointer to six arguments (old_mmap)."""
    addr, length, prot, flags, fd, off = struct.unpack("<6I", k.get_bytes(t, argp, 24))
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), off)


@syscall("munmap", sig="ptr addr, size length", cls="memory")
def sys_munmap(k, t, addr, length, *_):
    """Unmap [addr, addr+length) (__vm_munmap)."""
    if addr & (PAGE_SIZE - 1) or length == 0 or addr + length > TASK_SIZE:
        raise KernelError(E.EINVAL)
    t.mm.unmap(addr, page_up(addr + length))
    return 0


@syscall("mprotect", sig="ptr addr, size length, prot prot", cls="memory")
def sys_mprotect(k, t, addr, length, prot, *_):
    """Change protection of whole mapped pages (do_mprotect_pkey)."""
    if addr & (PAGE_SIZE - 1) or prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x03000000):
        raise KernelError(E.EINVAL)
    end = page_up(addr + length)
    if end == addr:
        return 0
    if not t.mm.is_mapped(addr, end):
        raise KernelError(E.ENOMEM)
    t.mm.protect(addr, end, prot & 7)
    return 0


@syscall("madvise", sig="ptr addr, size length, enum(madv) advice", cls="memory")
def sys_madvise(k, t, addr, length, advice, *_):
    """MADV_DONTNEED/MADV_FREE drop the pages (zero on next touch); other advice is accepted."""
    if addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    if advice in (MADV_DONTNEED, MADV_FREE):
        end = page_up(addr + length)
        if not t.mm.is_mapped(addr, end):
            raise KernelError(E.ENOMEM)
        t.mm.zap_range(addr, end)
    return 0


@syscall("mremap",
         sig="ptr old_address, size old_size, size new_size, flags(mremap) flags, mremap_addr(flags) new_address",
         cls="memory", ret="hex")
def sys_mremap(k, t, old, old_len, new_len, flags, new_addr, *_):
    """Resize a mapping: shrink or grow in place, or move it by moving its PTEs (mremap)."""
    mm = t.mm
    if old & (PAGE_SIZE - 1) or flags & ~3 or (flags & MREMAP_FIXED):
        raise KernelError(E.EINVAL)
    old_len, new_len = page_up(old_len), page_up(new_len)
    if new_len == 0:
        raise KernelError(E.EINVAL)
    vma = mm.find_vma(old)
    if vma is None or old + old_len > vma.end:
        raise KernelError(E.EFAULT)
    if new_len <= old_len:
        mm.unmap(old + new_len, old + old_len)
        return old
    if old + old_len == vma.end and mm.range_is_free(vma.end, old + new_len) and old + new_len <= mm.mmap_base:
        vma.end = old + new_len
        return old
    if not flags & MREMAP_MAYMOVE:
        raise KernelError(E.ENOMEM)
    dest = mm.get_unmapped_area(new_len)
    mm.move_range(old, old_len, dest, new_len)
    return dest
