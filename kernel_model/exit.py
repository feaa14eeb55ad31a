"""Task exit, zombies and wait (kernel/exit.c), and mm_release (kernel/fork.c)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .abi import SIG, E
from .files import KernelError
from .task import DEAD, SIG_IGN, SLEEPING, ZOMBIE, Task

if TYPE_CHECKING:
    from .kernel import Kernel

WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x01000000
WNOTHREAD, WALL, WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
ERESTARTSYS = 512
SA_NOCLDWAIT = 2


def exit_status(code: int) -> int:
    """The wait status of a normal exit: (code & 0xff) << 8."""
    return (code & 0xFF) << 8


# SIG_KERNEL_COREDUMP_MASK: the signals whose default action dumps core.
COREDUMP_SIGNALS = frozenset((SIG.SIGQUIT, SIG.SIGILL, SIG.SIGTRAP, SIG.SIGABRT, SIG.SIGBUS, SIG.SIGFPE,
                              SIG.SIGSEGV, SIG.SIGXCPU, SIG.SIGXFSZ, SIG.SIGSYS))
RLIMIT_CORE = 4
CORE_MIN = 4096  # binfmt_elf's min_coredump (ELF_EXEC_PAGESIZE): a smaller RLIMIT_CORE gives no dump


def signal_status(sig: int, k: Kernel | None = None, task: Task | None = None) -> int:
    """The wait status of a death by signal; 0x80 (WCOREDUMP) when the signal dumps core, the process's
    RLIMIT_CORE allows one (do_coredump: "if (cprm.limit < binfmt->min_coredump) goto fail") and the core file
    (kernel_model.coredump) was written; a "|program" core_pattern is not run (said once)."""
    status = sig & 0x7F
    if k is None or task is None or sig not in COREDUMP_SIGNALS or task.signal is None:
        return status
    soft = task.signal.rlimits.get(RLIMIT_CORE, (0, 0))[0]  # INIT_RLIMITS: soft 0
    if soft < CORE_MIN or not _core_writable(k, task):
        return status
    pattern = k.sysctl.get("kernel/core_pattern", "core")
    if pattern.startswith("|"):
        k.warn_once("core", f"pid {task.tgid} ({task.comm}) dumps core to a program ({pattern}), which the "
                    "model does not run")
        return status | 0x80
    from .coredump import core_name, write_core

    name = core_name(k, task, sig)
    try:
        host = k.vfs.resolve(task.fs.cwd, name, allow_missing_last=True)
    except KernelError:
        return status
    if not write_core(k, task, sig, host, soft):
        return status
    return status | 0x80


def _core_writable(k: Kernel, task: Task) -> bool:
    """Could do_coredump create the core file: a "|program" core_pattern always takes it; a file name
    (relative to the cwd) needs a writable directory outside /proc."""
    import os
    import posixpath

    pattern = k.sysctl.get("kernel/core_pattern", "core")
    if pattern.startswith("|"):
        return True
    if task.fs is None:
        return False
    where = posixpath.dirname(posixpath.join(task.fs.cwd, pattern)) or "/"
    if where == "/proc" or where.startswith("/proc/"):
        return False
    try:
        host = k.vfs.resolve("/", where)
    except KernelError:
        return False
    return os.path.isdir(host) and os.access(host, os.W_OK)


def mm_release(k: Kernel, task: Task) -> None:
    """Clear and wake child_tid, then wake a vfork parent; runs on exit and on exec (mm_release)."""
    mm = task.mm
    if task.clear_child_tid and mm is not None:
        addr, task.clear_child_tid = task.clear_child_tid, 0
        if mm.users > 1:
            try:
                k.put_u32(task, addr, 0)
                k.futex.wake(task, addr, 1, private=False)
            except KernelError:
                pass
    done = task.vfork_done
    if done is not None:  # complete_vfork_done: the seed's up(vfork_sem)
        task.vfork_done = None
        done.done = True
        k.sched.wake_up(done.wq)


def exit_mm(k: Kernel, task: Task) -> None:
    """Drop the task's reference to its address space (exit_mm / mmput)."""
    mm_release(k, task)
    mm = task.mm
    if mm is None:
        return
    task.mm = None
    mm.users -= 1
    if mm.users == 0:
        mm.release()


