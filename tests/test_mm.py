"""Unit tests of kernel_model.mm: frames, page tables, VMAs, faults, fork's copy-on-write and teardown.

No CPU emulator is involved: every access goes through MM.handle_fault, MM.read or MM.write.
"""

from __future__ import annotations

import numpy as np
import pytest

from kernel_model.mm import (
    ACCESS_READ, ACCESS_WRITE, FAULT_COW_COPY, FAULT_COW_REUSE, FAULT_FILE, FAULT_MINOR, FAULT_WP_SHARED,
    FAULT_ZERO, MM, MMAP_BASE, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, PTE_A, PTE_COW, PTE_D, PTE_FRAME,
    PTE_P, PTE_U, PTE_W, PTRS_PER_TABLE, STACK_RLIMIT, STACK_TOP, FaultAcct, FramePool, OutOfMemory, SegFault,
    StringTooLong,
)

RW = PROT_READ | PROT_WRITE
BASE = 0x40000000  # a 4 MiB-aligned address well away from MMAP_BASE


@pytest.fixture
def pool() -> FramePool:
    return FramePool(1024)


@pytest.fixture
def acct() -> FaultAcct:
    return FaultAcct()


def frame_of(mm: MM, vaddr: int) -> int:
    return mm.pte(vaddr) >> 12


def touch_pages(mm: MM, start: int, npages: int, acct: FaultAcct, fill: int | None = None) -> None:
    """Write one byte into each page (its page index, or `fill`)."""
    for i in range(npages):
        mm.write(start + i * PAGE_SIZE, bytes([(i if fill is None else fill) & 0xFF]), acct)


# ---- FramePool --------------------------------------------------------------------------------------


def test_frame_pool_rejects_fewer_than_16_frames():
    with pytest.raises(ValueError):
        FramePool(15)


def test_alloc_returns_lowest_free_frame_first_and_never_frame_zero(pool):
    assert [pool.alloc() for _ in range(3)] == [1, 2, 3]


def test_alloc_returns_zeroed_frame_with_refcount_one(pool):
    f = pool.alloc()
    pool.frames[f].fill(0xAB)
    pool.put(f)
    g = pool.alloc()
    assert g == f  # the freed frame is handed out again first
    assert int(pool.refcount[g]) == 1
    assert not pool.frames[g].any()


def test_alloc_without_zeroing_keeps_old_contents(pool):
    f = pool.alloc()
    pool.frames[f].fill(0x5A)
    pool.put(f)
    g = pool.alloc(zero=False)
    assert g == f
    assert (pool.frames[g] == 0x5A).all()


def test_put_returns_frame_to_pool_only_when_refcount_reaches_zero(pool):
    f = pool.alloc()
    pool.get(f)
    assert pool.used == 1
    pool.put(f)
    assert int(pool.refcount[f]) == 1
    assert pool.used == 1
    pool.put(f)
    assert int(pool.refcount[f]) == 0
    assert pool.used == 0


def test_put_below_zero_is_an_assertion_error(pool):
    f = pool.alloc()
    pool.put(f)
    with pytest.raises(AssertionError):
        pool.put(f)


def test_get_many_and_put_many_take_arrays_of_distinct_frames(pool):
    # One mm never maps a frame twice, so every batch names distinct frames.
    fs = np.array([pool.alloc() for _ in range(4)], dtype=np.int64)
    pool.get_many(fs[:2])
    pool.get_many(fs[:1])
    assert pool.refcount[fs].tolist() == [3, 2, 1, 1]
    pool.put_many(fs)
    pool.put_many(fs[:1])
    assert pool.refcount[fs].tolist() == [1, 1, 0, 0]
    assert pool.used == 2
    assert pool.free_list()[-2:] == [int(fs[3]), int(fs[2])]  # freed lowest-first
    pool.put_many(fs[:2])
    assert pool.used == 0


def test_put_many_with_empty_array_is_a_no_op(pool):
    pool.alloc()
    pool.put_many(np.zeros(0, dtype=np.int64))
    assert pool.used == 1


def test_put_many_returns_freed_frames_lowest_first(pool):
    fs = [pool.alloc() for _ in range(5)]
    pool.put_many(np.array([fs[4], fs[1], fs[3]], dtype=np.int64))
    assert [pool.alloc() for _ in range(3)] == [fs[1], fs[3], fs[4]]


