"""Process creation: kernel_clone -> copy_process -> one helper per resource (kernel/fork.c).

The seed's 2.4-era do_fork(clone_flags, stack_start, regs, stack_size) is today's kernel_clone(struct
kernel_clone_args); this module follows today's shape: flags are checked first, then copy_mm, copy_files,
copy_fs, copy_sighand, copy_signal and copy_thread each share the resource when its flag is set and
copy it otherwise.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .abi import (
    CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_CLEAR_SIGHAND, CLONE_FILES, CLONE_FS, CLONE_INTO_CGROUP,
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER,
    CLONE_NEWUTS, CLONE_PARENT, CLONE_PARENT_SETTID, CLONE_PIDFD, CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD,
    CLONE_SYSVSEM, CLONE_VFORK, CLONE_VM, CSIGNAL, NSIG, E,
)

from .files import KernelError
from .ipc import SemUndoList
from .mm import OutOfMemory
from .task import Completion, SignalStruct, Task

if TYPE_CHECKING:
    from .kernel import Kernel
    from .ptregs import PtRegs

CLONE_NAMESPACES = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
                    | CLONE_NEWNET | CLONE_NEWTIME)


def clone_kind(flags: int) -> str:
    """A short name for statistics: fork, vfork, thread, or clone with CLONE_VM / without."""
    if flags & CLONE_THREAD:
        return "thread"
    if flags & CLONE_VFORK:
        return "vfork"
    if flags & CLONE_VM:
        return "clone_vm"
    return "fork"


def check_clone_flags(flags: int) -> None:
    """Reject the flag combinations copy_process() rejects, before touching anything (-EINVAL)."""
    if flags & (CLONE_NEWNS | CLONE_FS) == (CLONE_NEWNS | CLONE_FS):
        raise KernelError(E.EINVAL, "CLONE_NEWNS with CLONE_FS")
    if flags & (CLONE_NEWUSER | CLONE_FS) == (CLONE_NEWUSER | CLONE_FS):
        raise KernelError(E.EINVAL, "CLONE_NEWUSER with CLONE_FS")
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise KernelError(E.EINVAL, "CLONE_THREAD without CLONE_SIGHAND")
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise KernelError(E.EINVAL, "CLONE_SIGHAND without CLONE_VM")
    if flags & CLONE_THREAD and flags & (CLONE_NEWUSER | CLONE_NEWPID):
        raise KernelError(E.EINVAL, "CLONE_THREAD with a new user or pid namespace")
    if flags & CLONE_SIGHAND and flags & CLONE_CLEAR_SIGHAND:
        raise KernelError(E.EINVAL, "CLONE_CLEAR_SIGHAND with CLONE_SIGHAND")


def kernel_clone(k: Kernel, parent: Task, flags: int, exit_signal: int, newsp: int, parent_tidptr: int = 0,
                 child_tidptr: int = 0, tls: int = 0, clone3: bool = False, pidfd_ptr: int = 0):
    """Create a child and return its pid; a CLONE_VFORK parent sleeps until the child's mm_release (kernel_clone).
    CLONE_PIDFD stores a pidfd of the child at pidfd_ptr (clone3's pidfd field; clone's parent_tid, which it
    then cannot also be: EINVAL with CLONE_PARENT_SETTID), before the child exists (EFAULT leaves none)."""
    pidfd_file = None
    if flags & CLONE_PIDFD:
        if not clone3 and flags & CLONE_PARENT_SETTID:
            raise KernelError(E.EINVAL, "clone: CLONE_PIDFD and CLONE_PARENT_SETTID share parent_tid")
        target = pidfd_ptr if clone3 else parent_tidptr
        k.put_u32(parent, target, 0)  # EFAULT before anything is made
    child = copy_process(k, parent, flags, exit_signal, newsp, parent.regs, child_tidptr, tls, clone3)
    pid = child.pid
    if flags & CLONE_PIDFD:
        from .pidfd import PidFd

        pidfd_file = PidFd(k, child, 0)
        fd = parent.files.install(pidfd_file, cloexec=True)  # pidfds are always O_CLOEXEC
        k.put_u32(parent, target, fd)
    if flags & CLONE_PARENT_SETTID:
        k.put_u32(parent, parent_tidptr, pid)
    if flags & CLONE_VFORK:
        child.vfork_done = Completion()
    k.stats.record_clone(child.kind)
    k.emit("clone", parent, child, flags | exit_signal)
    k.wake_up_new_task(child)
    if flags & CLONE_VFORK:
        return wait_for_vfork_done(k, parent, child, pid)
    return pid


def wait_for_vfork_done(k: Kernel, parent: Task, child: Task, pid: int):
    """The seed's down(&sem) at the end of do_fork: sleep until the child execs or exits (wait_for_vfork_done)."""
    done = child.vfork_done
    if not done.done:
        k.emit("vfork_sleep", parent, child)
    while not done.done:
        k.sched.sleep_on(parent, done.wq, interruptible=False)  # killable only, as wait_for_vfork_done
        parent.wait_channel = f"vfork_done of {pid}"
        yield
        if done.done:
            k.emit("vfork_wake", parent, child)
    return pid


