"""Physical frames, i386 two-level page tables, VMAs and the page-fault paths (mm/memory.c, mm/mmap.c).

Physical memory is one numpy array; frames are its 4 KiB rows. Page directories and page tables live in
frames too, as on the hardware, and every walk goes through `MM.walk` (xv6's walkpgdir). PTE bits are
defined once here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1) & 0xFFFFFFFF
PTRS_PER_TABLE = 1024

# i386 PTE bits (arch/x86/include/asm/pgtable_types.h) and one software bit for copy-on-write.
PTE_P = 0x001  # present
PTE_W = 0x002  # writable
PTE_U = 0x004  # user
PTE_A = 0x020  # accessed
PTE_D = 0x040  # dirty
PTE_COW = 0x200  # software bit 9 (_PAGE_BIT_SOFTW1): private page shared after fork
# Software bit 10 (_PAGE_BIT_SOFTW2): the page must not be executed. Two-level i386 page tables have no NX bit,
# but an i386 process on a 64-bit kernel (the oracle) runs on PAE/long-mode tables that have one, so the model
# keeps it here and the CPU side refuses instruction fetches from such pages.
PTE_NX = 0x400
PTE_FRAME = 0xFFFFF000

TASK_SIZE = 0xC0000000  # the i386 3G/1G split: user space is 0..0xBFFFFFFF
STACK_TOP = TASK_SIZE
STACK_RLIMIT = 8 << 20  # RLIMIT_STACK default
MMAP_BASE = TASK_SIZE - (128 << 20)  # mmap_base(): TASK_SIZE - max(rlimit stack, 128 MiB) gap, no randomisation
MMAP_MIN_ADDR = 0x10000  # vm.mmap_min_addr default
USER_CHUNK = 1 << 20  # the most bytes one step of a kernel copy to or from user memory holds (read, write, ...)
MAX_MAP_COUNT = 65530  # vm.max_map_count default (DEFAULT_MAX_MAP_COUNT)
STACK_GUARD_GAP = 256 * 4096  # stack_guard_gap default: free space kept below a growing stack

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_GROWSDOWN, MAP_DENYWRITE, MAP_NORESERVE, MAP_POPULATE = 0x100, 0x800, 0x4000, 0x8000
MAP_STACK, MAP_FIXED_NOREPLACE = 0x20000, 0x100000

# Fault kinds reported to the caller (and counted per task): zero_fill (a new zeroed frame, private or shmem),
# file_fill (a page read from a file into the page cache, or an ELF segment's bytes), cow_copy / cow_reuse (a write
# to a page shared after fork), wp_shared (first write to a page of a shared mapping), minor (a present page made
# accessible again), shared (a resident page of a memory object mapped: page-cache hit or shmem page), file_cow (a
# write to a private file mapping copies the page-cache page).
FAULT_ZERO, FAULT_FILE, FAULT_COW_COPY, FAULT_COW_REUSE, FAULT_WP_SHARED, FAULT_MINOR, FAULT_SHARED, \
    FAULT_FILE_COW = range(8)
FAULT_NAMES = ("zero_fill", "file_fill", "cow_copy", "cow_reuse", "wp_shared", "minor", "shared", "file_cow")

ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH = 0, 1, 2


class OutOfMemory(Exception):
    """The frame pool is exhausted (the OOM path kills the faulting task)."""


class StringTooLong(Exception):
    """A user string without its NUL within the allowed length (ENAMETOOLONG / E2BIG)."""


class SegFault(Exception):
    """A user access the VMAs do not allow; carries the address and why (SEGV_MAPERR or SEGV_ACCERR)."""

    def __init__(self, addr: int, maperr: bool) -> None:
        super().__init__(f"{'unmapped' if maperr else 'protection'} fault at {addr:#010x}")
        self.addr = addr
        self.maperr = maperr


class BusError(SegFault):
    """An access to a page of a mapping that lies wholly past the end of its object (SIGBUS, BUS_ADRERR); a
    kernel copy that meets one fails with EFAULT, as for any bad user address."""

    def __init__(self, addr: int) -> None:
        super().__init__(addr, False)
        self.args = (f"access past the end of the mapped object at {addr:#010x}",)


def _page_chunks(vaddr: int, length: int):
    """(address, offset in page, byte count) for each page piece of [vaddr, vaddr + length)."""
    addr, end = vaddr, vaddr + length
    while addr < end:
        off = addr & (PAGE_SIZE - 1)
        n = min(end - addr, PAGE_SIZE - off)
        yield addr, off, n
        addr += n


def page_down(addr: int) -> int:
    """Round down to a page boundary."""
    return addr & PAGE_MASK


def page_up(addr: int) -> int:
    """Round up to a page boundary (may return 1 << 32 for the top page)."""
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


class FramePool:
    """Physical memory: frames with reference counts and a free list (the buddy allocator's job)."""

    def __init__(self, nframes: int) -> None:
        if nframes < 16:
            raise ValueError("the frame pool needs at least 16 frames")
        self.nframes = nframes
        self.mem = np.zeros(nframes * PAGE_SIZE, dtype=np.uint8)
        self.frames = self.mem.reshape(nframes, PAGE_SIZE)
        self.words = self.mem.view(np.uint32)  # page tables are read as 32-bit words
        self.rows = self.words.reshape(nframes, PTRS_PER_TABLE)  # each frame as a page table
        self.refcount = np.zeros(nframes, dtype=np.int32)
        # The free frames as a stack whose top is handed out next, lowest frames first; frame 0 is never handed
        # out, so a zero PTE can never name a live frame. The stack and `state` ([0] free frames, [1] the peak
        # in use) are plain arrays so that the CPU side's native fast path allocates from the same stack, in
        # the same order, as alloc does.
        self.stack = np.arange(nframes - 1, -1, -1, dtype=np.int32)
        self.state = np.array([nframes - 1, 0], dtype=np.int64)
        # Frames the CPU has fetched instructions from: a bytearray for cheap single writes in the TLB-fill
        # hook, with a numpy view over the same bytes for the batch frees.
        self.exec_bytes = bytearray(nframes)
        self.exec_frames = np.frombuffer(self.exec_bytes, dtype=bool)
        self.freed_code = False  # such a frame went back to the pool: translated code must be dropped

    @property
    def nfree(self) -> int:
        """Frames on the free stack."""
        return self.state.item(0)

    def free_list(self) -> list[int]:
        """The free frames, the next one alloc hands out last."""
        return self.stack[:self.state.item(0)].tolist()

    @property
    def used(self) -> int:
        """Frames currently allocated."""
        return self.nframes - 1 - self.state.item(0)

    @property
    def peak_used(self) -> int:
        """The most frames allocated at once."""
        return self.state.item(1)

    def alloc(self, zero: bool = True) -> int:
        """Take a frame with reference count 1 (alloc_page); zero it unless the caller fills it."""
        state = self.state
        n = state.item(0) - 1
        if n < 0:
            raise OutOfMemory("out of physical frames")
        f = self.stack.item(n)
        state[0] = n
        self.refcount[f] = 1
        if zero:
            self.frames[f].fill(0)
        used = self.nframes - 1 - n
        if used > state.item(1):
            state[1] = used
        return f

    def get(self, f: int) -> None:
        """One more reference (get_page)."""
        self.refcount[f] += 1

    def put(self, f: int) -> None:
        """Drop a reference; the frame returns to the pool at zero (put_page)."""
        c = int(self.refcount[f]) - 1
        self.refcount[f] = c
        if c == 0:
            n = self.state.item(0)
            self.stack[n] = f
            self.state[0] = n + 1
            if self.exec_bytes[f]:
                self.exec_bytes[f] = 0
                self.freed_code = True
        elif c < 0:
            raise AssertionError(f"frame {f} reference count went negative")

    def get_many(self, frames: np.ndarray) -> None:
        """One more reference on each of distinct frames (one mm never maps a frame twice)."""
        self.refcount[frames] += 1

    def put_many(self, frames: np.ndarray) -> None:
        """Drop one reference on each of distinct frames; freed frames go back lowest-first."""
        if frames.size == 0:
            return
        counts = self.refcount[frames] - 1
        if (counts < 0).any():
            raise AssertionError("frame reference count went negative")
        self.refcount[frames] = counts
        freed = np.sort(frames[counts == 0])
        if freed.size:
            n = self.state.item(0)
            self.stack[n:n + freed.size] = freed[::-1]
            self.state[0] = n + freed.size
            if self.exec_frames[freed].any():
                self.exec_frames[freed] = False
                self.freed_code = True

    def copy_frame(self, src: int) -> int:
        """A new frame holding a copy of src (copy_user_highpage)."""
        dst = self.alloc(zero=False)
        self.frames[dst] = self.frames[src]
        return dst


_VMA_GEN = [0]  # bumped by every change to any VMA or any mm's VMA list (see vma_generation)


def vma_generation() -> int:
    """A number that changes whenever any VMA or VMA list changes: the CPU side's native fast path keeps a copy of
    the running mm's VMAs and rebuilds it when this moves."""
    return _VMA_GEN[0]


class VmaList(list):
    """An mm's VMAs, sorted by start; every change to the list moves vma_generation()."""

    def insert(self, i, vma):
        _VMA_GEN[0] += 1
        list.insert(self, i, vma)

    def append(self, vma):
        _VMA_GEN[0] += 1
        list.append(self, vma)

    def extend(self, vmas):
        _VMA_GEN[0] += 1
        list.extend(self, vmas)

    def __setitem__(self, i, value):
        _VMA_GEN[0] += 1
        list.__setitem__(self, i, value)

    def __delitem__(self, i):
        _VMA_GEN[0] += 1
        list.__delitem__(self, i)

    def __iadd__(self, vmas):
        _VMA_GEN[0] += 1
        return list.__iadd__(self, vmas)

    def pop(self, i=-1):
        _VMA_GEN[0] += 1
        return list.pop(self, i)

    def remove(self, vma):
        _VMA_GEN[0] += 1
        list.remove(self, vma)

    def clear(self):
        _VMA_GEN[0] += 1
        list.clear(self)

    def sort(self, *, key=None, reverse=False):
        _VMA_GEN[0] += 1
        list.sort(self, key=key, reverse=reverse)


@dataclass
class Vma:
    """One vm_area_struct: [start, end), protection, sharing, and what backs its pages: nothing (anonymous),
    an ELF segment's bytes, or a memory object (page cache or shmem) from page `pgoff` on."""

    start: int
    end: int
    prot: int
    shared: bool = False
    growsdown: bool = False
    name: str = ""
    # File-backed pages: bytes `data` appear at virtual address `data_start`; the rest reads as zeros.
    data: bytes | None = None
    data_start: int = 0
    obj: object | None = None  # a filemap.MemObject; each VMA holds one user of it
    pgoff: int = 0
    dontfork: bool = False  # MADV_DONTFORK: the child does not get this VMA
    dontdump: bool = False  # MADV_DONTDUMP (VM_DONTDUMP): a core dump leaves its contents out
    wipeonfork: bool = False  # MADV_WIPEONFORK: the child gets it empty (zero-fill)
    locked: bool = False  # mlock / MCL_FUTURE (VM_LOCKED)
    maywrite: bool = True  # VM_MAYWRITE: false for a shared mapping of a file not opened for writing

    def __setattr__(self, name, value) -> None:
        object.__setattr__(self, name, value)
        _VMA_GEN[0] += 1

    def copy(self, **changes) -> Vma:
        """A copy with some fields changed (vm_area_dup); the copy is one more user of the object."""
        v = object.__new__(Vma)
        v.__dict__.update(self.__dict__)
        if changes:
            v.__dict__.update(changes)
        if v.obj is not None:
            v.obj.get()
        return v

    def page_index(self, addr: int) -> int:
        """The object page that addr falls in."""
        return self.pgoff + ((addr - self.start) >> PAGE_SHIFT)


@dataclass
class FaultAcct:
    """Fault counters of one task."""

    counts: list[int] = field(default_factory=lambda: [0] * len(FAULT_NAMES))

    def as_dict(self) -> dict[str, int]:
        """Counter name to value."""
        return dict(zip(FAULT_NAMES, self.counts, strict=True))


class MM:
    """One address space (mm_struct): a page directory frame, the VMAs, brk and the mmap base."""

    _serials = 0

    def __init__(self, pool: FramePool) -> None:
        MM._serials += 1
        self.serial = MM._serials  # a name for futex keys that is never reused, unlike id()
        self.pool = pool
        self.pgd = pool.alloc()
        self._vmas = VmaList()
        self._starts: list[int] = []
        self.start_brk = self.brk = 0
        self.start_stack = 0
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.saved_auxv = b""  # the auxiliary vector exec gave the program (mm->saved_auxv, /proc/PID/auxv)
        self.ldt = b""  # the local descriptor table (modify_ldt), 8 bytes per entry; copied at fork
        self.mmap_base = MMAP_BASE
        self.users = 1  # mm_users: tasks running in this mm (CLONE_VM shares it)
        self.tlb_gen = 0  # bumped whenever a cached translation may have gone stale
        self.exe_path = ""
        self.last_fault: tuple[int, int, int, int] | None = None  # (kind, vaddr, old frame, new frame)
        self.kernel_faults: list[tuple[int, int, int, int]] = []  # taken by copies to/from user memory
        self.copied_ptes = 0  # PTEs dup_mmap copied into this mm
        self.def_flags_locked = False  # mlockall(MCL_FUTURE): new mappings are locked
        self.read_implies_exec = False  # the READ_IMPLIES_EXEC personality of the program running here
        self.guards: set[int] = set()  # pages made guard regions by MADV_GUARD_INSTALL (Linux's PTE markers)

    @property
    def vmas(self) -> VmaList:
        """The VMAs, sorted by start."""
        return self._vmas

    @vmas.setter
    def vmas(self, vmas) -> None:
        self._vmas = VmaList(vmas)
        _VMA_GEN[0] += 1

    def guards_changed(self) -> None:
        """MADV_GUARD_INSTALL / REMOVE changed self.guards (a first touch there must fault): like a VMA change."""
        _VMA_GEN[0] += 1

    # ---- page-table walk and PTE helpers -------------------------------------------------------

    def walk(self, vaddr: int, alloc: bool = False) -> int:
        """Index of vaddr's PTE in pool.words, or -1 when no page table covers it (walkpgdir)."""
        words = self.pool.words
        pdi = self.pgd * PTRS_PER_TABLE + (vaddr >> 22)
        pde = words.item(pdi)
        if not pde & PTE_P:
            if not alloc:
                return -1
            pt = self.pool.alloc()
            pde = (pt << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U
            words[pdi] = pde
        return (pde >> PAGE_SHIFT) * PTRS_PER_TABLE + ((vaddr >> PAGE_SHIFT) & (PTRS_PER_TABLE - 1))

    def pte(self, vaddr: int) -> int:
        """The PTE for vaddr, 0 when none."""
        i = self.walk(vaddr)
        return self.pool.words.item(i) if i >= 0 else 0

    def _table_slices(self, start: int, end: int, alloc: bool = False):
        """Yield (vaddr, words view) for each page table piece covering [start, end)."""
        words = self.pool.words
        addr = start
        while addr < end:
            chunk_end = min(end, ((addr >> 22) + 1) << 22)
            first = self.walk(addr, alloc)
            n = (chunk_end - addr) >> PAGE_SHIFT
            if first >= 0:
                yield addr, words[first:first + n]
            addr = chunk_end

    def present_ptes(self) -> np.ndarray:
        """Every present PTE of this mm (for tests and statistics)."""
        out = []
        for v in self.vmas:
            for _, view in self._table_slices(v.start, v.end):
                out.append(view[(view & PTE_P) != 0])
        return np.concatenate(out) if out else np.zeros(0, np.uint32)

    def effective_prot(self, prot: int) -> int:
        """The protection a mapping gets: PROT_READ implies PROT_EXEC under READ_IMPLIES_EXEC (do_mmap)."""
        if self.read_implies_exec and prot & PROT_READ:
            prot |= PROT_EXEC
        return prot

    def flush_tlb(self) -> None:
        """Invalidate every cached translation of this mm (flush_tlb_mm)."""
        self.tlb_gen += 1

    # ---- VMAs --------------------------------------------------------------------------------------

    def find_vma(self, addr: int) -> Vma | None:
        """The VMA containing addr, or None (find_vma, exact)."""
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    def _insert_vma(self, vma: Vma) -> None:
        i = bisect.bisect_left(self._starts, vma.start)
        self.vmas.insert(i, vma)
        self._starts.insert(i, vma.start)

    def _reindex(self) -> None:
        self.vmas.sort(key=lambda v: v.start)
        self._starts = [v.start for v in self.vmas]

    def vmas_in(self, start: int, end: int) -> list[Vma]:
        """The VMAs that intersect [start, end), found by bisection."""
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        out = []
        while i < len(self.vmas) and self.vmas[i].start < end:
            if self.vmas[i].end > start:
                out.append(self.vmas[i])
            i += 1
        return out

    def range_is_free(self, start: int, end: int) -> bool:
        """No VMA intersects [start, end)."""
        i = bisect.bisect_left(self._starts, end) - 1
        return i < 0 or self.vmas[i].end <= start

    def get_unmapped_area(self, length: int, hint: int = 0) -> int:
        """A free range: the hint if free, else top-down below mmap_base (arch_get_unmapped_area_topdown)."""
        length = page_up(length)
        if hint:
            hint = page_down(hint)
            if MMAP_MIN_ADDR <= hint and hint + length <= TASK_SIZE and self.range_is_free(hint, hint + length):
                return hint
        end = self.mmap_base
        for v in reversed(self.vmas):
            if v.start >= end:
                continue
            if v.end <= end and end - v.end >= length:
                return end - length
            end = min(end, v.start)
        if end - length >= max(MMAP_MIN_ADDR, self.brk):
            return end - length
        raise OutOfMemory("no free virtual range")

    def map_region(self, start: int, end: int, prot: int, shared: bool = False, name: str = "",
                   data: bytes | None = None, data_start: int = 0, growsdown: bool = False,
                   obj=None, pgoff: int = 0) -> Vma:
        """Create a VMA over [start, end), replacing whatever was mapped there (mmap_region); a memory object
        gains the VMA as a user."""
        self.unmap(start, end)
        vma = Vma(start, end, prot, shared, growsdown, name, data, data_start, obj, pgoff,
                  locked=self.def_flags_locked)
        if obj is not None:
            obj.get()
        self._insert_vma(vma)
        return vma

    def _split(self, addr: int) -> None:
        """Make addr a VMA boundary if it falls inside one (split_vma)."""
        v = self.find_vma(addr)
        if v is not None and v.start < addr:
            upper = v.copy(start=addr, pgoff=v.page_index(addr))
            v.end = addr
            self._insert_vma(upper)

    def _drop_vma(self, v: Vma) -> None:
        """A VMA went away: write its shared file pages back and give up its hold on the object
        (remove_vma; the writeback is what munmap of a shared file mapping leaves for msync in Linux, done
        here so the host file has the data as soon as no mapping shows it)."""
        if v.obj is not None:
            if v.shared and hasattr(v.obj, "writeback"):
                v.obj.writeback(v.pgoff, v.page_index(v.end - 1))
            v.obj.put()

    def unmap(self, start: int, end: int) -> None:
        """Remove every mapping in [start, end) and release its frames (do_munmap)."""
        if start >= end or not self.vmas:
            return
        self._split(start)
        self._split(end)
        i = bisect.bisect_left(self._starts, start)
        j = bisect.bisect_left(self._starts, end)
        gone = self.vmas[i:j]
        if not gone:
            return
        for v in gone:
            self.zap_range(v.start, v.end)
        if self.guards:
            self.guards = {a for a in self.guards if not start <= a < end}
        del self.vmas[i:j]
        del self._starts[i:j]
        for v in gone:
            self._drop_vma(v)

    def zap_range(self, start: int, end: int) -> None:
        """Clear the PTEs of [start, end) and drop their frames (zap_page_range)."""
        pool = self.pool
        touched = False
        for _, view in self._table_slices(start, end):
            present = (view & PTE_P) != 0
            if present.any():
                pool.put_many((view[present] >> PAGE_SHIFT).astype(np.int64))
                view[:] = 0
                touched = True
        if touched:
            self.flush_tlb()

    def protect(self, start: int, end: int, prot: int) -> None:
        """Change the protection of [start, end), every page of which is mapped (mprotect_fixup)."""
        self._split(start)
        self._split(end)
        for v in self.vmas_in(start, end):
            if v.start >= start and v.end <= end:
                v.prot = prot
                for _, view in self._table_slices(v.start, v.end):
                    present = (view & PTE_P) != 0
                    if not present.any():
                        continue
                    # PROT_NONE keeps the frame but drops the user bit, as the kernel's PROT_NONE does; a
                    # page that lost PROT_EXEC gets the NX bit, one that gained it loses it.
                    mask = (PTE_W if not prot & PROT_WRITE or prot == PROT_NONE else 0) | \
                        (PTE_U if prot == PROT_NONE else 0) | PTE_NX
                    nx = 0 if prot & PROT_EXEC else PTE_NX
                    view[present] = (view[present] & np.uint32(~mask & 0xFFFFFFFF)) | np.uint32(nx)
        self.flush_tlb()

    def _mergeable(self, a: Vma, b: Vma) -> bool:
        """a ends where b starts and they could be one VMA (is_mergeable_vma, with anon/file continuity)."""
        if a.end != b.start or a.data is not None or b.data is not None:
            return False
        same = (a.prot == b.prot and a.shared == b.shared and a.growsdown == b.growsdown and a.name == b.name
                and a.obj is b.obj and a.dontfork == b.dontfork and a.wipeonfork == b.wipeonfork
                and a.locked == b.locked and a.dontdump == b.dontdump)
        return same and (a.obj is None or a.page_index(a.end) == b.pgoff)

    def merge_around(self, start: int, end: int) -> None:
        """Merge the VMAs in and next to [start, end) with compatible neighbours (vma_merge), so that map
        counts, /proc maps and limits see what Linux shows."""
        i = max(0, bisect.bisect_right(self._starts, start) - 2)
        changed = False
        while i + 1 < len(self.vmas) and self.vmas[i].start <= end:
            a, b = self.vmas[i], self.vmas[i + 1]
            if self._mergeable(a, b):
                a.end = b.end
                del self.vmas[i + 1]
                if b.obj is not None:
                    b.obj.put()
                changed = True
            else:
                i += 1
        if changed:
            self._starts = [v.start for v in self.vmas]

    def map_count(self) -> int:
        """VMAs in this mm (mm->map_count)."""
        return len(self.vmas)

    def split_count(self, start: int, end: int) -> int:
        """How many more VMAs cutting [start, end) out of the mapping would make (0, 1 or 2)."""
        n = 0
        for addr in (start, end):
            v = self.find_vma(addr)
            if v is not None and v.start < addr:
                n += 1
        return n

    def total_vm(self) -> int:
        """Bytes mapped (mm->total_vm, RLIMIT_AS)."""
        return sum(v.end - v.start for v in self.vmas)

    def data_vm(self) -> int:
        """Bytes of private writable non-stack mappings (mm->data_vm, RLIMIT_DATA)."""
        return sum(v.end - v.start for v in self.vmas
                   if v.prot & PROT_WRITE and not v.shared and not v.growsdown)

    def locked_vm(self) -> int:
        """Bytes of mlocked mappings (mm->locked_vm)."""
        return sum(v.end - v.start for v in self.vmas if v.locked)

    def populate(self, start: int, end: int, write: bool, acct: FaultAcct) -> None:
        """Fault every page of [start, end) in as an access would (populate_vma_page_range, MAP_POPULATE,
        mlock); pages the VMA does not allow are skipped."""
        addr = start
        while addr < end:
            v = self.find_vma(addr)
            if v is None:
                addr += PAGE_SIZE
                continue
            w = write and bool(v.prot & PROT_WRITE) and v.shared
            if v.prot != PROT_NONE:
                pte = self.pte(addr)
                if not pte & PTE_P or (w and not pte & PTE_W):
                    try:
                        self.handle_fault(addr, ACCESS_WRITE if w else ACCESS_READ, acct)
                    except BusError:
                        pass
            addr += PAGE_SIZE
        self.last_fault = None

    def resident(self, addr: int) -> bool:
        """Is the page at addr in memory: mapped by a PTE, or resident in the VMA's object (mincore)."""
        if self.pte(addr) & PTE_P:
            return True
        v = self.find_vma(addr)
        return v is not None and v.obj is not None and v.page_index(addr) in v.obj.pages

    def is_mapped(self, start: int, end: int) -> bool:
        """Every byte of [start, end) lies in some VMA."""
        addr = start
        while addr < end:
            v = self.find_vma(addr)
            if v is None:
                return False
            addr = v.end
        return True

    def accessible(self, vaddr: int, length: int, write: bool) -> int:
        """How many bytes from vaddr a user copy may reach before the first page it cannot read (or write): the
        length a copy that stops at its first fault transfers (growing a stack as the fault would)."""
        end = min(vaddr + length, TASK_SIZE)
        addr = vaddr
        while addr < end:
            v = self.find_vma(addr) or self._expand_stack(addr)
            if v is None or not v.prot & (PROT_WRITE if write else PROT_READ | PROT_WRITE | PROT_EXEC):
                break
            addr = v.end
        return max(0, min(addr, end) - vaddr)

    # ---- faults --------------------------------------------------------------------------------------

    def _expand_stack(self, addr: int) -> Vma | None:
        """Grow a VM_GROWSDOWN VMA down to cover addr within RLIMIT_STACK (expand_stack)."""
        i = bisect.bisect_right(self._starts, addr)
        if i >= len(self.vmas):
            return None
        v = self.vmas[i]
        if not v.growsdown or v.end - page_down(addr) > STACK_RLIMIT:
            return None
        new_start = page_down(addr)
        if new_start < MMAP_MIN_ADDR:
            return None
        if i > 0:
            prev = self.vmas[i - 1]
            # expand_downwards keeps stack_guard_gap (256 pages) free below the stack, unless the mapping below
            # grows down too; a fault that would close the gap is a SIGSEGV
            gap = 0 if prev.growsdown else STACK_GUARD_GAP
            if prev.end + gap > new_start:
                return None
        v.start = new_start
        self._starts[i] = v.start
        return v

    def handle_fault(self, vaddr: int, access: int, acct: FaultAcct) -> int:
        """Resolve a user access; return the PTE to install or raise SegFault / BusError (handle_mm_fault)."""
        words = self.pool.words
        i = self.walk(vaddr)
        pte = words.item(i) if i >= 0 else 0
        if pte & (PTE_P | PTE_U) == PTE_P | PTE_U:
            if access == ACCESS_FETCH and pte & PTE_NX:
                raise SegFault(vaddr, False)
            if access != ACCESS_WRITE:
                if not pte & PTE_A:
                    pte |= PTE_A
                    words[i] = pte
                return pte
            if pte & PTE_W:
                if pte & (PTE_A | PTE_D) != PTE_A | PTE_D:
                    pte |= PTE_A | PTE_D
                    words[i] = pte
                return pte
            vma = self.find_vma(vaddr)
            if vma is None or not vma.prot & PROT_WRITE:
                raise SegFault(vaddr, False)
            return self.do_wp_page(i, pte, vaddr, vma, acct)
        vma = self.find_vma(vaddr)
        if vma is None:
            vma = self._expand_stack(vaddr)
            if vma is None:
                raise SegFault(vaddr, True)
        if self.guards and page_down(vaddr) in self.guards:
            raise SegFault(vaddr, True)  # a guard PTE marker: VM_FAULT_SIGSEGV
        if vma.prot == PROT_NONE or (access == ACCESS_WRITE and not vma.prot & PROT_WRITE) or \
                (access == ACCESS_FETCH and not vma.prot & PROT_EXEC):
            raise SegFault(vaddr, False)
        if pte & PTE_P:  # present but PROT_NONE'd earlier, now accessible again
            pte |= PTE_U | PTE_A
            if vma.prot & PROT_WRITE and not pte & PTE_COW and access == ACCESS_WRITE:
                pte |= PTE_W | PTE_D
                if vma.obj is not None:
                    vma.obj.mark_dirty(vma.page_index(vaddr))
            words[i] = pte
            self.flush_tlb()
            return pte if access != ACCESS_WRITE or pte & PTE_W else self.do_wp_page(i, pte, vaddr, vma, acct)
        if vma.obj is not None:
            return self.do_fault(vaddr, access, vma, acct)
        return self.do_anonymous_or_file_page(vaddr, access, vma, acct)

    def _install(self, vaddr: int, frame: int, vma: Vma, bits: int) -> int:
        """Write a new user PTE for vaddr naming frame with extra bits (set_pte_at), NX unless the VMA may
        execute."""
        pte = (frame << PAGE_SHIFT) | PTE_P | PTE_U | PTE_A | bits
        if not vma.prot & PROT_EXEC:
            pte |= PTE_NX
        self.pool.words[self.walk(vaddr, alloc=True)] = pte
        return pte

    def do_anonymous_or_file_page(self, vaddr: int, access: int, vma: Vma, acct: FaultAcct) -> int:
        """First touch: a zeroed frame, or one filled from the VMA's ELF data (do_anonymous_page)."""
        pool = self.pool
        page = page_down(vaddr)
        f = pool.alloc()
        kind = FAULT_ZERO
        if vma.data is not None:
            lo = max(page, vma.data_start)
            hi = min(page + PAGE_SIZE, vma.data_start + len(vma.data))
            if lo < hi:
                off = lo - vma.data_start
                pool.frames[f, lo - page:hi - page] = np.frombuffer(vma.data, np.uint8, hi - lo, off)
                kind = FAULT_FILE
        bits = (PTE_W | (PTE_D if access == ACCESS_WRITE else 0)) if vma.prot & PROT_WRITE else 0
        pte = self._install(vaddr, f, vma, bits)
        acct.counts[kind] += 1
        self.last_fault = (kind, vaddr, 0, f)
        return pte

    def do_fault(self, vaddr: int, access: int, vma: Vma, acct: FaultAcct) -> int:
        """First touch of a page backed by a memory object (do_fault): a shared mapping maps the object's page
        itself (do_shared_fault), a private one maps it read-only to copy on write (do_read_fault) or, for a
        write, copies it now (do_cow_fault)."""
        pool = self.pool
        idx = vma.page_index(vaddr)
        try:
            frame, new = vma.obj.find_get_page(idx)
        except IndexError:
            raise BusError(vaddr) from None
        kind = (FAULT_FILE if vma.obj.kind == "file" else FAULT_ZERO) if new else FAULT_SHARED
        write = access == ACCESS_WRITE
        if vma.shared:
            pool.get(frame)
            pte = self._install(vaddr, frame, vma, PTE_W | PTE_D if write else 0)
            if write:
                vma.obj.mark_dirty(idx)
            old = 0 if new else frame
        elif write:
            copy = pool.copy_frame(frame)
            pte = self._install(vaddr, copy, vma, PTE_W | PTE_D)
            kind, old, frame = FAULT_FILE_COW, frame, copy
        else:
            pool.get(frame)
            pte = self._install(vaddr, frame, vma, PTE_COW)
            old = 0 if new else frame
        acct.counts[kind] += 1
        self.last_fault = (kind, vaddr, old, frame)
        return pte

    def do_wp_page(self, i: int, pte: int, vaddr: int, vma: Vma, acct: FaultAcct) -> int:
        """Write to a present read-only page of a writable VMA: decide reuse or copy (do_wp_page)."""
        if vma.shared or not pte & PTE_COW:
            if vma.shared and vma.obj is not None:
                vma.obj.mark_dirty(vma.page_index(vaddr))  # wp_page_shared: the page becomes dirty
            return self._make_writable(i, pte, vaddr, acct, FAULT_WP_SHARED if vma.shared else FAULT_MINOR)
        frame = pte >> PAGE_SHIFT
        if int(self.pool.refcount[frame]) == 1:
            return self.wp_page_reuse(i, pte, vaddr, acct)
        return self.wp_page_copy(i, pte, vaddr, acct)

    def _make_writable(self, i: int, pte: int, vaddr: int, acct: FaultAcct, kind: int) -> int:
        pte = (pte | PTE_W | PTE_A | PTE_D) & ~PTE_COW
        self.pool.words[i] = pte
        acct.counts[kind] += 1
        f = pte >> PAGE_SHIFT
        self.last_fault = (kind, vaddr, f, f)
        return pte

    def wp_page_reuse(self, i: int, pte: int, vaddr: int, acct: FaultAcct) -> int:
        """The frame has one owner left: make the PTE writable in place (wp_page_reuse)."""
        return self._make_writable(i, pte, vaddr, acct, FAULT_COW_REUSE)

    def wp_page_copy(self, i: int, pte: int, vaddr: int, acct: FaultAcct) -> int:
        """The frame is shared: copy it to a fresh frame, map that writable, drop the old (wp_page_copy)."""
        pool = self.pool
        old = pte >> PAGE_SHIFT
        new = pool.copy_frame(old)
        pool.put(old)
        pte = (new << PAGE_SHIFT) | (pte & 0xFFF & ~PTE_COW) | PTE_W | PTE_A | PTE_D
        pool.words[i] = pte
        acct.counts[FAULT_COW_COPY] += 1
        self.last_fault = (FAULT_COW_COPY, vaddr, old, new)
        # Other cached translations of this mm may still name the old frame (kernel-mode copies).
        return pte

    def move_range(self, old: int, old_len: int, new: int, new_len: int) -> None:
        """Move a mapping's VMA and PTEs to [new, new+new_len) without copying pages (move_vma)."""
        vma = self.find_vma(old)
        pieces = [view.copy() for _, view in self._table_slices(old, old + old_len)]
        ptes = np.concatenate(pieces) if pieces else np.zeros(0, np.uint32)
        addr_ptes = {}
        pos = 0
        for addr, view in self._table_slices(old, old + old_len):
            addr_ptes[addr] = (pos, view.size)
            view[:] = 0
            pos += view.size
        full = np.zeros(old_len >> PAGE_SHIFT, np.uint32)
        for addr, (p, n) in addr_ptes.items():
            i = (addr - old) >> PAGE_SHIFT
            full[i:i + n] = ptes[p:p + n]
        moved = vma.copy(start=new, end=new + new_len, data_start=vma.data_start - old + new,
                         pgoff=vma.page_index(old))
        self._split(old)
        self._split(old + old_len)
        gone = [v for v in self.vmas if v.start >= old and v.end <= old + old_len]
        self.vmas = [v for v in self.vmas if not (v.start >= old and v.end <= old + old_len)]
        self._reindex()
        for v in gone:
            if v.obj is not None:
                v.obj.put()
        self._insert_vma(moved)
        for addr, view in self._table_slices(new, new + old_len, alloc=True):
            i = (addr - new) >> PAGE_SHIFT
            view[:] = full[i:i + view.size]
        self.flush_tlb()

    # ---- fork and teardown -------------------------------------------------------------------------

    def dup_mmap(self) -> MM:
        """The child's address space for fork: same VMAs, page tables copied, private pages COW (dup_mmap)."""
        child = MM(self.pool)
        child.vmas = [v.copy(locked=False) for v in self.vmas if not v.dontfork]  # mlock is not inherited
        child._starts = [v.start for v in child.vmas]
        for name in ("start_brk", "brk", "start_stack", "arg_start", "arg_end", "env_start", "env_end",
                     "mmap_base", "exe_path", "read_implies_exec", "saved_auxv", "ldt"):
            setattr(child, name, getattr(self, name))
        child.guards = {a for a in self.guards if any(v.start <= a < v.end for v in child.vmas_in(a, a + 1))}
        try:
            self.copy_page_tables(child)
        except OutOfMemory:
            child.release()  # drops exactly the references taken so far (dup_mm's mmput on failure)
            raise
        finally:
            self.flush_tlb()  # the parent's writable entries became read-only
        return child

    def copy_page_tables(self, child: MM) -> None:
        """copy_page_range for the whole mm in one vectorised pass over all its page tables: every table is
        copied whole, and its present private entries are write-protected and marked COW in both mms."""
        pool = self.pool
        table_rows = pool.rows
        pgd = table_rows[self.pgd]
        pdis = np.flatnonzero(pgd & PTE_P)
        if pdis.size == 0:
            return
        parent_tables = (pgd[pdis] >> PAGE_SHIFT).astype(np.int64)
        rows = table_rows[parent_tables]  # a copy: (tables, 1024)
        present = (rows & PTE_P) != 0
        cow = present.copy()
        skip = np.zeros_like(present)  # entries the child does not get
        for v in self.vmas:
            if v.shared or v.dontfork or v.wipeonfork:
                # shared mappings keep their writable PTEs; MADV_DONTFORK / MADV_WIPEONFORK ranges are not
                # copied at all (the child has no VMA there, or an empty one), so the parent keeps them as they are
                first, last = v.start >> PAGE_SHIFT, (v.end - 1) >> PAGE_SHIFT
                for n, pdi in enumerate(pdis.tolist()):
                    lo, hi = max(first, pdi << 10), min(last + 1, (pdi + 1) << 10)
                    if lo < hi:
                        cow[n, lo - (pdi << 10):hi - (pdi << 10)] = False
                        if v.dontfork or v.wipeonfork:
                            skip[n, lo - (pdi << 10):hi - (pdi << 10)] = True
        rows[cow] = (rows[cow] & np.uint32(~PTE_W & 0xFFFFFFFF)) | np.uint32(PTE_COW)
        table_rows[parent_tables] = rows
        if skip.any():
            rows[skip] = 0
            present &= ~skip
        taken: list[int] = []
        try:
            for _ in range(pdis.size):
                taken.append(pool.alloc(zero=False))
        except OutOfMemory:
            for f in taken:
                pool.put(f)
            raise
        child_tables = np.array(taken, dtype=np.int64)
        table_rows[child_tables] = rows
        child_pgd = table_rows[child.pgd]
        child_pgd[pdis] = (child_tables.astype(np.uint32) << PAGE_SHIFT) | np.uint32(PTE_P | PTE_W | PTE_U)
        frames = (rows[present] >> PAGE_SHIFT).astype(np.int64)
        pool.get_many(frames)
        child.copied_ptes += frames.size

    def release(self) -> None:
        """Drop every frame and page table of this mm (exit_mmap); the mm is unusable afterwards."""
        pool = self.pool
        pgd = pool.rows[self.pgd]
        tables = (pgd[(pgd & PTE_P) != 0] >> PAGE_SHIFT).astype(np.int64)
        rows = pool.rows[tables]
        pool.rows[tables] = 0
        pgd[:] = 0
        frames = (rows[(rows & PTE_P) != 0] >> PAGE_SHIFT).astype(np.int64)
        pool.put_many(np.concatenate((frames, tables, [self.pgd])))
        self.pgd = 0
        vmas, self.vmas = self.vmas, []
        self._starts = []
        for v in vmas:
            self._drop_vma(v)
        self.flush_tlb()

    # ---- user copies (copy_from_user / copy_to_user) -------------------------------------------

    def _user_page(self, vaddr: int, write: bool, acct: FaultAcct) -> int:
        """Frame byte offset of vaddr's page, faulting it in as a user access would."""
        pte = self.pte(vaddr)
        if not (pte & PTE_P and pte & PTE_U) or (write and not pte & PTE_W):
            self.last_fault = None
            pte = self.handle_fault(vaddr, ACCESS_WRITE if write else ACCESS_READ, acct)
            rec = self.last_fault
            if rec is not None:
                self.last_fault = None
                self.kernel_faults.append(rec)  # the kernel reports these with the syscall that took them
                if rec[0] == FAULT_COW_COPY:
                    self.flush_tlb()  # a cached read-only entry may still name the old frame
        return pte & PTE_FRAME

    def read(self, vaddr: int, length: int, acct: FaultAcct) -> bytes:
        """length bytes of user memory at vaddr (copy_from_user); SegFault when not readable."""
        if length < 0 or vaddr < 0 or vaddr + length > TASK_SIZE:
            raise SegFault(vaddr, True)
        mem = self.pool.mem
        out = []
        for addr, off, n in _page_chunks(vaddr, length):
            if not self.pte(addr) & PTE_P and self._reads_as_zero(addr):
                out.append(bytes(n))  # Linux maps the shared zero page here: no frame is spent on a read
                continue
            base = self._user_page(addr, False, acct)
            out.append(mem[base + off:base + off + n].tobytes())
        return b"".join(out)

    def _reads_as_zero(self, addr: int) -> bool:
        """An untouched page of a readable private anonymous VMA with no ELF data on it: a kernel read of it sees
        zeros, as of the zero page do_anonymous_page maps for a read fault."""
        v = self.find_vma(addr)
        if v is None or v.obj is not None or v.shared or not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
            return False
        page = page_down(addr)
        return v.data is None or not (v.data_start < page + PAGE_SIZE and page < v.data_start + len(v.data))

    def write(self, vaddr: int, data: bytes, acct: FaultAcct) -> None:
        """Store data at vaddr (copy_to_user), breaking COW as a user write would; SegFault when not writable."""
        length = len(data)
        if not length:
            return  # copy_to_user of nothing touches nothing
        if vaddr < 0 or vaddr + length > TASK_SIZE:
            raise SegFault(vaddr, True)
        # Check every page first so a failing copy leaves memory unchanged.
        addr = page_down(vaddr)
        while addr < vaddr + length:
            v = self.find_vma(addr) or self._expand_stack(addr)
            if v is None or not v.prot & PROT_WRITE:
                raise SegFault(max(addr, vaddr), v is None)
            addr += PAGE_SIZE
        mem = self.pool.mem
        src = np.frombuffer(data, np.uint8)
        for addr, off, n in _page_chunks(vaddr, length):
            base = self._user_page(addr, True, acct)
            pos = addr - vaddr
            mem[base + off:base + off + n] = src[pos:pos + n]

    def peek(self, vaddr: int, length: int) -> bytes:
        """Read user memory without faulting anything in or counting anything (for tracers, like
        process_vm_readv on pages that exist); untouched pages read as their zero or file contents."""
        if length < 0 or vaddr < 0 or vaddr + length > TASK_SIZE:
            raise SegFault(vaddr, True)
        mem = self.pool.mem
        out = []
        for addr, off, n in _page_chunks(vaddr, length):
            pte = self.pte(addr)
            if pte & PTE_P:
                base = pte & PTE_FRAME
                out.append(mem[base + off:base + off + n].tobytes())
            else:
                vma = self.find_vma(addr)
                if vma is None or vma.prot == PROT_NONE:
                    raise SegFault(addr, vma is None)
                chunk = bytearray(n)
                if vma.obj is not None:
                    chunk[:] = vma.obj.peek_page(vma.page_index(addr))[off:off + n]
                elif vma.data is not None:
                    lo = max(addr, vma.data_start)
                    hi = min(addr + n, vma.data_start + len(vma.data))
                    if lo < hi:
                        chunk[lo - addr:hi - addr] = vma.data[lo - vma.data_start:hi - vma.data_start]
                out.append(bytes(chunk))
        return b"".join(out)

    def read_cstring(self, vaddr: int, acct: FaultAcct, limit: int = 4096) -> bytes:
        """A NUL-terminated string of at most limit bytes before its NUL (strncpy_from_user).

        SegFault when unreadable, StringTooLong when no NUL comes within limit bytes.
        """
        mem = self.pool.mem
        out = []
        addr = vaddr
        total = 0
        while total <= limit:
            if addr >= TASK_SIZE:
                raise SegFault(addr, True)
            base = self._user_page(addr, False, acct)
            off = addr & (PAGE_SIZE - 1)
            chunk = mem[base + off:base + min(PAGE_SIZE, off + limit + 1 - total)]
            nul = np.flatnonzero(chunk == 0)
            if nul.size:
                out.append(chunk[:nul[0]].tobytes())
                return b"".join(out)
            out.append(chunk.tobytes())
            total += chunk.size
            addr += chunk.size
        raise StringTooLong(f"no NUL within {limit} bytes at {vaddr:#x}")