def test_put_many_below_zero_is_an_assertion_error(pool):
    f = pool.alloc()
    pool.put_many(np.array([f], dtype=np.int64))
    with pytest.raises(AssertionError):
        pool.put_many(np.array([f], dtype=np.int64))


def test_alloc_raises_out_of_memory_when_pool_is_exhausted():
    pool = FramePool(16)
    frames = [pool.alloc() for _ in range(15)]
    assert sorted(frames) == list(range(1, 16))
    with pytest.raises(OutOfMemory):
        pool.alloc()


def test_peak_used_records_high_water_mark(pool):
    fs = [pool.alloc() for _ in range(7)]
    for f in fs:
        pool.put(f)
    assert pool.used == 0
    assert pool.peak_used == 7
    pool.alloc()
    assert pool.peak_used == 7


def test_copy_frame_allocates_a_new_frame_with_the_same_bytes(pool):
    f = pool.alloc()
    pool.frames[f, :4] = [1, 2, 3, 4]
    g = pool.copy_frame(f)
    assert g != f
    assert int(pool.refcount[g]) == 1
    assert (pool.frames[g] == pool.frames[f]).all()


def test_freeing_a_frame_the_cpu_executed_from_sets_freed_code(pool):
    f = pool.alloc()
    pool.exec_frames[f] = True
    pool.put(f)
    assert pool.freed_code
    assert not pool.exec_frames[f]


# ---- page tables and first-touch faults -------------------------------------------------------------


def test_new_mm_takes_one_frame_for_its_page_directory(pool):
    mm = MM(pool)
    assert pool.used == 1
    assert int(pool.refcount[mm.pgd]) == 1


def test_walk_without_alloc_returns_minus_one_when_no_page_table(pool):
    mm = MM(pool)
    assert mm.walk(BASE) == -1
    assert mm.pte(BASE) == 0


def test_walk_allocates_a_page_table_frame_and_a_user_writable_pde(pool):
    mm = MM(pool)
    used = pool.used
    i = mm.walk(BASE + 5 * PAGE_SIZE, alloc=True)
    assert pool.used == used + 1
    pde = int(pool.words[mm.pgd * PTRS_PER_TABLE + (BASE >> 22)])
    assert pde & (PTE_P | PTE_W | PTE_U) == PTE_P | PTE_W | PTE_U
    pt = pde >> 12
    assert i == pt * PTRS_PER_TABLE + 5
    # A second walk in the same 4 MiB reuses the table; the next 4 MiB needs another one.
    assert mm.walk(BASE + 7 * PAGE_SIZE, alloc=True) == pt * PTRS_PER_TABLE + 7
    assert pool.used == used + 1
    mm.walk(BASE + (1 << 22), alloc=True)
    assert pool.used == used + 2


def test_first_read_of_anonymous_page_zero_fills_and_counts_fault_zero(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 4 * PAGE_SIZE, RW)
    pte = mm.handle_fault(BASE + 0x123, ACCESS_READ, acct)
    assert acct.counts[FAULT_ZERO] == 1
    assert acct.as_dict()["zero_fill"] == 1
    assert pte & (PTE_P | PTE_U | PTE_A | PTE_W) == PTE_P | PTE_U | PTE_A | PTE_W
    assert not pte & PTE_D
    assert not pte & PTE_COW
    assert mm.pte(BASE) == pte
    f = pte >> 12
    assert int(pool.refcount[f]) == 1
    assert not pool.frames[f].any()


