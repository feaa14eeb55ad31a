"""Memory: brk, mmap, munmap, mprotect, madvise, mremap (mm/mmap.c, mm/mprotect.c, mm/madvise.c,
mm/mremap.c; the mechanisms are in kernel_model.mm)."""

from __future__ import annotations

import os
import stat
import struct

from ..abi import E
from ..cred import CAP_SYS_RAWIO
from ..files import O_ACCMODE, O_APPEND, O_RDONLY, O_WRONLY, HostFile, KernelError
from ..mm import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED,
    MMAP_MIN_ADDR, PAGE_SHIFT, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE, OutOfMemory,
    page_up,
)
from ..shmem import ShmemObject
from .common import RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, rlimit, s32
from .table import syscall

MAP_SHARED_VALIDATE, MAP_LOCKED, MAP_NORESERVE, MAP_32BIT = 0x03, 0x2000, 0x4000, 0x40
MAP_HUGETLB = 0x40000
PROT_SEM = 0x08  # accepted and meaningless on x86
MAP_DROPPABLE = 0x08  # anonymous memory the kernel may drop under pressure (Linux 6.11)
# Flags MAP_SHARED_VALIDATE accepts (LEGACY_MAP_MASK | MAP_SYNC-less): anything else is EOPNOTSUPP.
LEGACY_MAP_MASK = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | 0x0800 | 0x1000 | MAP_GROWSDOWN
                   | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | 0x10000 | 0x20000 | 0x40000 | MAP_FIXED_NOREPLACE
                   | MAP_32BIT)
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE = 8, 9, 10, 11, 12, 13
MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK = 14, 15, 16, 17, 18, 19
MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE = 20, 21, 22, 23
MADV_HWPOISON, MADV_SOFT_OFFLINE = 100, 101
MADV_GUARD_INSTALL, MADV_GUARD_REMOVE = 102, 103
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
MLOCK_ONFAULT = 1


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


def _may_expand_vm(k, t, prot: int, shared: bool, growsdown: bool, npages_bytes: int) -> None:
    """RLIMIT_AS for every mapping, RLIMIT_DATA for private writable ones (may_expand_vm): ENOMEM. The sums are
    taken only when a limit is finite (they walk every VMA)."""
    mm = t.mm
    as_limit = rlimit(t, RLIMIT_AS)[0]
    if as_limit < 1 << 32 and mm.total_vm() + npages_bytes > as_limit:
        raise KernelError(E.ENOMEM)
    data_limit = rlimit(t, RLIMIT_DATA)[0]
    if prot & PROT_WRITE and not shared and not growsdown and data_limit < 1 << 32 and \
            mm.data_vm() + npages_bytes > data_limit:
        raise KernelError(E.ENOMEM)


def _check_mlock_limit(k, t, more: int) -> None:
    """Locking more bytes than RLIMIT_MEMLOCK allows without CAP_IPC_LOCK (can_do_mlock, mlock_future_ok)."""
    limit = rlimit(t, RLIMIT_MEMLOCK)[0]
    if not k.cred(t).capable(14) and t.mm.locked_vm() + more > limit:  # CAP_IPC_LOCK
        raise KernelError(E.EAGAIN if limit else E.EPERM)


def _mapped_file(k, t, fd: int, kind: int, prot: int):
    """The open file an mmap maps, checked as do_mmap checks it: (HostFile, its memory object or None for
    /dev/zero, which maps anonymous memory)."""
    f = t.files.get(fd)  # EBADF
    if not isinstance(f, HostFile):
        if f.flags & O_ACCMODE == O_WRONLY:
            raise KernelError(E.EACCES)  # not open for reading comes before the missing mmap operation
        raise KernelError(E.ENODEV)  # pipes and the like have no mmap
    try:
        st = os.fstat(f.fd)
    except OSError as e:
        raise KernelError(e.errno or E.EBADF) from None
    acc = f.flags & O_ACCMODE
    # mmap(2): "EACCES: A file descriptor refers to a non-regular file. Or a file mapping was requested, but fd is
    # not open for reading. Or MAP_SHARED was requested and PROT_WRITE is set, but fd is not open in read/write
    # (O_RDWR) mode. Or PROT_WRITE is set, but the file is append-only."
    if acc == O_WRONLY:
        raise KernelError(E.EACCES)
    if kind != MAP_PRIVATE and prot & PROT_WRITE and (acc == O_RDONLY or f.flags & O_APPEND):
        raise KernelError(E.EACCES)
    if stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 5):
        return f, None  # /dev/zero
    if not stat.S_ISREG(st.st_mode):
        raise KernelError(E.ENODEV)  # "the underlying filesystem of the specified file does not support mapping"
    return f, k.page_cache.get_object(f.fd, acc != O_RDONLY)