def do_exit(k: Kernel, task: Task, status: int) -> None:
    """End one task with a wait status; it becomes a zombie or is reaped at once (do_exit)."""
    if task.state in (ZOMBIE, DEAD):
        return
    if task.continuation is not None:
        task.continuation.close()
        task.continuation = None
    if task.state == SLEEPING:
        k.sched.cancel_sleep(task)
    k.stats.exits += 1
    k.emit("exit", task, status)
    k.futex.forget(task)
    k.ipc.exit_sem(task)
    if task.signal is not None:  # __exit_signal: the thread's times and counts stay with its process
        u, st = k.times_of(task)
        sig = task.signal
        sig.utime, sig.stime = sig.utime + u, sig.stime + st
        sig.minflt += sum(task.acct.counts)
        sig.nvcsw += task.switches
    exit_mm(k, task)
    files, task.files = task.files, None
    if files is not None:
        files.users -= 1
        if files.users == 0:
            files.close_all()
    task.fs = None
    task.exit_code = status
    group = task.signal
    if task in group.threads:
        group.threads.remove(task)
    if not group.threads and group.real_timer_handle is not None:  # exit_itimers: the process's timers go
        group.real_timer_handle.cancel()
        group.real_timer_handle = None
        group.real_timer = None
    task.state = ZOMBIE
    k.sched.task_exited(task)
    forget_original_parent(k, task)
    leader = task.group_leader
    if leader is not task:
        release_task(k, task)  # a thread is reaped at once (exit_signal == -1)
        if not group.threads and leader.state == ZOMBIE:
            exit_notify(k, leader)
    elif not group.threads:
        exit_notify(k, task)


def exit_notify(k: Kernel, task: Task) -> None:
    """Tell the parent a thread group has ended, or reap it when nobody will wait (exit_notify)."""
    if task.signal.group_exit:
        task.exit_code = task.signal.group_exit_code
    parent = task.real_parent
    autoreap = task.exit_signal == -1 or parent is None or parent.state in (ZOMBIE, DEAD)
    if not autoreap and task.exit_signal:
        autoreap = do_notify_parent(k, task, parent)
    if autoreap:
        release_task(k, task)
    if getattr(task, "wait_pidfd", None) is not None:
        from .pidfd import do_notify_pidfd

        do_notify_pidfd(k, task)
    if parent is not None and parent.signal is not None:
        # __wake_up_parent, also for a child reaped at once: a parent waiting for it then sees ECHILD
        k.sched.wake_up(parent.signal.wait_chldexit)


def do_notify_parent(k: Kernel, task: Task, parent: Task) -> bool:
    """Queue the exit signal to the parent; True when the parent ignores SIGCHLD, so no zombie (do_notify_parent)."""
    status = task.exit_code
    code = CLD_EXITED if status & 0x7F == 0 else CLD_DUMPED if status & 0x80 else CLD_KILLED
    info = {"signo": task.exit_signal, "code": code, "pid": task.tgid,
            "status": status >> 8 if code == CLD_EXITED else status & 0x7F}
    autoreap = False
    if task.exit_signal == SIG.SIGCHLD:
        act = parent.sighand.actions.get(SIG.SIGCHLD)
        if act is not None and (act[0] == SIG_IGN or act[1] & SA_NOCLDWAIT):
            autoreap = True
    k.send_signal(parent, task.exit_signal, info, group=True)
    return autoreap


def forget_original_parent(k: Kernel, task: Task) -> None:
    """Hand the children of a dying task to another thread of its group or to init (forget_original_parent)."""
    if not task.children:
        return
    reaper = find_new_reaper(k, task)
    orphans, task.children = task.children, []
    for child in orphans:
        if child.pdeath_signal and child.is_alive():  # "the calling process ... when its parent dies"
            k.send_signal(child, child.pdeath_signal, {"signo": child.pdeath_signal, "code": 0x80}, group=True)
        child.real_parent = reaper
        if reaper is None:
            if child.state == ZOMBIE:
                release_task(k, child)
            else:
                child.exit_signal = -1
            continue
        reaper.children.append(child)
        if reaper.signal is not task.signal and child.exit_signal != -1:
            child.exit_signal = SIG.SIGCHLD  # reparent_leader: "We don't want people slaying init."
        if child.state == ZOMBIE and not child.signal.threads:
            k.sched.wake_up(reaper.signal.wait_chldexit)


def find_new_reaper(k: Kernel, task: Task) -> Task | None:
    """Who adopts a dying task's children (find_new_reaper): a live thread of its own process, else the
    nearest ancestor process that is a child subreaper (PR_SET_CHILD_SUBREAPER), else init (None here)."""
    live = [t for t in task.signal.threads if t.is_alive()]
    if live:
        return live[0]
    p = task.group_leader.real_parent
    while p is not None:
        if p.signal is not None and p.signal.is_child_subreaper:
            alive = [t for t in p.signal.threads if t.is_alive()]
            if alive:
                return alive[0]
        p = p.group_leader.real_parent
    return k.child_reaper()


