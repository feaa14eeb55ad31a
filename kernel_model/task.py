"""task_struct and the per-resource structures that clone() shares or copies (include/linux/sched.h)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .mm import FaultAcct
from .ptregs import PtRegs

if TYPE_CHECKING:
    from collections.abc import Generator

    from .files import FdTable
    from .mm import MM

# Task states (TASK_RUNNING ... EXIT_DEAD).
RUNNING, SLEEPING, ZOMBIE, DEAD = "running", "sleeping", "zombie", "dead"

SIG_DFL, SIG_IGN = 0, 1
GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_ENTRIES = 6, 3


class WaitQueue:
    """A wait_queue_head: tasks sleeping until someone wakes the queue."""

    __slots__ = ("waiters", "name", "callbacks")

    def __init__(self, name: str = "") -> None:
        self.waiters: list[Task] = []
        self.name = name
        self.callbacks: list = []  # called at each wake-up (epoll's ep_poll_callback entries)


class Completion:
    """struct completion: done once, waking its waiter (used for vfork_done)."""

    __slots__ = ("done", "wq")

    def __init__(self) -> None:
        self.done = False
        self.wq = WaitQueue("vfork_done")


@dataclass
class FsStruct:
    """fs_struct: cwd and umask, shared under CLONE_FS."""

    cwd: str = "/"
    umask: int = 0o022
    users: int = 1

    def copy(self) -> FsStruct:
        """A private copy for a child without CLONE_FS (copy_fs_struct)."""
        return FsStruct(self.cwd, self.umask)


@dataclass
class SigHand:
    """sighand_struct: the signal actions, shared under CLONE_SIGHAND."""

    # sig -> (handler, flags, restorer, mask)
    actions: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    users: int = 1
    # signalfd_wqh: woken when a signal is queued to a task using these actions (signalfds read through it)
    signalfd_wq: WaitQueue = field(default_factory=lambda: WaitQueue("signalfd"))

    def copy(self) -> SigHand:
        """A private copy (copy_sighand without CLONE_SIGHAND)."""
        return SigHand(dict(self.actions))

    def handler(self, sig: int) -> int:
        """The handler address, SIG_DFL or SIG_IGN."""
        act = self.actions.get(sig)
        return act[0] if act else SIG_DFL


@dataclass
class SignalStruct:
    """signal_struct: one per thread group (process), shared by CLONE_THREAD."""

    threads: list[Task] = field(default_factory=list)
    group_exit: bool = False
    group_exit_code: int = 0
    stopped: bool = False  # a group stop (SIGSTOP and friends) is in effect
    stop_report: int = 0  # wait status to report to the parent once: stopped (sig << 8 | 0x7f) or continued
    real_timer: tuple[int, int] | None = None  # ITIMER_REAL: (deadline ns on sched.now(), interval ns)
    real_timer_handle: object = None  # its sched.Timer, cancelled when re-armed or when the process ends
    # ITIMER_VIRTUAL (1) and ITIMER_PROF (2): which -> (expiry in process CPU ns, interval ns)
    cpu_itimers: dict[int, tuple[int, int]] = field(default_factory=dict)
    shared_pending: list[tuple[int, dict]] = field(default_factory=list)  # (sig, siginfo fields)
    wait_chldexit: WaitQueue = field(default_factory=lambda: WaitQueue("wait_chldexit"))
    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)
    pgid: int = 0
    sid: int = 0
    oom_score_adj: int = 0  # /proc/PID/oom_score_adj, inherited at fork
    is_child_subreaper: bool = False  # PR_SET_CHILD_SUBREAPER
    personality: int = 0  # personality(2), inherited at fork and kept across exec
    # CPU time (ns) of the group's exited threads, and of its reaped children (signal_struct's utime, stime,
    # cutime, cstime), and their fault and switch counts for getrusage
    utime: int = 0
    stime: int = 0
    cutime: int = 0
    cstime: int = 0
    minflt: int = 0
    cminflt: int = 0
    nvcsw: int = 0
    cnvcsw: int = 0


class Task:
    """task_struct: one schedulable thread of execution."""

    # thread.trap_nr, error_code and cr2: the last CPU exception's vector, error code and faulting address, which
    # a signal frame's sigcontext reports (setup_sigcontext)
    trap_nr = 0
    error_code = 0
    cr2 = 0
    sas_raw_flags = 0  # sigaltstack's flags as last given (Linux keeps them; the model's altstack normalises)

    def __init__(self, pid: int, comm: str) -> None:
        self.pid = pid  # the thread id
        self.tgid = pid
        self.comm = comm
        self.state = RUNNING
        self.group_leader: Task = self
        self.real_parent: Task | None = None
        self.children: list[Task] = []
        self.exit_signal = 0
        self.exit_code = 0  # wait status once a zombie
        self.mm: MM | None = None
        self.files: FdTable | None = None
        self.fs: FsStruct | None = None
        self.sighand: SigHand | None = None
        self.signal: SignalStruct | None = None
        self.regs = PtRegs()
        self.tls: list[bytes | None] = [None] * GDT_ENTRY_TLS_ENTRIES  # raw 8-byte descriptors
        self.set_child_tid = 0
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.vfork_done: Completion | None = None
        self.blocked = 0  # blocked signal mask
        self.altstack = (0, 2, 0)  # sigaltstack: (ss_sp, ss_flags, ss_size); SS_DISABLE
        self.interruptible = True  # a sleep a signal may end
        self.saved_sigmask: int | None = None  # sigsuspend's mask to restore after the handler
        self.pdeath_signal = 0  # PR_SET_PDEATHSIG: sent when the parent thread exits; cleared by fork
        self.timer_slack_ns = 50_000  # PR_SET_TIMERSLACK (inherited at fork)
        self.no_new_privs = False  # PR_SET_NO_NEW_PRIVS (inherited at fork, kept across exec)
        self.nice = 0  # setpriority/nice (inherited at fork; the model's scheduler does not weigh it)
        self.sched_policy = (0, 0)  # (policy, static priority) of sched_setscheduler, inherited at fork
        self.seccomp_mode = 0  # PR_SET_SECCOMP's strict mode (1), inherited at fork and kept across exec
        self.sigwait = 0  # signals rt_sigtimedwait is waiting for (they wake the task even when blocked)
        # (utime ns, stime ns, minflt, nvcsw) of the child the last wait reported, for wait4's rusage
        self.wait_rusage: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.pending: list[tuple[int, dict]] = []
        self.continuation: Generator | None = None  # a syscall sleeping in the kernel
        self.in_syscall = None  # the syscall table entry being run, until it returns
        self.wq: WaitQueue | None = None  # the queue it sleeps on
        self.wait_channel = ""  # what the task sleeps on, for traces
        self.timeout_ns: int | None = None
        self.timed_out = False
        self.acct = FaultAcct()
        self.syscalls = 0
        self.insns = 0
        self.core_fp = [0, 0, 0, 0]  # core cycles by source (the CPU side's pipeline model, fixed point)
        self.switches = 0
        self.tlb_fills = 0  # translations the CPU asked for (TLB misses)
        self.fork_ptes = 0  # page-table entries this task copied in fork
        self.clones = 0  # tasks this task created (fork, vfork, clone)
        self.fork_mms = 0  # ... of which got a copy of its mm (not CLONE_VM)
        self.int80_syscalls = 0  # syscalls entered by an int $0x80 of its own, not through the vDSO's entry
        self.fpu_reset = False  # exec: the extended CPU state starts afresh (flush_thread)
        self.sysvsem = None  # ipc.SemUndoList: SEM_UNDO adjustments, shared under CLONE_SYSVSEM
        self.cred = None  # its kernel_model.cred.Cred (None: the kernel's initial one, Kernel.cred)
        # Signal frames and the x87/SSE state: the CPU side saves it when a frame is pushed and puts it back at
        # sigreturn (the kernel's fpstate on the signal stack), keyed by the frame's address.
        self.kind = "process"  # how it was created: init, fork, vfork, clone-thread, clone, ...
        # What the CPU binding must reload before running this task again.
        self.regs_dirty = False  # the whole pt_regs changed (execve, new task)
        self.tls_dirty = False
        self.arch: object = None  # CPU context kept by the binding

    @property
    def thread_group(self) -> list[Task]:
        """Live threads of this task's group."""
        return self.signal.threads if self.signal else [self]

    def is_alive(self) -> bool:
        """Not yet a zombie."""
        return self.state in (RUNNING, SLEEPING)

    def __repr__(self) -> str:
        return f"Task(pid={self.pid}, tgid={self.tgid}, {self.comm!r}, {self.state})"