def copy_process(k: Kernel, parent: Task, flags: int, exit_signal: int, newsp: int, regs: PtRegs,
                 child_tidptr: int, tls: int, clone3: bool) -> Task:
    """Build the child task: check flags, then share or copy each resource (copy_process)."""
    check_clone_flags(flags)
    if flags & CLONE_NAMESPACES:
        raise KernelError(E.EINVAL, "namespaces are not modelled")
    if flags & CLONE_INTO_CGROUP:
        raise KernelError(E.EINVAL, "CLONE_INTO_CGROUP is not modelled")
    if flags & CLONE_PIDFD and flags & CLONE_THREAD:
        raise KernelError(E.EINVAL, "CLONE_PIDFD with CLONE_THREAD")
    if flags & CLONE_PARENT and parent.tgid == 1:
        raise KernelError(E.EINVAL, "init cannot CLONE_PARENT")
    if not 0 <= exit_signal <= NSIG:
        raise KernelError(E.EINVAL, "bad exit signal")
    if k.live_task_count() >= k.max_tasks:
        raise KernelError(E.EAGAIN, "task limit reached")
    child = Task(k.alloc_pid(), parent.comm)
    child.kind = clone_kind(flags)
    try:
        copy_mm(k, flags, parent, child)
    except OutOfMemory:
        k.free_pid(child.pid)
        raise KernelError(E.ENOMEM) from None
    try:
        copy_files(flags, parent, child)
        copy_fs(flags, parent, child)
        copy_sighand(flags, parent, child)
        copy_signal(flags, parent, child)
        copy_semundo(flags, parent, child)
        copy_thread(k, flags, parent, child, newsp, regs, tls)
    except (KernelError, OutOfMemory) as e:
        undo_copy(flags, parent, child)
        k.free_pid(child.pid)
        if isinstance(e, OutOfMemory):
            raise KernelError(E.ENOMEM) from None
        raise
    child.blocked = parent.blocked
    child.timer_slack_ns = parent.timer_slack_ns
    child.default_timer_slack_ns = parent.timer_slack_ns  # copy_process: the child's default is our current
    child.nice = parent.nice
    child.no_new_privs = parent.no_new_privs
    child.sched_policy = parent.sched_policy
    child.seccomp_mode = parent.seccomp_mode
    child.tsc_mode = getattr(parent, "tsc_mode", 1)  # PR_SET_TSC is inherited
    if getattr(parent, "sched_reset_on_fork", False):  # sched_fork: a real-time child starts SCHED_NORMAL
        if child.sched_policy[0] in (1, 2, 6):
            child.sched_policy = (0, 0)
        child.nice = max(child.nice, 0)
    child.cred = parent.cred  # copy_creds: shared until either side changes its identity
    child.clear_child_tid = child_tidptr if flags & CLONE_CHILD_CLEARTID else 0
    child.set_child_tid = child_tidptr if flags & CLONE_CHILD_SETTID else 0
    if flags & CLONE_THREAD:
        child.exit_signal = -1
        child.group_leader = parent.group_leader
        child.tgid = parent.tgid
    else:
        child.exit_signal = exit_signal
    child.real_parent = parent.real_parent if flags & (CLONE_PARENT | CLONE_THREAD) else parent
    if child.real_parent is None:  # CLONE_PARENT from a task without a parent: no one waits for it
        child.exit_signal = -1
    if child.group_leader is child and child.real_parent is not None:
        child.real_parent.children.append(child)
    child.signal.threads.append(child)
    k.tasks[child.pid] = child
    if child.set_child_tid:  # schedule_tail: put_user(pid, set_child_tid) in the child's memory
        try:
            k.put_u32(child, child.set_child_tid, child.pid)
        except KernelError:
            pass
    return child