def test_first_write_of_anonymous_page_sets_dirty(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    pte = mm.handle_fault(BASE, ACCESS_WRITE, acct)
    assert pte & (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D) == PTE_P | PTE_W | PTE_U | PTE_A | PTE_D
    assert acct.counts[FAULT_ZERO] == 1


def test_write_to_present_clean_writable_page_sets_dirty_without_a_new_fault(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    first = mm.handle_fault(BASE, ACCESS_READ, acct)
    pte = mm.handle_fault(BASE, ACCESS_WRITE, acct)
    assert pte == first | PTE_D
    assert sum(acct.counts) == 1


def test_read_only_vma_page_is_mapped_without_write_bit(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, PROT_READ)
    pte = mm.handle_fault(BASE, ACCESS_READ, acct)
    assert pte & PTE_P and pte & PTE_U
    assert not pte & PTE_W


def test_read_of_unmapped_address_raises_segfault_maperr(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    with pytest.raises(SegFault) as ei:
        mm.handle_fault(BASE + PAGE_SIZE, ACCESS_READ, acct)
    assert ei.value.maperr is True
    assert ei.value.addr == BASE + PAGE_SIZE
    with pytest.raises(SegFault) as ei:
        mm.read(0x1000, 4, acct)
    assert ei.value.maperr is True


def test_write_to_read_only_vma_raises_segfault_accerr(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, PROT_READ)
    with pytest.raises(SegFault) as ei:
        mm.handle_fault(BASE + 8, ACCESS_WRITE, acct)
    assert ei.value.maperr is False
    # Also once the page is present (the write-protect path).
    mm.handle_fault(BASE, ACCESS_READ, acct)
    with pytest.raises(SegFault) as ei:
        mm.handle_fault(BASE + 8, ACCESS_WRITE, acct)
    assert ei.value.maperr is False
    with pytest.raises(SegFault) as ei:
        mm.write(BASE, b"x", acct)
    assert ei.value.maperr is False


def test_any_access_to_prot_none_vma_raises_segfault_accerr(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, PROT_NONE)
    for access in (ACCESS_READ, ACCESS_WRITE):
        with pytest.raises(SegFault) as ei:
            mm.handle_fault(BASE, access, acct)
        assert ei.value.maperr is False


def test_failed_multi_page_write_leaves_memory_unchanged(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.map_region(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, PROT_READ)
    with pytest.raises(SegFault):
        mm.write(BASE + PAGE_SIZE - 2, b"abcd", acct)
    assert mm.read(BASE + PAGE_SIZE - 2, 2, acct) == b"\0\0"


def test_file_backed_vma_fills_file_bytes_and_zeroes_the_rest(pool, acct):
    mm = MM(pool)
    data = bytes(range(1, 201)) * 30  # 6000 bytes starting 0x100 into the first page
    start = BASE + 0x100
    mm.map_region(BASE, BASE + 3 * PAGE_SIZE, PROT_READ, data=data, data_start=start)
    assert mm.read(BASE, 0x100, acct) == bytes(0x100)
    assert acct.counts[FAULT_FILE] == 1
    assert mm.read(start, len(data), acct) == data
    assert acct.counts[FAULT_FILE] == 2
    tail_start = start + len(data)
    tail_len = BASE + 2 * PAGE_SIZE - tail_start
    assert mm.read(tail_start, tail_len, acct) == bytes(tail_len)
    # The third page holds no file byte: a kernel read sees zeros (Linux's zero page) and spends no frame.
    used = pool.used
    assert mm.read(BASE + 2 * PAGE_SIZE, PAGE_SIZE, acct) == bytes(PAGE_SIZE)
    assert acct.counts[FAULT_ZERO] == 0
    assert acct.counts[FAULT_FILE] == 2
    assert not mm.pte(BASE + 2 * PAGE_SIZE) & PTE_P
    assert pool.used == used


def test_writable_file_backed_page_is_private_to_the_mm(pool, acct):
    mm = MM(pool)
    data = b"hello world"
    mm.map_region(BASE, BASE + PAGE_SIZE, RW, data=data, data_start=BASE)
    mm.write(BASE, b"J", acct)
    assert mm.read(BASE, len(data), acct) == b"Jello world"
    assert data == b"hello world"


def test_stack_vma_grows_down_within_8_mib(pool, acct):
    mm = MM(pool)
    top = STACK_TOP
    stack = mm.map_region(top - 32 * PAGE_SIZE, top, RW, growsdown=True, name="[stack]")
    low = top - STACK_RLIMIT
    mm.write(low, b"\x77", acct)
    assert stack.start == low
    assert mm.find_vma(low) is stack
    assert mm.read(low, 1, acct) == b"\x77"
    with pytest.raises(SegFault) as ei:
        mm.handle_fault(low - 1, ACCESS_READ, acct)
    assert ei.value.maperr is True
    assert stack.start == low


def test_stack_keeps_the_guard_gap_to_the_vma_below(pool, acct):
    # expand_downwards leaves stack_guard_gap (256 pages) free above the next mapping down
    mm = MM(pool)
    top = STACK_TOP
    lower = mm.map_region(top - 400 * PAGE_SIZE, top - 300 * PAGE_SIZE, RW)
    stack = mm.map_region(top - 32 * PAGE_SIZE, top, RW, growsdown=True)
    mm.handle_fault(top - 40 * PAGE_SIZE, ACCESS_WRITE, acct)  # 260 pages above `lower`: grows
    assert stack.start == top - 40 * PAGE_SIZE
    assert mm._expand_stack(top - 50 * PAGE_SIZE) is None  # would leave only 250 pages
    with pytest.raises(SegFault):
        mm.handle_fault(top - 50 * PAGE_SIZE, ACCESS_WRITE, acct)
    assert stack.start == top - 40 * PAGE_SIZE
    mm.handle_fault(top - 300 * PAGE_SIZE - 1, ACCESS_WRITE, acct)  # served by `lower` itself
    assert mm.find_vma(top - 300 * PAGE_SIZE - 1) is lower


def test_vma_without_growsdown_does_not_expand(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, RW)
    with pytest.raises(SegFault) as ei:
        mm.handle_fault(BASE + PAGE_SIZE - 4, ACCESS_WRITE, acct)
    assert ei.value.maperr is True


def test_read_cstring_stops_at_nul_across_pages(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    s = b"A" * 10 + b"B" * 10
    mm.write(BASE + PAGE_SIZE - 10, s + b"\0", acct)
    assert mm.read_cstring(BASE + PAGE_SIZE - 10, acct) == s


def test_read_cstring_never_returns_more_than_limit_bytes(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.write(BASE, b"hello\0", acct)
    try:
        s = mm.read_cstring(BASE, acct, limit=3)
    except StringTooLong:
        return  # refusing a too-long string is what strncpy_from_user's callers do (ENAMETOOLONG)
    assert len(s) <= 3


# ---- fork: dup_mmap and copy-on-write ---------------------------------------------------------------


def forked_pair(pool: FramePool, acct: FaultAcct, npages: int = 4) -> tuple[MM, MM]:
    parent = MM(pool)
    parent.map_region(BASE, BASE + npages * PAGE_SIZE, RW, name="anon")
    touch_pages(parent, BASE, npages, acct)
    return parent, parent.dup_mmap()


def test_fork_gives_child_the_same_vmas_and_mm_fields(pool, acct):
    parent = MM(pool)
    parent.map_region(BASE, BASE + 4 * PAGE_SIZE, RW, name="anon")
    parent.map_region(BASE + 8 * PAGE_SIZE, BASE + 9 * PAGE_SIZE, PROT_READ, data=b"x", data_start=BASE)
    parent.map_region(STACK_TOP - PAGE_SIZE, STACK_TOP, RW, growsdown=True, name="[stack]")
    parent.start_brk, parent.brk, parent.exe_path = 0x0804C000, 0x0804D000, "/bin/x"
    child = parent.dup_mmap()
    assert child.vmas == parent.vmas
    assert all(a is not b for a, b in zip(child.vmas, parent.vmas, strict=True))
    assert child._starts == parent._starts
    assert (child.start_brk, child.brk, child.exe_path) == (0x0804C000, 0x0804D000, "/bin/x")
    assert child.pgd != parent.pgd
    assert child.users == 1


def test_fork_write_protects_private_pages_in_both_parent_and_child(pool, acct):
    parent, child = forked_pair(pool, acct)
    for i in range(4):
        va = BASE + i * PAGE_SIZE
        for mm in (parent, child):
            pte = mm.pte(va)
            assert pte & PTE_P and pte & PTE_U
            assert not pte & PTE_W, f"page {i} writable after fork"
            assert pte & PTE_COW
        assert parent.pte(va) == child.pte(va)


def test_fork_raises_refcount_of_each_private_frame_to_two(pool, acct):
    parent, child = forked_pair(pool, acct)
    frames = [frame_of(parent, BASE + i * PAGE_SIZE) for i in range(4)]
    assert [frame_of(child, BASE + i * PAGE_SIZE) for i in range(4)] == frames
    assert pool.refcount[frames].tolist() == [2, 2, 2, 2]


def test_fork_copies_no_data_frames_only_page_tables(pool, acct):
    parent = MM(pool)
    parent.map_region(BASE, BASE + 4 * PAGE_SIZE, RW)
    parent.map_region(BASE + (1 << 22), BASE + (1 << 22) + PAGE_SIZE, RW)
    touch_pages(parent, BASE, 4, acct)
    touch_pages(parent, BASE + (1 << 22), 1, acct)
    before = pool.used
    parent.dup_mmap()
    assert pool.used == before + 1 + 2  # the child's page directory and two page tables


def test_fork_does_not_copy_untouched_pages(pool, acct):
    parent = MM(pool)
    parent.map_region(BASE, BASE + 64 * PAGE_SIZE, RW)
    child = parent.dup_mmap()
    assert child.present_ptes().size == 0
    assert child.pte(BASE) == 0


def test_fork_keeps_shared_vma_pages_writable_and_shared(pool, acct):
    parent = MM(pool)
    parent.map_region(BASE, BASE + 2 * PAGE_SIZE, RW, shared=True)
    touch_pages(parent, BASE, 2, acct)
    child = parent.dup_mmap()
    for i in range(2):
        va = BASE + i * PAGE_SIZE
        assert parent.pte(va) & PTE_W and child.pte(va) & PTE_W
        assert not parent.pte(va) & PTE_COW and not child.pte(va) & PTE_COW
        assert frame_of(parent, va) == frame_of(child, va)
        assert int(pool.refcount[frame_of(parent, va)]) == 2
    child.write(BASE, b"shared!", acct)
    assert parent.read(BASE, 7, acct) == b"shared!"
    assert acct.counts[FAULT_COW_COPY] == 0


def test_fork_bumps_tlb_generation_of_parent(pool, acct):
    parent = MM(pool)
    parent.map_region(BASE, BASE + PAGE_SIZE, RW)
    gen = parent.tlb_gen
    parent.dup_mmap()
    assert parent.tlb_gen > gen


def test_child_write_after_fork_copies_the_page(pool, acct):
    parent, child = forked_pair(pool, acct)
    va = BASE + 2 * PAGE_SIZE
    old = frame_of(parent, va)
    used = pool.used
    cacct = FaultAcct()
    pte = child.handle_fault(va, ACCESS_WRITE, cacct)
    assert cacct.counts[FAULT_COW_COPY] == 1
    new = pte >> 12
    assert new != old
    assert frame_of(child, va) == new
    assert pool.used == used + 1
    assert int(pool.refcount[old]) == 1
    assert int(pool.refcount[new]) == 1
    assert (pool.frames[new] == pool.frames[old]).all()
    assert pte & (PTE_P | PTE_W | PTE_U | PTE_D) == PTE_P | PTE_W | PTE_U | PTE_D
    assert not pte & PTE_COW
    assert child.last_fault == (FAULT_COW_COPY, va, old, new)
    # The parent's PTE is untouched: still read-only and COW.
    assert parent.pte(va) & PTE_COW and not parent.pte(va) & PTE_W


def test_parent_write_after_child_copied_reuses_the_frame(pool, acct):
    parent, child = forked_pair(pool, acct)
    va = BASE
    old = frame_of(parent, va)
    child.handle_fault(va, ACCESS_WRITE, FaultAcct())
    used = pool.used
    pacct = FaultAcct()
    pte = parent.handle_fault(va, ACCESS_WRITE, pacct)
    assert pacct.counts[FAULT_COW_REUSE] == 1
    assert pacct.counts[FAULT_COW_COPY] == 0
    assert pte >> 12 == old
    assert pte & PTE_W and pte & PTE_D
    assert not pte & PTE_COW
    assert pool.used == used
    assert int(pool.refcount[old]) == 1


def test_copy_on_write_isolates_child_writes_from_parent(pool, acct):
    parent, child = forked_pair(pool, acct)
    parent.write(BASE + 100, b"parent data", acct)  # parent breaks COW first
    snapshot = parent.read(BASE, 4 * PAGE_SIZE, acct)
    cacct = FaultAcct()
    child.write(BASE + 100, b"CHILD", cacct)
    child.write(BASE + 3 * PAGE_SIZE, b"C3", cacct)
    assert parent.read(BASE, 4 * PAGE_SIZE, acct) == snapshot
    assert child.read(BASE + 100, 11, cacct) == b"CHILD" + b"\0" * 6  # the child saw the pre-fork bytes
    assert child.read(BASE + 3 * PAGE_SIZE, 2, cacct) == b"C3"


def test_parent_writes_after_fork_are_invisible_to_child(pool, acct):
    parent, child = forked_pair(pool, acct)
    parent.write(BASE + PAGE_SIZE, b"new", acct)
    assert acct.counts[FAULT_COW_COPY] == 1
    assert child.read(BASE + PAGE_SIZE, 3, FaultAcct()) == b"\x01\0\0"


def test_read_after_fork_does_not_copy(pool, acct):
    parent, child = forked_pair(pool, acct)
    used = pool.used
    cacct = FaultAcct()
    child.read(BASE, 4 * PAGE_SIZE, cacct)
    assert sum(cacct.counts) == 0
    assert pool.used == used


def test_nested_forks_copy_only_while_frame_is_shared(pool, acct):
    a, b = forked_pair(pool, acct, npages=1)
    c = b.dup_mmap()
    f = frame_of(a, BASE)
    assert int(pool.refcount[f]) == 3
    b.write(BASE, b"b", FaultAcct())
    assert int(pool.refcount[f]) == 2
    c.write(BASE, b"c", FaultAcct())
    assert int(pool.refcount[f]) == 1
    last = FaultAcct()
    a.write(BASE, b"a", last)
    assert last.counts[FAULT_COW_REUSE] == 1
    assert [m.read(BASE, 1, acct) for m in (a, b, c)] == [b"a", b"b", b"c"]


def test_write_to_read_only_private_page_after_mprotect_is_a_minor_fault(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.write(BASE, b"x", acct)
    mm.protect(BASE, BASE + PAGE_SIZE, PROT_READ)
    mm.protect(BASE, BASE + PAGE_SIZE, RW)
    f = frame_of(mm, BASE)
    a2 = FaultAcct()
    mm.write(BASE, b"y", a2)
    assert a2.counts[FAULT_MINOR] == 1
    assert frame_of(mm, BASE) == f


def test_write_to_write_protected_shared_page_is_wp_shared(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW, shared=True)
    mm.write(BASE, b"x", acct)
    mm.protect(BASE, BASE + PAGE_SIZE, PROT_READ)
    mm.protect(BASE, BASE + PAGE_SIZE, RW)
    a2 = FaultAcct()
    mm.write(BASE, b"y", a2)
    assert a2.counts[FAULT_WP_SHARED] == 1


# ---- munmap, mprotect, mremap, get_unmapped_area ------------------------------------------------------


def test_unmap_middle_splits_the_vma_and_frees_its_frames(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 6 * PAGE_SIZE, RW, name="anon")
    touch_pages(mm, BASE, 6, acct)
    freed = [frame_of(mm, BASE + i * PAGE_SIZE) for i in (2, 3)]
    used = pool.used
    mm.unmap(BASE + 2 * PAGE_SIZE, BASE + 4 * PAGE_SIZE)
    assert [(v.start, v.end) for v in mm.vmas] == [(BASE, BASE + 2 * PAGE_SIZE),
                                                   (BASE + 4 * PAGE_SIZE, BASE + 6 * PAGE_SIZE)]
    assert all(v.name == "anon" and v.prot == RW for v in mm.vmas)
    assert pool.used == used - 2
    assert pool.refcount[freed].tolist() == [0, 0]
    assert mm.pte(BASE + 2 * PAGE_SIZE) == 0
    with pytest.raises(SegFault) as ei:
        mm.read(BASE + 3 * PAGE_SIZE, 1, acct)
    assert ei.value.maperr
    assert mm.read(BASE + 4 * PAGE_SIZE, 1, acct) == b"\x04"
    assert mm.read(BASE + PAGE_SIZE, 1, acct) == b"\x01"


def test_unmap_after_fork_only_drops_a_reference(pool, acct):
    parent, child = forked_pair(pool, acct)
    f = frame_of(parent, BASE)
    child.unmap(BASE, BASE + PAGE_SIZE)
    assert int(pool.refcount[f]) == 1
    assert parent.read(BASE, 1, acct) == b"\x00"


def test_unmap_spanning_several_vmas_removes_them_all(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.map_region(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, PROT_READ)
    mm.map_region(BASE + 4 * PAGE_SIZE, BASE + 6 * PAGE_SIZE, RW)
    mm.unmap(BASE, BASE + 5 * PAGE_SIZE)
    assert [(v.start, v.end) for v in mm.vmas] == [(BASE + 5 * PAGE_SIZE, BASE + 6 * PAGE_SIZE)]


def test_split_file_backed_vma_keeps_file_offsets(pool, acct):
    mm = MM(pool)
    data = bytes([i // PAGE_SIZE + 1 for i in range(3 * PAGE_SIZE)])
    mm.map_region(BASE, BASE + 3 * PAGE_SIZE, PROT_READ, data=data, data_start=BASE)
    mm.unmap(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE)
    assert mm.read(BASE + 2 * PAGE_SIZE, 1, acct) == b"\x03"
    assert mm.read(BASE, 1, acct) == b"\x01"


def test_map_region_over_existing_mapping_replaces_it(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    touch_pages(mm, BASE, 2, acct, fill=0xEE)
    used = pool.used
    mm.map_region(BASE, BASE + PAGE_SIZE, PROT_READ)
    assert pool.used == used - 1
    assert mm.read(BASE, 1, acct) == b"\0"
    assert [(v.start, v.end, v.prot) for v in mm.vmas] == [(BASE, BASE + PAGE_SIZE, PROT_READ),
                                                           (BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, RW)]


def test_protect_splits_vma_and_clears_write_bit(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 4 * PAGE_SIZE, RW)
    touch_pages(mm, BASE, 4, acct)
    gen = mm.tlb_gen
    mm.protect(BASE + PAGE_SIZE, BASE + 3 * PAGE_SIZE, PROT_READ)
    assert [(v.start, v.end, v.prot) for v in mm.vmas] == [
        (BASE, BASE + PAGE_SIZE, RW),
        (BASE + PAGE_SIZE, BASE + 3 * PAGE_SIZE, PROT_READ),
        (BASE + 3 * PAGE_SIZE, BASE + 4 * PAGE_SIZE, RW),
    ]
    assert mm.tlb_gen > gen
    assert mm.pte(BASE) & PTE_W
    assert not mm.pte(BASE + PAGE_SIZE) & PTE_W
    assert not mm.pte(BASE + 2 * PAGE_SIZE) & PTE_W
    assert mm.pte(BASE + 3 * PAGE_SIZE) & PTE_W
    with pytest.raises(SegFault) as ei:
        mm.write(BASE + PAGE_SIZE, b"z", acct)
    assert not ei.value.maperr
    assert mm.read(BASE + PAGE_SIZE, 1, acct) == b"\x01"


def test_protect_none_keeps_frame_but_denies_access_until_restored(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.write(BASE, b"keep", acct)
    f = frame_of(mm, BASE)
    mm.protect(BASE, BASE + PAGE_SIZE, PROT_NONE)
    pte = mm.pte(BASE)
    assert pte & PTE_P and not pte & PTE_U and not pte & PTE_W
    with pytest.raises(SegFault) as ei:
        mm.read(BASE, 4, acct)
    assert not ei.value.maperr
    mm.protect(BASE, BASE + PAGE_SIZE, RW)
    assert mm.read(BASE, 4, acct) == b"keep"
    mm.write(BASE, b"more", acct)
    assert frame_of(mm, BASE) == f
    assert mm.pte(BASE) & PTE_W


def test_move_range_moves_ptes_without_copying_frames(pool, acct):
    mm = MM(pool)
    old = BASE
    mm.map_region(old, old + 3 * PAGE_SIZE, RW, name="moving")
    touch_pages(mm, old, 3, acct, fill=0x42)
    frames = [frame_of(mm, old + i * PAGE_SIZE) for i in range(3)]
    new = BASE + (8 << 20) - PAGE_SIZE  # straddles a page-table boundary
    used = pool.used
    mm.move_range(old, 3 * PAGE_SIZE, new, 5 * PAGE_SIZE)
    assert [frame_of(mm, new + i * PAGE_SIZE) for i in range(3)] == frames
    assert pool.refcount[frames].tolist() == [1, 1, 1]
    assert pool.used == used + 2  # only the two new page tables; no data frame copied
    assert mm.pte(old) == 0
    assert [(v.start, v.end, v.name) for v in mm.vmas] == [(new, new + 5 * PAGE_SIZE, "moving")]
    assert mm.read(new, 3 * PAGE_SIZE, acct) == b"\x42" + b"\0" * (PAGE_SIZE - 1) + b"\x42" \
        + b"\0" * (PAGE_SIZE - 1) + b"\x42" + b"\0" * (PAGE_SIZE - 1)
    assert mm.read(new + 4 * PAGE_SIZE, 1, acct) == b"\0"  # the grown tail is fresh memory
    with pytest.raises(SegFault):
        mm.read(old, 1, acct)


def test_move_range_of_file_backed_vma_shifts_its_data(pool, acct):
    mm = MM(pool)
    data = b"A" * PAGE_SIZE + b"B" * PAGE_SIZE
    mm.map_region(BASE, BASE + 2 * PAGE_SIZE, PROT_READ, data=data, data_start=BASE)
    mm.move_range(BASE, 2 * PAGE_SIZE, BASE + 16 * PAGE_SIZE, 2 * PAGE_SIZE)
    assert mm.read(BASE + 17 * PAGE_SIZE, 2, acct) == b"BB"


def test_get_unmapped_area_is_top_down_below_mmap_base(pool):
    mm = MM(pool)
    a = mm.get_unmapped_area(PAGE_SIZE)
    assert a == MMAP_BASE - PAGE_SIZE
    mm.map_region(a, a + PAGE_SIZE, RW)
    b = mm.get_unmapped_area(3 * PAGE_SIZE + 1)
    assert b == MMAP_BASE - 5 * PAGE_SIZE
    mm.map_region(b, b + 4 * PAGE_SIZE, RW)
    mm.unmap(a, a + PAGE_SIZE)
    assert mm.get_unmapped_area(PAGE_SIZE) == a  # the hole at the top is reused
    assert mm.get_unmapped_area(2 * PAGE_SIZE) == b - 2 * PAGE_SIZE


def test_get_unmapped_area_ignores_the_stack_above_mmap_base(pool):
    mm = MM(pool)
    mm.map_region(STACK_TOP - 32 * PAGE_SIZE, STACK_TOP, RW, growsdown=True)
    assert mm.get_unmapped_area(PAGE_SIZE) == MMAP_BASE - PAGE_SIZE


def test_get_unmapped_area_is_deterministic_across_mms(pool):
    def layout() -> list[int]:
        mm = MM(pool)
        out = []
        for n in (1, 5, 2, 16):
            a = mm.get_unmapped_area(n * PAGE_SIZE)
            mm.map_region(a, a + n * PAGE_SIZE, RW)
            out.append(a)
        mm.release()
        return out

    assert layout() == layout()


def test_get_unmapped_area_uses_a_free_hint_and_ignores_a_busy_one(pool):
    mm = MM(pool)
    assert mm.get_unmapped_area(PAGE_SIZE, hint=BASE + 5) == BASE
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    assert mm.get_unmapped_area(PAGE_SIZE, hint=BASE) == MMAP_BASE - PAGE_SIZE
    assert mm.get_unmapped_area(PAGE_SIZE, hint=0x1000) == MMAP_BASE - PAGE_SIZE  # below mmap_min_addr


# ---- teardown -----------------------------------------------------------------------------------------


def test_release_after_forks_and_writes_returns_every_frame(pool, acct):
    kept = pool.alloc()  # a frame someone else holds
    baseline = pool.used
    mms = []
    for j in range(2):
        mm = MM(pool)
        mm.map_region(BASE, BASE + 8 * PAGE_SIZE, RW)
        mm.map_region(BASE + (4 << 20), BASE + (4 << 20) + 2 * PAGE_SIZE, RW, shared=True)
        mm.map_region(STACK_TOP - 4 * PAGE_SIZE, STACK_TOP, RW, growsdown=True)
        touch_pages(mm, BASE, 8, acct, fill=j)
        touch_pages(mm, BASE + (4 << 20), 2, acct)
        mm.write(STACK_TOP - 6 * PAGE_SIZE, b"grow", acct)
        mms.append(mm)
    for _ in range(3):
        child = mms[-1].dup_mmap()
        child.write(BASE + 3 * PAGE_SIZE, b"child", acct)
        child.write(BASE + (4 << 20), b"shared", acct)
        mms[0].write(BASE + 5 * PAGE_SIZE, b"parent", acct)
        mms.append(child)
    mms[1].protect(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, PROT_NONE)
    mms[2].unmap(BASE + 6 * PAGE_SIZE, BASE + 7 * PAGE_SIZE)
    assert pool.used > baseline
    for mm in mms:
        mm.release()
    assert pool.used == baseline
    expected = np.zeros(pool.nframes, dtype=np.int32)
    expected[kept] = 1
    assert (pool.refcount == expected).all()


def test_release_leaves_the_mm_empty(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + PAGE_SIZE, RW)
    mm.write(BASE, b"x", acct)
    mm.release()
    assert mm.vmas == [] and mm.pgd == 0
    assert pool.used == 0


def test_present_ptes_lists_only_present_entries(pool, acct):
    mm = MM(pool)
    mm.map_region(BASE, BASE + 8 * PAGE_SIZE, RW)
    touch_pages(mm, BASE, 3, acct)
    ptes = mm.present_ptes()
    assert ptes.size == 3
    assert ((ptes & PTE_FRAME) != 0).all()