def do_mmap(k, t, addr, length, prot, flags, fd, offset) -> int:
    """mmap: anonymous memory (private, or shmem when shared), or a file through the page cache, shared or
    copied on write (ksys_mmap_pgoff + do_mmap; checks in Linux's order)."""
    mm = t.mm
    mtype = flags & 0xF  # MAP_TYPE
    kind = MAP_PRIVATE if mtype == MAP_DROPPABLE else flags & 3  # the model never drops pages under pressure
    anon = bool(flags & MAP_ANONYMOUS)
    if not anon:
        t.files.get(fd)  # ksys_mmap_pgoff takes the file before anything else: EBADF first
    if flags & MAP_HUGETLB:
        # ksys_mmap_pgoff: only an anonymous mapping of a huge page size the machine has (2 MiB, 1 GiB, or 0 for
        # the default) gets as far as hugetlbfs, EINVAL otherwise; the model keeps no huge pages, so what is left
        # fails as on a host with none reserved (vm.nr_hugepages 0): ENOMEM
        raise KernelError(E.ENOMEM if anon and (flags >> 26) & 0x3F in (0, 21, 30) else E.EINVAL)
    if length == 0:
        raise KernelError(E.EINVAL)
    if offset & (PAGE_SIZE - 1) or offset < 0:
        raise KernelError(E.EINVAL)
    length = page_up(length)
    if length == 0 or length > TASK_SIZE:
        raise KernelError(E.ENOMEM)
    if (offset >> PAGE_SHIFT) + (length >> PAGE_SHIFT) > 1 << 32:
        raise KernelError(E.EOVERFLOW)
    if mm.map_count() >= k.sysctl_int("vm/max_map_count"):
        raise KernelError(E.ENOMEM)
    prot = mm.effective_prot(prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
    shared = kind != MAP_PRIVATE
    growsdown = bool(flags & MAP_GROWSDOWN)
    obj = None
    name = ""
    maywrite = True
    # the address first (get_unmapped_area: a fixed range past TASK_SIZE is ENOMEM, then misalignment EINVAL,
    # then mmap_min_addr EPERM), then the mapping type and the file (do_mmap's switch on MAP_TYPE)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr + length > TASK_SIZE:
            raise KernelError(E.ENOMEM)
        if addr & (PAGE_SIZE - 1):
            raise KernelError(E.EINVAL)
        if addr < MMAP_MIN_ADDR and not k.cred(t).capable(CAP_SYS_RAWIO):  # cap_mmap_addr
            raise KernelError(E.EPERM)
        if flags & MAP_FIXED_NOREPLACE and not mm.range_is_free(addr, addr + length):
            raise KernelError(E.EEXIST)
        start = addr
    else:
        try:
            start = mm.get_unmapped_area(length, addr)
        except OutOfMemory:
            raise KernelError(E.ENOMEM) from None
    if not anon:
        if mtype == MAP_SHARED_VALIDATE and flags & ~LEGACY_MAP_MASK:
            raise KernelError(E.EOPNOTSUPP)
        if mtype not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
            raise KernelError(E.EINVAL)
        f, obj = _mapped_file(k, t, fd, kind, prot)
        name = f.name
        maywrite = not shared or (f.flags & O_ACCMODE != O_RDONLY and not f.flags & O_APPEND)
        if obj is None:  # /dev/zero: anonymous memory, shmem when shared
            anon, offset = True, 0
    elif mtype not in (MAP_SHARED, MAP_PRIVATE, MAP_DROPPABLE) or (kind == MAP_SHARED and growsdown) or (
            mtype == MAP_DROPPABLE and (growsdown or flags & MAP_LOCKED)):
        # an anonymous mapping is shared, private or droppable (MAP_SHARED_VALIDATE is EINVAL here); a shared one
        # cannot grow down, nor a droppable one grow down or be locked
        raise KernelError(E.EINVAL)
    replaced = sum(min(v.end, start + length) - max(v.start, start) for v in mm.vmas_in(start, start + length))
    _may_expand_vm(k, t, prot, shared, growsdown, length - replaced)
    if flags & MAP_LOCKED:
        _check_mlock_limit(k, t, length)
    if anon and shared:
        obj = ShmemObject(k.pool, length)
        name = "/dev/zero (deleted)"
    vma = mm.map_region(start, start + length, prot, shared=shared, name=name, growsdown=growsdown,
                        obj=obj, pgoff=offset >> PAGE_SHIFT)
    vma.maywrite = maywrite
    if flags & MAP_LOCKED:
        vma.locked = True
    mm.merge_around(start, start + length)
    if flags & MAP_POPULATE or vma.locked:
        mm.populate(start, start + length, bool(prot & PROT_WRITE), t.acct)
    return start


@syscall("mmap2",
         sig="ptr addr, size length, prot prot, mmap_flags flags, fd fd, pgoff pgoffset",
         cls="desc,memory", ret="hex")
def sys_mmap2(k, t, addr, length, prot, flags, fd, pgoff):
    """mmap with the offset in pages."""
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), pgoff * PAGE_SIZE)