def release_task(k: Kernel, task: Task) -> None:
    """Forget a dead task entirely (release_task)."""
    task.state = DEAD
    parent = task.real_parent
    if parent is not None and task in parent.children:
        parent.children.remove(task)
    k.tasks.pop(task.pid, None)
    k.free_pid(task.pid)
    k.dead_tasks.append(task)
    if getattr(task, "wait_pidfd", None) is not None:
        from .pidfd import do_notify_pidfd

        do_notify_pidfd(k, task)  # reaped: its pidfds read POLLHUP


def do_group_exit(k: Kernel, task: Task, status: int) -> None:
    """End every thread of the group with one status (do_group_exit / zap_other_threads)."""
    group = task.signal
    if not group.group_exit:
        group.group_exit = True
        group.group_exit_code = status
    for t in list(group.threads):
        if t is not task:
            do_exit(k, t, status)
    do_exit(k, task, status)


# ---- wait ------------------------------------------------------------------------------------------


def eligible_child(child: Task, pid: int, options: int, waiter: Task) -> bool:
    """Does this child match the wait's pid selector and clone-ness (eligible_pid / eligible_child)."""
    if pid > 0 and child.tgid != pid:
        return False
    if pid == 0 and child.signal.pgid != waiter.signal.pgid:
        return False
    if pid < -1 and child.signal.pgid != -pid:
        return False
    if options & WALL:
        return True
    is_clone = child.exit_signal != SIG.SIGCHLD
    return is_clone == bool(options & WCLONE)


def do_wait(k: Kernel, task: Task, pid: int, options: int):
    """Wait for a child to end: return (pid, status) or (0, 0) for WNOHANG; -ECHILD when none (do_wait)."""
    while True:
        any_eligible = False
        waiters = [task] if options & WNOTHREAD else list(task.signal.threads) or [task]
        for w in waiters:
            for child in list(w.children):
                if not eligible_child(child, pid, options, task):
                    continue
                any_eligible = True
                report = child.signal.stop_report if child.state != ZOMBIE else 0
                if report and ((report & 0xFF == 0x7F and options & WUNTRACED)
                               or (report == 0xFFFF and options & WCONTINUED)):
                    if not options & WNOWAIT:
                        child.signal.stop_report = 0
                    return child.tgid, report
                if child.state == ZOMBIE and not child.signal.threads and options & WEXITED:
                    status = child.exit_code
                    cpid = child.tgid
                    cs = child.signal
                    task.wait_rusage = (cs.utime + cs.cutime, cs.stime + cs.cstime, cs.minflt + cs.cminflt,
                                        cs.nvcsw + cs.cnvcsw)
                    if not options & WNOWAIT:
                        ps = task.signal  # wait_task_zombie: the child's times to ours
                        ps.cutime += cs.utime + cs.cutime
                        ps.cstime += cs.stime + cs.cstime
                        ps.cminflt += cs.minflt + cs.cminflt
                        ps.cnvcsw += cs.nvcsw + cs.cnvcsw
                        release_task(k, child)
                        k.stats.reaped += 1
                    return cpid, status
        if not any_eligible:
            raise KernelError(E.ECHILD)
        if options & WNOHANG:
            return 0, 0
        if k.signal_pending(task):
            raise KernelError(ERESTARTSYS)
        k.sched.sleep_on(task, task.signal.wait_chldexit)
        yield


def pack_siginfo_chld(pid: int, status: int, uid: int = 0) -> bytes:
    """A SIGCHLD siginfo_t (128 bytes, i386 layout) describing an ended, stopped or continued child."""
    if pid == 0:
        return bytes(128)
    if status == 0xFFFF:
        code, st = CLD_CONTINUED, SIG.SIGCONT
    elif status & 0xFF == 0x7F:
        code, st = CLD_STOPPED, (status >> 8) & 0xFF
    elif status & 0x7F == 0:
        code, st = CLD_EXITED, (status >> 8) & 0xFF
    else:
        code, st = (CLD_DUMPED if status & 0x80 else CLD_KILLED), status & 0x7F
    head = struct.pack("<iiiiIiii", SIG.SIGCHLD, 0, code, pid, uid, st, 0, 0)
    return head + bytes(128 - len(head))

