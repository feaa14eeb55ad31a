"""Kernel-level tests of kernel_model without a CPU: exec's initial stack, clone flags, fork/vfork/clone,
exit and wait, reparenting, futexes and the syscall table, all driven through Kernel.syscall.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest

from kernel_model import exec as binfmt
from kernel_model.abi import (
    CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_FS, CLONE_NEWNS, CLONE_NEWUSER, CLONE_PARENT_SETTID,
    CLONE_SETTLS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, SYSCALL_NAMES, E, SIG,
)
from kernel_model.exit import WALL, WCLONE, WNOHANG
from kernel_model.files import KernelError
from kernel_model.fork import check_clone_flags, clone_kind
from kernel_model.kernel import Kernel
from kernel_model.mm import PAGE_SIZE, PROT_READ, PROT_WRITE, PTE_FRAME, STACK_TOP, SegFault, page_up
from kernel_model.task import DEAD, RUNNING, SLEEPING, ZOMBIE

NR_EXIT, NR_FORK, NR_GETPID, NR_GETPPID, NR_WAIT4 = 1, 2, 20, 64, 114
NR_CLONE, NR_VFORK, NR_FUTEX = 120, 190, 240
NR_EXIT_GROUP, NR_ACCT = 252, 51
FUTEX_WAIT, FUTEX_WAKE, FUTEX_PRIVATE = 0, 1, 128
PTHREAD_CREATE_FLAGS = 0x3D0F00
THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD

SCRATCH = 0x50000000  # a read-write page mapped in the first process for syscall arguments
STATUS = SCRATCH + 0x100
FUTEX_WORD = SCRATCH + 0x200

TEXT_VADDR, DATA_VADDR = 0x08048000, 0x08049100
ENTRY = 0x08048080
PHDR = 0x08048034
IMAGE_PATH = "/opt/guest/bin/prog"


@dataclass
class Seg:
    vaddr: int
    memsz: int
    filesz: int
    offset: int
    flags: int
    align: int = PAGE_SIZE


@dataclass
class FakeImage:
    path: str
    etype: int
    entry: int
    phentsize: int
    phnum: int
    phdr_vaddr: int
    segments: tuple
    data: bytes


def make_image() -> FakeImage:
    data = bytes((i * 7 + 3) & 0xFF for i in range(0x200))
    segs = (
        Seg(TEXT_VADDR, 0x100, 0x100, 0, binfmt.PF_R | binfmt.PF_X),
        Seg(DATA_VADDR, 0x1000, 0x40, 0x100, binfmt.PF_R | binfmt.PF_W),  # 0x40 bytes, then .bss
    )
    return FakeImage(IMAGE_PATH, 2, ENTRY, 32, len(segs), PHDR, segs, data)


def new_kernel() -> Kernel:
    return Kernel(mem_bytes=16 << 20, loader=None)


def spawn(k: Kernel, argv=("prog",), envp=()):
    t = k.spawn(make_image(), list(argv), list(envp))
    t.mm.map_region(SCRATCH, SCRATCH + PAGE_SIZE, PROT_READ | PROT_WRITE, name="scratch")
    return t


def sc(k: Kernel, task, nr: int, *args: int) -> int:
    """Run syscall nr with up to six arguments; return regs.ax (unsigned, as the CPU would see it)."""
    regs = task.regs
    regs.ax = nr
    names = ("bx", "cx", "dx", "si", "di", "bp")
    for name, value in zip(names, args + (0,) * (6 - len(args)), strict=True):
        setattr(regs, name, value & 0xFFFFFFFF)
    k.syscall(task)
    return regs.ax


def neg(errno: int) -> int:
    return -errno & 0xFFFFFFFF


def fork(k: Kernel, task):
    pid = sc(k, task, NR_FORK)
    assert pid < 0x80000000, f"fork failed: {pid - (1 << 32)}"
    return k.tasks[pid]


@pytest.fixture
def k() -> Kernel:
    return new_kernel()


@pytest.fixture
def init(k):
    return spawn(k)


# ---- exec: the loaded image and the initial stack --------------------------------------------------------


def read_words(k, task, addr, n):
    return list(struct.unpack(f"<{n}I", k.get_bytes(task, addr, 4 * n)))


def test_initial_stack_holds_argc_argv_envp_and_auxv_in_linux_order(k):
    argv, envp = ["prog", "first arg", ""], ["HOME=/root", "LANG=C"]
    t = k.spawn(make_image(), argv, envp)
    sp = t.regs.sp
    assert sp % 16 == 0
    assert t.mm.start_stack == sp
    assert read_words(k, t, sp, 1) == [len(argv)]
    p = sp + 4
    argv_ptrs = read_words(k, t, p, len(argv) + 1)
    assert argv_ptrs[-1] == 0
    assert [k.get_cstring(t, a) for a in argv_ptrs[:-1]] == [a.encode() for a in argv]
    p += 4 * (len(argv) + 1)
    envp_ptrs = read_words(k, t, p, len(envp) + 1)
    assert envp_ptrs[-1] == 0
    assert [k.get_cstring(t, a) for a in envp_ptrs[:-1]] == [e.encode() for e in envp]
    p += 4 * (len(envp) + 1)
    auxv = []
    while True:
        tag, val = read_words(k, t, p, 2)
        auxv.append((tag, val))
        p += 8
        if tag == binfmt.AT_NULL:
            break
    assert auxv[-1] == (binfmt.AT_NULL, 0)
    aux = dict(auxv)
    assert len(aux) == len(auxv), "an auxv tag appears twice"
    assert aux[binfmt.AT_PHDR] == PHDR
    assert aux[binfmt.AT_PHENT] == 32
    assert aux[binfmt.AT_PHNUM] == 2
    assert aux[binfmt.AT_PAGESZ] == 4096
    assert aux[binfmt.AT_ENTRY] == ENTRY
    assert aux[binfmt.AT_BASE] == 0
    assert aux[binfmt.AT_SECURE] == 0
    assert aux[binfmt.AT_UID] == k.uid and aux[binfmt.AT_GID] == k.gid
    rnd = k.get_bytes(t, aux[binfmt.AT_RANDOM], 16)
    assert len(rnd) == 16 and any(rnd)
    assert k.get_cstring(t, aux[binfmt.AT_EXECFN]) == IMAGE_PATH.encode()
    assert k.get_cstring(t, aux[binfmt.AT_PLATFORM]) == b"i686"
    # Strings live above the tables, the file name topmost, argv strings below envp strings.
    assert aux[binfmt.AT_EXECFN] == STACK_TOP - 4 - len(IMAGE_PATH) - 1
    assert max(argv_ptrs) < min(envp_ptrs[:-1]) < aux[binfmt.AT_EXECFN]
    assert p <= min(aux[binfmt.AT_RANDOM], aux[binfmt.AT_PLATFORM])
    assert (t.mm.arg_start, t.mm.env_start) == (argv_ptrs[0], envp_ptrs[0])


def test_initial_stack_is_deterministic(k):
    a = k.spawn(make_image(), ["prog", "x"], ["A=1"])
    b = new_kernel().spawn(make_image(), ["prog", "x"], ["A=1"])
    assert a.regs.sp == b.regs.sp
    n = (STACK_TOP - a.regs.sp) // 4
    assert read_words(k, a, a.regs.sp, n)[:n] == read_words(k, a, b.regs.sp, n)


def test_spawn_starts_the_first_process_at_the_entry_point(k):
    t = spawn(k)
    assert t.pid == k.first_pid and t.tgid == k.first_pid
    assert k.init_task is t and k.tasks == {k.first_pid: t}
    assert t.regs.ip == ENTRY
    assert t.regs.cs == 0x73 and t.regs.ss == 0x7B
    assert t.state == RUNNING
    assert t.comm == "prog"
    assert t.mm.exe_path == IMAGE_PATH
    assert sorted(t.files.fds) == [0, 1, 2]


def test_load_maps_segments_with_file_bytes_zero_bss_and_brk(k):
    image = make_image()
    t = k.spawn(image, ["prog"], [])
    assert k.get_bytes(t, TEXT_VADDR, 0x100) == image.data[:0x100]
    assert k.get_bytes(t, DATA_VADDR, 0x40) == image.data[0x100:0x140]
    assert k.get_bytes(t, DATA_VADDR + 0x40, 0x1000 - 0x40) == bytes(0x1000 - 0x40)
    assert t.mm.start_brk == t.mm.brk == page_up(DATA_VADDR + 0x1000)
    text = t.mm.find_vma(TEXT_VADDR)
    assert text.prot == binfmt.elf_prot(binfmt.PF_R | binfmt.PF_X)
    with pytest.raises(SegFault):
        t.mm.write(TEXT_VADDR, b"x", t.acct)
    k.put_bytes(t, DATA_VADDR + 0x80, b"bss write")
    assert k.get_bytes(t, DATA_VADDR + 0x80, 9) == b"bss write"


def test_too_large_argument_list_is_e2big_and_frees_the_new_mm(k):
    before = k.pool.used
    with pytest.raises(KernelError) as ei:
        binfmt.load_elf_binary(k, make_image(), [b"x" * 100_000] * 11, [], b"/p")
    assert ei.value.errno == E.E2BIG
    assert k.pool.used == before


# ---- clone flags -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [
    CLONE_THREAD | CLONE_VM,
    CLONE_SIGHAND,
    CLONE_SIGHAND | CLONE_FS,
    CLONE_NEWNS | CLONE_FS,
    CLONE_NEWUSER | CLONE_FS,
], ids=["thread_without_sighand", "sighand_without_vm", "sighand_fs_without_vm", "newns_with_fs",
        "newuser_with_fs"])
def test_check_clone_flags_rejects_inconsistent_flags_with_einval(flags):
    with pytest.raises(KernelError) as ei:
        check_clone_flags(flags)
    assert ei.value.errno == E.EINVAL


@pytest.mark.parametrize("flags", [0, CLONE_VM, CLONE_VM | CLONE_SIGHAND, PTHREAD_CREATE_FLAGS, CLONE_NEWNS])
def test_check_clone_flags_accepts_valid_combinations_including_pthread_create(flags):
    check_clone_flags(flags)


def test_pthread_create_flags_are_the_expected_set():
    assert PTHREAD_CREATE_FLAGS == (THREAD_FLAGS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
                                    | CLONE_CHILD_CLEARTID)
    assert clone_kind(PTHREAD_CREATE_FLAGS) == "thread"


def test_clone_syscall_with_invalid_flags_returns_einval_and_creates_nothing(k, init):
    assert sc(k, init, NR_CLONE, CLONE_THREAD | CLONE_VM) == neg(E.EINVAL)
    assert list(k.tasks) == [k.first_pid]
    assert init.children == []


# ---- fork, clone, vfork ----------------------------------------------------------------------------------


def test_fork_returns_child_pid_to_parent_and_zero_to_child_with_same_ip_and_sp(k, init):
    init.regs.ip, init.regs.sp = 0x08048099, 0xBFFFF000
    pid = sc(k, init, NR_FORK)
    assert pid == k.first_pid + 1
    child = k.tasks[pid]
    assert child.regs.ax == 0
    assert (child.regs.ip, child.regs.sp) == (0x08048099, 0xBFFFF000)
    assert child.regs.orig_ax == NR_FORK
    assert child.real_parent is init and init.children == [child]
    assert child.tgid == k.first_pid + 1 and child.exit_signal == SIG.SIGCHLD
    assert child.mm is not init.mm and child.files is not init.files
    assert child.state == RUNNING and child in k.new_tasks and child.regs_dirty
    assert k.stats.clones["fork"] == 1
    assert sc(k, child, NR_GETPPID) == k.first_pid
    assert sc(k, child, NR_GETPID) == k.first_pid + 1


def test_fork_through_syscall_shares_frames_copy_on_write(k, init):
    k.put_bytes(init, SCRATCH, b"before")
    child = fork(k, init)
    f = init.mm.pte(SCRATCH) & PTE_FRAME
    assert child.mm.pte(SCRATCH) & PTE_FRAME == f
    k.put_bytes(child, SCRATCH, b"CHILD!")
    assert k.get_bytes(init, SCRATCH, 6) == b"before"
    assert k.get_bytes(child, SCRATCH, 6) == b"CHILD!"


def test_clone_with_new_stack_sets_child_sp_only(k, init):
    init.regs.sp = 0xBFFFE000
    pid = sc(k, init, NR_CLONE, SIG.SIGCHLD, SCRATCH + 0x800)
    child = k.tasks[pid]
    assert child.regs.sp == SCRATCH + 0x800
    assert init.regs.sp == 0xBFFFE000
    assert child.regs.ax == 0
    assert child.exit_signal == SIG.SIGCHLD
    assert child.mm is not init.mm


def test_clone_vm_shares_the_address_space(k, init):
    pid = sc(k, init, NR_CLONE, CLONE_VM | SIG.SIGCHLD, SCRATCH + 0x800)
    child = k.tasks[pid]
    assert child.mm is init.mm and init.mm.users == 2
    k.put_bytes(child, SCRATCH, b"seen")
    assert k.get_bytes(init, SCRATCH, 4) == b"seen"
    assert k.stats.clones["clone_vm"] == 1


def test_clone_thread_joins_the_thread_group(k, init):
    tid = sc(k, init, NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)
    thread = k.tasks[tid]
    assert thread.tgid == init.tgid and thread.group_leader is init
    assert thread.signal is init.signal and init.signal.threads == [init, thread]
    assert thread.exit_signal == -1
    assert thread not in init.children
    assert sc(k, thread, NR_GETPID) == init.pid
    assert k.stats.clones["thread"] == 1


def test_clone_parent_settid_writes_pid_into_parent_memory(k, init):
    pid = sc(k, init, NR_CLONE, CLONE_PARENT_SETTID | SIG.SIGCHLD, 0, SCRATCH + 0x40)
    assert k.get_u32(init, SCRATCH + 0x40) == pid


def test_vfork_parent_sleeps_until_child_exits(k, init):
    init.regs.ip = 0x080480AA
    assert sc(k, init, NR_VFORK) == NR_VFORK  # no result yet: regs.ax still holds the number
    assert init.state == SLEEPING
    assert init.continuation is not None
    child = next(t for t in k.tasks.values() if t is not init)
    assert child.mm is init.mm
    assert child.regs.ax == 0 and child.regs.ip == 0x080480AA
    assert child.state == RUNNING
    assert k.stats.clones["vfork"] == 1
    sc(k, child, NR_EXIT, 0)
    assert child.state == ZOMBIE
    assert init.state == RUNNING
    assert init.mm.users == 1
    assert k.resume(init) is True
    assert init.regs.ax == child.pid
    assert init.continuation is None


def test_fork_with_an_empty_frame_pool_returns_enomem_and_creates_no_task():
    k = Kernel(mem_bytes=PAGE_SIZE * 40, loader=None)
    t = spawn(k)
    k.put_bytes(t, SCRATCH, b"x")
    while k.pool.nfree:
        k.pool.alloc()
    assert sc(k, t, NR_FORK) == neg(E.ENOMEM)
    assert list(k.tasks) == [k.first_pid]


def test_fork_running_out_of_frames_mid_copy_leaks_nothing():
    k = Kernel(mem_bytes=PAGE_SIZE * 64, loader=None)
    t = spawn(k)
    k.put_bytes(t, SCRATCH, b"x")
    hog = []
    while k.pool.nfree > 2:  # room for the child's page directory and one page table only
        hog.append(k.pool.alloc())
    assert sc(k, t, NR_FORK) == neg(E.ENOMEM)
    for f in hog:
        k.pool.put(f)
    sc(k, t, NR_EXIT_GROUP, 0)
    assert k.pool.used == 0


# ---- exit and wait ---------------------------------------------------------------------------------------


def test_exit_then_wait4_returns_child_pid_and_writes_status(k, init):
    child = fork(k, init)
    sc(k, child, NR_EXIT, 3)
    assert child.state == ZOMBIE
    assert child.mm is None  # the address space goes at exit, not at reap
    assert sc(k, init, NR_WAIT4, -1, STATUS, 0, 0) == child.pid
    assert k.get_u32(init, STATUS) == 3 << 8
    assert child.state == DEAD
    assert child.pid not in k.tasks and child in k.dead_tasks
    assert init.children == []
    assert k.stats.reaped == 1


def test_wait4_sleeps_until_child_exits_then_returns_its_status(k, init):
    child = fork(k, init)
    sc(k, init, NR_WAIT4, child.pid, STATUS, 0, 0)
    assert init.state == SLEEPING and init.continuation is not None
    sc(k, child, NR_EXIT_GROUP, 42)
    assert init.state == RUNNING
    assert k.resume(init) is True
    assert init.regs.ax == child.pid
    assert k.get_u32(init, STATUS) == 42 << 8


def test_wait4_wnohang_with_running_child_returns_zero(k, init):
    child = fork(k, init)
    k.put_u32(init, STATUS, 0xDEADBEEF)
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == 0
    assert init.state == RUNNING
    assert k.get_u32(init, STATUS) == 0xDEADBEEF
    assert child.state == RUNNING


def test_wait4_without_children_returns_echild(k, init):
    assert sc(k, init, NR_WAIT4, -1, STATUS, 0, 0) == neg(E.ECHILD)
    assert neg(E.ECHILD) == (-10) & 0xFFFFFFFF
    assert init.state == RUNNING and init.continuation is None


def test_wait4_for_a_pid_that_is_not_a_child_returns_echild(k, init):
    fork(k, init)
    assert sc(k, init, NR_WAIT4, 99, STATUS, WNOHANG, 0) == neg(E.ECHILD)


def test_wait4_with_bad_status_pointer_returns_efault(k, init):
    child = fork(k, init)
    sc(k, child, NR_EXIT, 0)
    assert sc(k, init, NR_WAIT4, -1, 0x1000, 0, 0) == neg(E.EFAULT)


def test_wclone_selects_children_whose_exit_signal_is_not_sigchld(k, init):
    a = fork(k, init)  # exit signal SIGCHLD
    b = k.tasks[sc(k, init, NR_CLONE, 0, 0)]  # clone with exit signal 0: a "clone" child
    assert b.exit_signal == 0
    sc(k, a, NR_EXIT, 1)
    sc(k, b, NR_EXIT, 2)
    assert b.state == ZOMBIE  # no exit signal, but still a zombie for its parent
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG | WCLONE, 0) == b.pid
    assert k.get_u32(init, STATUS) == 2 << 8
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG | WCLONE, 0) == neg(E.ECHILD)
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == a.pid


def test_wait_without_wclone_ignores_clone_children(k, init):
    b = k.tasks[sc(k, init, NR_CLONE, 0, 0)]
    sc(k, b, NR_EXIT, 0)
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == neg(E.ECHILD)
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG | WALL, 0) == b.pid


def test_orphans_are_reparented_to_init_pid_1_which_reaps_them(k, init):
    # "init" here is the first guest process; the model's init is pid 1, which runs no guest code.
    a = fork(k, init)
    b = fork(k, a)
    assert b.real_parent is a
    sc(k, a, NR_EXIT, 0)
    assert b.real_parent is None and b not in init.children and a.children == []
    assert sc(k, b, NR_GETPPID) == 1
    sc(k, b, NR_EXIT, 7)
    assert b.state == DEAD  # init reaped it
    assert sc(k, init, NR_WAIT4, -1, STATUS, 0, 0) == a.pid
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == neg(E.ECHILD)


def test_first_process_has_a_pid_that_is_not_1_and_its_parent_is_the_shell(k, init):
    assert init.pid == k.first_pid != 1
    assert sc(k, init, NR_GETPPID) == k.first_pid - 1


def test_zombie_orphan_wakes_init_waiting_in_wait4(k, init):
    a = fork(k, init)
    b = fork(k, a)
    sc(k, b, NR_EXIT, 5)  # a zombie child of a
    sc(k, init, NR_WAIT4, b.pid, STATUS, 0, 0)
    assert init.regs.ax == neg(E.ECHILD)  # b is not init's child yet
    sc(k, init, NR_WAIT4, -1, STATUS, WALL, 0)
    assert init.state == SLEEPING
    sc(k, a, NR_EXIT, 0)  # b goes to pid 1, which reaps the zombie at once; a becomes the waiter's zombie
    assert b.state == DEAD
    assert init.state == RUNNING
    assert k.resume(init) is True
    assert init.regs.ax == a.pid


def test_reparented_clone_child_goes_to_init_and_is_reaped_at_its_exit(k, init):
    a = fork(k, init)
    b = k.tasks[sc(k, a, NR_CLONE, 0, 0)]  # exit signal 0
    sc(k, a, NR_EXIT, 0)
    assert sc(k, init, NR_WAIT4, a.pid, STATUS, 0, 0) == a.pid
    sc(k, b, NR_EXIT, 4)
    assert b.state == DEAD
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG | WALL, 0) == neg(E.ECHILD)


def test_thread_exit_is_reaped_at_once_and_group_ends_with_last_thread(k, init):
    parent_of_group = init
    child = fork(k, parent_of_group)
    tid = sc(k, child, NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)
    thread = k.tasks[tid]
    sc(k, child, NR_EXIT, 9)  # the leader exits first: a zombie waiting for its thread
    assert child.state == ZOMBIE
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == 0
    sc(k, thread, NR_EXIT, 0)
    assert thread.state == DEAD
    assert sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG, 0) == child.pid
    assert k.get_u32(init, STATUS) == 9 << 8


def test_exit_group_ends_every_thread_with_one_status(k, init):
    child = fork(k, init)
    threads = [k.tasks[sc(k, child, NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)] for _ in range(3)]
    sc(k, threads[1], NR_EXIT_GROUP, 17)
    assert all(t.state == DEAD for t in threads)
    assert child.state == ZOMBIE
    assert sc(k, init, NR_WAIT4, child.pid, STATUS, 0, 0) == child.pid
    assert k.get_u32(init, STATUS) == 17 << 8


def test_no_frames_leak_after_forks_vforks_threads_exits_and_reaping(k):
    baseline = k.pool.used
    init = spawn(k)
    k.put_bytes(init, SCRATCH, b"init data")
    kids = []
    for i in range(3):
        c = fork(k, init)
        k.put_bytes(c, SCRATCH + 8 * i, b"child %d" % i)
        c.mm.map_region(0x60000000, 0x60000000 + 3 * PAGE_SIZE, PROT_READ | PROT_WRITE)
        k.put_bytes(c, 0x60000000 + PAGE_SIZE, b"mmap")
        kids.append(c)
    grandchild = fork(k, kids[0])
    k.put_bytes(grandchild, SCRATCH, b"grand")
    thread = k.tasks[sc(k, kids[1], NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)]
    k.put_bytes(thread, SCRATCH + 0x300, b"thread")
    sc(k, kids[2], NR_VFORK)
    vchild = next(t for t in k.tasks.values() if t.kind == "vfork")
    k.put_bytes(init, SCRATCH + 0x10, b"parent again")
    assert k.pool.used > baseline
    sc(k, vchild, NR_EXIT, 0)
    assert k.resume(kids[2]) is True
    sc(k, kids[0], NR_EXIT, 0)  # orphans grandchild to init
    sc(k, thread, NR_EXIT, 0)
    for c in kids[1:]:
        sc(k, c, NR_EXIT_GROUP, 0)
    sc(k, grandchild, NR_EXIT, 0)
    reaped = set()
    while True:
        r = sc(k, init, NR_WAIT4, -1, STATUS, WNOHANG | WALL, 0)
        if r in (0, neg(E.ECHILD)):
            break
        reaped.add(r)
    assert reaped == {kids[0].pid, kids[1].pid, kids[2].pid}  # the orphaned grandchild and vchild: init's
    assert r == neg(E.ECHILD)
    sc(k, init, NR_EXIT_GROUP, 0)
    assert k.tasks == {}
    assert k.all_done()
    assert k.pool.used == baseline
    assert not k.pool.refcount.any()


@pytest.mark.parametrize("share_vm", [False, True], ids=["fork_like", "clone_vm"])
def test_clone_failing_in_copy_thread_releases_everything_it_copied(k, share_vm):
    baseline = k.pool.used
    init = spawn(k)
    k.put_bytes(init, SCRATCH, b"x")
    before = k.pool.used
    flags = CLONE_SETTLS | SIG.SIGCHLD | (CLONE_VM if share_vm else 0)
    assert sc(k, init, NR_CLONE, flags, 0, 0, 0x1000) == neg(E.EFAULT)  # tls points at unmapped memory
    assert list(k.tasks) == [k.first_pid]
    assert init.mm.users == 1
    assert k.pool.used == before
    sc(k, init, NR_EXIT_GROUP, 0)
    assert k.pool.used == baseline


# ---- futex -----------------------------------------------------------------------------------------------


def test_futex_wait_with_different_value_returns_eagain(k, init):
    k.put_u32(init, FUTEX_WORD, 5)
    assert sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAIT | FUTEX_PRIVATE, 6, 0) == neg(E.EAGAIN)
    assert sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAIT, 6, 0) == neg(E.EAGAIN)
    assert init.state == RUNNING


def test_futex_wait_on_misaligned_address_returns_einval(k, init):
    assert sc(k, init, NR_FUTEX, FUTEX_WORD + 1, FUTEX_WAIT | FUTEX_PRIVATE, 0, 0) == neg(E.EINVAL)


def test_futex_wake_without_waiters_returns_zero(k, init):
    assert sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAKE | FUTEX_PRIVATE, 1, 0) == 0


@pytest.mark.parametrize("private", [True, False], ids=["private", "shared"])
def test_futex_wait_then_wake_from_another_thread_wakes_the_waiter(k, init, private):
    op = FUTEX_PRIVATE if private else 0
    thread = k.tasks[sc(k, init, NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)]
    k.put_u32(init, FUTEX_WORD, 5)
    sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAIT | op, 5, 0)
    assert init.state == SLEEPING and init.continuation is not None
    assert sc(k, thread, NR_FUTEX, FUTEX_WORD, FUTEX_WAKE | op, 1, 0) == 1
    assert init.state == RUNNING
    assert k.resume(init) is True
    assert init.regs.ax == 0
    assert sc(k, thread, NR_FUTEX, FUTEX_WORD, FUTEX_WAKE | op, 1, 0) == 0


def test_futex_wake_wakes_at_most_n_waiters_in_fifo_order(k, init):
    threads = [k.tasks[sc(k, init, NR_CLONE, THREAD_FLAGS, SCRATCH + 0x800)] for _ in range(3)]
    for t in threads:
        sc(k, t, NR_FUTEX, FUTEX_WORD, FUTEX_WAIT | FUTEX_PRIVATE, 0, 0)
    assert sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAKE | FUTEX_PRIVATE, 2, 0) == 2
    assert [t.state for t in threads] == [RUNNING, RUNNING, SLEEPING]


def test_futex_wake_in_forked_child_does_not_wake_parent_on_private_memory(k, init):
    k.put_u32(init, FUTEX_WORD, 0)
    child = fork(k, init)
    sc(k, init, NR_FUTEX, FUTEX_WORD, FUTEX_WAIT, 0, 0)
    assert init.state == SLEEPING
    assert sc(k, child, NR_FUTEX, FUTEX_WORD, FUTEX_WAKE, 1, 0) == 0
    assert init.state == SLEEPING


# ---- the syscall table -----------------------------------------------------------------------------------


def test_syscall_table_has_an_entry_named_for_every_i386_number(k):
    for nr, name in SYSCALL_NAMES.items():
        entry = k.table[nr]
        assert entry.nr == nr and entry.name == name
    assert k.table[-1].name == "unknown"


def test_unimplemented_syscall_returns_enosys_and_is_counted(k, init, capsys):
    assert sc(k, init, NR_ACCT, 0) == neg(E.ENOSYS)
    assert k.stats.enosys == {"acct": 1}
    assert init.regs.orig_ax == NR_ACCT
    assert "acct" in capsys.readouterr().err


def test_number_outside_the_table_uses_the_enosys_fallback(k, init):
    assert 500 not in k.table
    assert sc(k, init, 500) == neg(E.ENOSYS)
    assert init.state == RUNNING


def test_syscall_counts_are_kept_per_task_and_globally(k, init):
    child = fork(k, init)
    sc(k, child, NR_GETPID)
    sc(k, child, NR_GETPID)
    assert (init.syscalls, child.syscalls, k.stats.syscalls) == (1, 2, 3)


# ---- the scheduler's clocks -------------------------------------------------------------------------------------


def test_cancelled_timer_does_not_keep_an_idle_machine_waiting():
    import time

    from kernel_model.sched import Scheduler

    s = Scheduler()
    assert s.host_clock  # the default: deadlines on the host's monotonic clock
    fired = []
    t = s.add_timer(s.now() + 30 * 10**9, lambda: fired.append(1))
    t.cancel()
    start = time.monotonic()
    assert s.pick_next() is None  # nothing to run, and nothing left to wait for
    assert time.monotonic() - start < 1 and not fired


def test_host_clock_idle_sleeps_until_the_deadline_and_virtual_clock_jumps():
    import time

    from kernel_model.sched import Scheduler

    for host in (True, False):
        s = Scheduler()
        s.host_clock = host
        fired = []
        s.add_timer(s.now() + 50 * 10**6, lambda s=s, fired=fired: fired.append(s.now()))
        start = time.monotonic()
        assert s.pick_next() is None
        took = time.monotonic() - start
        assert fired and fired[0] >= 50 * 10**6
        if host:
            assert took >= 0.045  # really slept (most of) 50 ms on the host
        else:
            assert s.clock_ns == 50 * 10**6  # the virtual clock jumped to the deadline