@syscall("mmap", sig="mmap_args args", cls="desc,memory", ret="hex")
def sys_old_mmap(k, t, argp, *_):
    """The old i386 mmap: one pointer to six arguments; the offset must be page-aligned (old_mmap)."""
    addr, length, prot, flags, fd, off = struct.unpack("<6I", k.get_bytes(t, argp, 24))
    if off & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), off)


def _range(addr: int, length: int) -> tuple[int, int]:
    """[start, end) of a page-aligned user range, EINVAL when unaligned or wrapping (as madvise/mlock/msync)."""
    if addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    end = page_up(addr + length)
    if end < addr or end > 1 << 32:
        raise KernelError(E.EINVAL if addr + length >= 1 << 32 else E.ENOMEM)
    return addr, end


@syscall("munmap", sig="ptr addr, size length", cls="memory")
def sys_munmap(k, t, addr, length, *_):
    """Unmap [addr, addr+length) (__vm_munmap); cutting a hole needs a VMA more, within vm.max_map_count."""
    if addr & (PAGE_SIZE - 1) or addr > TASK_SIZE or length > TASK_SIZE - addr:
        raise KernelError(E.EINVAL)
    length = page_up(length)
    if length == 0:
        raise KernelError(E.EINVAL)
    mm = t.mm
    if mm.split_count(addr, addr + length) == 2 and mm.map_count() >= k.sysctl_int("vm/max_map_count"):
        raise KernelError(E.ENOMEM)
    mm.unmap(addr, addr + length)
    return 0


@syscall("mprotect", sig="ptr addr, size length, prot prot", cls="memory")
def sys_mprotect(k, t, addr, length, prot, *_):
    """Change protection of whole mapped pages (do_mprotect_pkey): EACCES for PROT_WRITE on a shared mapping
    of a file opened read-only, ENOMEM for a hole in the range."""
    # do_mprotect_pkey's order: both grow flags, alignment, an empty range (0), overflow, then the protection bits
    if prot & 0x03000000 == 0x03000000:  # PROT_GROWSDOWN | PROT_GROWSUP together
        raise KernelError(E.EINVAL)
    if addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    end = page_up(addr + length)
    if end <= addr:
        raise KernelError(E.ENOMEM)
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | 0x03000000):
        raise KernelError(E.EINVAL)  # arch_validate_prot
    mm = t.mm
    if not mm.is_mapped(addr, end):
        raise KernelError(E.ENOMEM)
    prot = mm.effective_prot(prot & 7)
    if prot & PROT_WRITE and any(not v.maywrite for v in mm.vmas if v.start < end and v.end > addr):
        raise KernelError(E.EACCES)  # a shared mapping of a file not opened for writing (VM_MAYWRITE)
    if mm.map_count() + mm.split_count(addr, end) > k.sysctl_int("vm/max_map_count"):
        raise KernelError(E.ENOMEM)
    mm.protect(addr, end, prot)
    mm.merge_around(addr, end)
    return 0