def undo_copy(flags: int, parent: Task, child: Task) -> None:
    """Give back what the copy helpers took when a later step fails (copy_process's bad_fork_cleanup_*)."""
    if child.mm is not None:
        if flags & CLONE_VM:
            parent.mm.users -= 1
        else:
            child.mm.release()
        child.mm = None
    if child.files is not None:
        if flags & CLONE_FILES:
            parent.files.users -= 1
        else:
            child.files.close_all()
        child.files = None
    if child.fs is not None and flags & CLONE_FS:
        parent.fs.users -= 1
    if child.sighand is not None and flags & CLONE_SIGHAND:
        parent.sighand.users -= 1
    child.fs = child.sighand = child.signal = None


def copy_semundo(flags: int, parent: Task, child: Task) -> None:
    """Share the SysV semaphore undo list under CLONE_SYSVSEM, else start with none (copy_semundo)."""
    if flags & CLONE_SYSVSEM:
        if parent.sysvsem is None:
            parent.sysvsem = SemUndoList()  # get_undo_list: made now, so both see the same list
        parent.sysvsem.refs += 1
        child.sysvsem = parent.sysvsem
    else:
        child.sysvsem = None


def copy_mm(k: Kernel, flags: int, parent: Task, child: Task) -> None:
    """Share the parent's mm under CLONE_VM, else duplicate it copy-on-write (copy_mm / dup_mm)."""
    parent.clones += 1  # (counted for the cost model: every copy_process passes here once)
    if flags & CLONE_VM:
        parent.mm.users += 1
        child.mm = parent.mm
    else:
        child.mm = parent.mm.dup_mmap()
        parent.fork_ptes += child.mm.copied_ptes
        parent.fork_mms += 1


def copy_files(flags: int, parent: Task, child: Task) -> None:
    """Share the descriptor table under CLONE_FILES, else copy it (copy_files / dup_fd)."""
    if flags & CLONE_FILES:
        parent.files.users += 1
        child.files = parent.files
    else:
        child.files = parent.files.copy()


def copy_fs(flags: int, parent: Task, child: Task) -> None:
    """Share cwd and umask under CLONE_FS, else copy them (copy_fs)."""
    if flags & CLONE_FS:
        parent.fs.users += 1
        child.fs = parent.fs
    else:
        child.fs = parent.fs.copy()


def copy_sighand(flags: int, parent: Task, child: Task) -> None:
    """Share the signal actions under CLONE_SIGHAND, else copy them (copy_sighand)."""
    if flags & CLONE_SIGHAND:
        parent.sighand.users += 1
        child.sighand = parent.sighand
    else:
        child.sighand = parent.sighand.copy()
        if flags & CLONE_CLEAR_SIGHAND:  # handlers reset to SIG_DFL, ignored signals stay ignored
            child.sighand.actions = {s: a for s, a in child.sighand.actions.items() if a[0] == 1}


def copy_signal(flags: int, parent: Task, child: Task) -> None:
    """Join the parent's thread group under CLONE_THREAD, else start a new one (copy_signal)."""
    if flags & CLONE_THREAD:
        child.signal = parent.signal
    else:
        ps = parent.signal
        child.signal = SignalStruct(rlimits=dict(ps.rlimits), pgid=ps.pgid, sid=ps.sid,
                                    oom_score_adj=ps.oom_score_adj, personality=ps.personality)


def copy_thread(k: Kernel, flags: int, parent: Task, child: Task, newsp: int, regs: PtRegs, tls: int) -> None:
    """The child's registers: the parent's pt_regs with eax = 0 and the new stack if given (copy_thread)."""
    child.regs = regs.copy()
    child.regs.ax = 0
    if newsp:
        child.regs.sp = newsp & 0xFFFFFFFF
    child.regs_dirty = True
    child.tls = list(parent.tls)
    child.tls_dirty = True
    if flags & CLONE_SETTLS:
        # i386: tls is a struct user_desc * (do_set_thread_area on the child).
        info = k.get_bytes(parent, tls, 16)
        entry = struct.unpack_from("<I", info)[0]
        k.set_tls_desc(child, entry, info, allow_alloc=False)


def valid_exit_signal(sig: int) -> bool:
    """exit_signal values clone3 accepts (valid_signal, and not above the CSIGNAL mask)."""
    return 0 <= sig <= NSIG and sig & ~CSIGNAL == 0