@syscall("madvise", sig="ptr addr, size length, enum(madv) advice", cls="memory")
def sys_madvise(k, t, addr, length, advice, *_):
    """Advice on a range (madvise_behavior): DONTNEED/FREE drop the pages (private ones read as zeros again,
    shared ones stay in their object), REMOVE frees shmem pages, DONTFORK/DOFORK/WIPEONFORK/KEEPONFORK set what
    fork does, POPULATE_* fault in; the rest is accepted. ENOMEM when part of the range is unmapped (after
    applying the advice to the mapped part), EINVAL for unknown advice or one the VMA cannot take."""
    known = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_REMOVE,
             MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
             MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
             MADV_HWPOISON, MADV_SOFT_OFFLINE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE}
    if advice not in known or advice in (MADV_MERGEABLE, MADV_UNMERGEABLE):
        raise KernelError(E.EINVAL)  # KSM is not built into the model
    if advice in (MADV_HWPOISON, MADV_SOFT_OFFLINE):
        raise KernelError(E.EPERM if not k.cred(t).capable(14) else E.EINVAL)
    if addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    end = page_up(addr + length)
    if end < addr:
        raise KernelError(E.EINVAL)
    if end == addr:
        return 0
    mm = t.mm
    vmas = [v for v in mm.vmas if v.start < end and v.end > addr]
    for v in vmas:
        if advice == MADV_DONTNEED and v.locked:
            raise KernelError(E.EINVAL)
        if advice in (MADV_WIPEONFORK, MADV_FREE) and (v.shared or v.obj is not None or v.data is not None):
            raise KernelError(E.EINVAL)  # private anonymous memory only
        if advice == MADV_REMOVE:  # madvise_remove's checks, in its order
            if v.locked:
                raise KernelError(E.EINVAL)
            if not (v.shared and v.prot & PROT_WRITE):
                raise KernelError(E.EACCES)
            if v.obj is None:
                raise KernelError(E.EOPNOTSUPP)
    if advice in (MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_COLD, MADV_PAGEOUT):
        for v in vmas:
            lo, hi = max(v.start, addr), min(v.end, end)
            if advice in (MADV_DONTNEED, MADV_FREE, MADV_REMOVE):
                mm.zap_range(lo, hi)
            if advice == MADV_REMOVE and v.obj is not None:
                v.obj.punch_hole(v.page_index(lo), v.page_index(hi - 1))
    elif advice in (MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP):
        mm._split(max(addr, vmas[0].start) if vmas else addr)
        mm._split(end)
        for v in mm.vmas:
            if v.start >= addr and v.end <= end:
                if advice in (MADV_DONTFORK, MADV_DOFORK):
                    v.dontfork = advice == MADV_DONTFORK
                elif advice in (MADV_DONTDUMP, MADV_DODUMP):
                    v.dontdump = advice == MADV_DONTDUMP
                else:
                    v.wipeonfork = advice == MADV_WIPEONFORK
        mm.merge_around(addr, end)
    elif advice in (MADV_GUARD_INSTALL, MADV_GUARD_REMOVE):
        # Guard regions (Linux 6.13): installing drops the pages and makes every access SIGSEGV until removed;
        # not on locked mappings (madvise_guard_install's VM_LOCKED check)
        if advice == MADV_GUARD_INSTALL and any(v.locked for v in vmas):
            raise KernelError(E.EINVAL)
        for v in vmas:
            lo, hi = max(v.start, addr), min(v.end, end)
            if advice == MADV_GUARD_INSTALL:
                mm.zap_range(lo, hi)
                mm.guards.update(range(lo, hi, PAGE_SIZE))
                mm.guards_changed()
            else:
                mm.guards.difference_update(range(lo, hi, PAGE_SIZE))
                mm.guards_changed()
        mm.flush_tlb()
    elif advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        for v in vmas:
            if v.prot == 0 or (advice == MADV_POPULATE_WRITE and not v.prot & PROT_WRITE):
                raise KernelError(E.EFAULT if v.prot else E.ENOMEM)
        mm.populate(addr, end, advice == MADV_POPULATE_WRITE, t.acct)
    if not mm.is_mapped(addr, end):
        raise KernelError(E.ENOMEM)
    return 0


@syscall("mremap",
         sig="ptr old_address, size old_size, size new_size, flags(mremap) flags, mremap_addr(flags) new_address",
         cls="memory", ret="hex")
def sys_mremap(k, t, old, old_len, new_len, flags, new_addr, *_):
    """Resize and/or move a mapping by moving its PTEs, never copying pages (mremap): shrink in place, grow in
    place when the space after it is free, else move with MREMAP_MAYMOVE; MREMAP_FIXED moves to new_address
    (unmapping what was there), MREMAP_DONTUNMAP leaves the old range mapped but empty."""
    mm = t.mm
    # check_mremap_params, in its order, all before the old mapping is looked up (EFAULT)
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    old_len, new_len = page_up(old_len), page_up(new_len)
    if new_len == 0:
        raise KernelError(E.EINVAL)
    fixed_addr = new_addr if flags & MREMAP_FIXED else 0
    if new_len > TASK_SIZE or fixed_addr > TASK_SIZE - new_len:
        raise KernelError(E.EINVAL)
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        if flags & MREMAP_FIXED and new_addr & (PAGE_SIZE - 1):
            raise KernelError(E.EINVAL)
        if not flags & MREMAP_MAYMOVE:
            raise KernelError(E.EINVAL)
        if flags & MREMAP_DONTUNMAP and old_len != new_len:
            raise KernelError(E.EINVAL)
        if flags & MREMAP_FIXED and new_addr < old + max(old_len, 1) and old < new_addr + new_len:
            raise KernelError(E.EINVAL)  # the ranges overlap
    vma = mm.find_vma(old)
    if vma is None:
        raise KernelError(E.EFAULT)
    if old_len == 0:  # a second mapping of the same shared pages (old_len 0 needs a shared mapping)
        if not vma.shared or not flags & MREMAP_MAYMOVE:
            raise KernelError(E.EINVAL)
    elif old + old_len > vma.end:
        raise KernelError(E.EFAULT)
    if flags & MREMAP_DONTUNMAP and (vma.shared or vma.obj is not None):
        raise KernelError(E.EINVAL)
    if vma.locked and new_len > old_len:
        _check_mlock_limit(k, t, new_len - old_len)
    if flags & MREMAP_FIXED:
        if new_addr & (PAGE_SIZE - 1) or new_addr + new_len > TASK_SIZE:
            raise KernelError(E.EINVAL)
        if new_addr < old + max(old_len, 1) and old < new_addr + new_len:
            raise KernelError(E.EINVAL)  # the ranges overlap
        mm.unmap(new_addr, new_addr + new_len)
        return _move(mm, vma, old, old_len, new_addr, new_len, flags)
    if old_len and new_len <= old_len:
        mm.unmap(old + new_len, old + old_len)
        return old
    if old_len and old + old_len == vma.end and mm.range_is_free(vma.end, old + new_len) and \
            old + new_len <= TASK_SIZE:
        _may_expand_vm(k, t, vma.prot, vma.shared, vma.growsdown, new_len - old_len)
        vma.end = old + new_len
        mm.merge_around(old, old + new_len)
        return old
    if not flags & MREMAP_MAYMOVE:
        raise KernelError(E.ENOMEM)
    try:
        dest = mm.get_unmapped_area(new_len)
    except OutOfMemory:
        raise KernelError(E.ENOMEM) from None
    return _move(mm, vma, old, old_len, dest, new_len, flags)


def _move(mm, vma, old, old_len, dest, new_len, flags) -> int:
    """move_vma: the VMA and its PTEs go to dest; old_len 0 makes a second mapping of a shared object."""
    if old_len == 0:
        v = vma.copy(start=dest, end=dest + new_len, pgoff=vma.page_index(old))
        mm._insert_vma(v)
        return dest
    keep = vma.copy(start=old, end=old + old_len, pgoff=vma.page_index(old)) if flags & MREMAP_DONTUNMAP else None
    mm.move_range(old, old_len, dest, new_len)
    if keep is not None:  # the old range stays mapped, empty (it faults in zeros)
        mm._insert_vma(keep)
    mm.merge_around(dest, dest + new_len)
    return dest


@syscall("msync", sig="ptr addr, size length, flags(msync) flags", cls="memory")
def sys_msync(k, t, addr, length, flags, *_):
    """Write the shared file pages of a range back to their files (msync); ENOMEM for a hole in the range,
    EBUSY for MS_INVALIDATE on locked pages."""
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    if flags & MS_ASYNC and flags & MS_SYNC:
        raise KernelError(E.EINVAL)
    end = page_up(addr + length)
    if end < addr:
        raise KernelError(E.ENOMEM)
    mm = t.mm
    hole = not mm.is_mapped(addr, end)
    for v in mm.vmas:
        if v.start < end and v.end > addr:
            if flags & MS_INVALIDATE and v.locked:
                raise KernelError(E.EBUSY)
            if v.shared and getattr(v.obj, "kind", "") == "file":
                v.obj.writeback(v.page_index(max(v.start, addr)), v.page_index(min(v.end, end) - 1))
    if hole and end > addr:
        raise KernelError(E.ENOMEM)
    return 0


def _set_locked(k, t, addr: int, end: int, locked: bool, populate: bool) -> None:
    mm = t.mm
    if not mm.is_mapped(addr, end):
        raise KernelError(E.ENOMEM)
    if locked:
        more = sum(min(v.end, end) - max(v.start, addr) for v in mm.vmas
                   if v.start < end and v.end > addr and not v.locked)
        _check_mlock_limit(k, t, more)
    mm._split(addr)
    mm._split(end)
    for v in mm.vmas:
        if v.start >= addr and v.end <= end:
            v.locked = locked
    mm.merge_around(addr, end)
    if locked and populate:
        mm.populate(addr, end, True, t.acct)


@syscall("mlock", sig="ptr addr, size len", cls="memory")
def sys_mlock(k, t, addr, length, *_):
    """Lock pages in memory (do_mlock): every page is faulted in now and counted in RLIMIT_MEMLOCK."""
    start = addr & ~(PAGE_SIZE - 1)
    _set_locked(k, t, start, page_up(addr + length), True, True)
    return 0


@syscall("mlock2", sig="ptr addr, size len, flags(mlock2) flags", cls="memory")
def sys_mlock2(k, t, addr, length, flags, *_):
    """mlock with MLOCK_ONFAULT (lock pages as they are faulted in, not now)."""
    if flags & ~MLOCK_ONFAULT:
        raise KernelError(E.EINVAL)
    start = addr & ~(PAGE_SIZE - 1)
    _set_locked(k, t, start, page_up(addr + length), True, not flags & MLOCK_ONFAULT)
    return 0


@syscall("munlock", sig="ptr addr, size len", cls="memory")
def sys_munlock(k, t, addr, length, *_):
    """Unlock pages (the range must be mapped)."""
    start = addr & ~(PAGE_SIZE - 1)
    _set_locked(k, t, start, page_up(addr + length), False, False)
    return 0


@syscall("mlockall", sig="flags(mlockall) flags", cls="memory")
def sys_mlockall(k, t, flags, *_):
    """Lock every current (MCL_CURRENT) and/or future (MCL_FUTURE) mapping; MCL_ONFAULT needs one of them."""
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise KernelError(E.EINVAL)
    mm = t.mm
    if flags & MCL_CURRENT:
        _check_mlock_limit(k, t, mm.total_vm() - mm.locked_vm())
        for v in mm.vmas:
            v.locked = True
        if not flags & MCL_ONFAULT:
            for v in list(mm.vmas):
                mm.populate(v.start, v.end, False, t.acct)
    mm.def_flags_locked = bool(flags & MCL_FUTURE)
    mm.merge_around(0, TASK_SIZE)
    return 0


@syscall("munlockall", sig="", cls="memory")
def sys_munlockall(k, t, *_):
    """Unlock everything and stop locking new mappings."""
    for v in t.mm.vmas:
        v.locked = False
    t.mm.def_flags_locked = False
    t.mm.merge_around(0, TASK_SIZE)
    return 0


@syscall("mincore", sig="ptr addr, size length, out mincore_vec(length) vec", cls="memory")
def sys_mincore(k, t, addr, length, vec, *_):
    """One byte per page, bit 0 set when the page is in memory: mapped, or resident in the mapping's page cache
    or shmem object (mincore). EINVAL for an unaligned addr, ENOMEM for a hole, EFAULT for a bad vector."""
    if addr & (PAGE_SIZE - 1):
        raise KernelError(E.EINVAL)
    end = page_up(addr + length)
    if end < addr or end > TASK_SIZE:
        raise KernelError(E.ENOMEM)
    mm = t.mm
    # one VMA (at most a page of vector) at a time, each part stored before the next is looked at: a hole is
    # ENOMEM and a bad vector EFAULT, whichever the walk meets first (sys_mincore's loop over do_mincore)
    while addr < end:
        v = mm.find_vma(addr)
        if v is None:
            raise KernelError(E.ENOMEM)
        stop = min(end, v.end, addr + PAGE_SIZE * PAGE_SIZE)
        k.put_bytes(t, vec, bytes(int(mm.resident(a)) for a in range(addr, stop, PAGE_SIZE)))
        vec += (stop - addr) // PAGE_SIZE
        addr = stop
    return 0
