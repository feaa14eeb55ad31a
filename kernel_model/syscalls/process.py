"""Process lifetime: exit, fork, vfork, clone, clone3, execve and the wait family (kernel/fork.c,
kernel/exit.c, fs/exec.c entry points; the mechanisms are in kernel_model.fork, .exit and .exec)."""

from __future__ import annotations

import os
import struct

from ..abi import CLONE_VFORK, CLONE_VM, CSIGNAL, SIG, E
from ..exec import load_elf_binary, read_string_array
from ..exit import (
    P_ALL, P_PGID, P_PID, WALL, WCLONE, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED, do_exit, do_group_exit,
    do_wait, exit_status, mm_release, pack_siginfo_chld, release_task,
)
from ..files import KernelError
from ..fork import kernel_clone, valid_exit_signal
from ..mm import PAGE_SIZE, OutOfMemory
from ..task import DEAD, SIG_IGN, ZOMBIE
from .table import syscall
from ..pidfd import PIDFD_NONBLOCK, PIDFD_THREAD, PidFd
from .common import RLIMIT_NOFILE, rlimit, s32
from .identity import pack_rusage
from ..cred import MAY_EXEC, SECBIT_KEEP_CAPS, check_file


@syscall("exit", sig="int status", cls="process", ret="none")
def sys_exit(k, t, code, *_):
    """End this thread only (do_exit)."""
    do_exit(k, t, exit_status(code))
    return 0


@syscall("exit_group", sig="int status", cls="process", ret="none")
def sys_exit_group(k, t, code, *_):
    """End every thread of the process (do_group_exit)."""
    do_group_exit(k, t, exit_status(code))
    return 0


@syscall("fork", sig="", cls="process")
def sys_fork(k, t, *_):
    """The seed's sys_fork: do_fork(SIGCHLD, regs.esp, &regs, 0)."""
    return kernel_clone(k, t, 0, SIG.SIGCHLD, t.regs.sp)


@syscall("vfork", sig="", cls="process")
def sys_vfork(k, t, *_):
    """The seed's sys_vfork: do_fork(CLONE_VFORK | CLONE_VM | SIGCHLD, regs.esp, &regs, 0)."""
    return kernel_clone(k, t, CLONE_VFORK | CLONE_VM, SIG.SIGCHLD, t.regs.sp)


@syscall("clone",
         sig=("clone_flags flags, ptr child_stack, out tid_ptr(flags) parent_tid, out tls(flags) tls, out "
              "tid_ptr(flags) child_tidptr"),
         cls="process", order="child_stack flags parent_tid tls child_tidptr", labelled=True)
def sys_clone(k, t, flags, newsp, parent_tidptr, tls, child_tidptr, *_):
    """i386 CLONE_BACKWARDS: flags in ebx, stack in ecx (esp when 0), ptid edx, tls esi, ctid edi."""
    return kernel_clone(k, t, flags & ~CSIGNAL, flags & CSIGNAL, newsp or t.regs.sp, parent_tidptr,
                        child_tidptr, tls)


@syscall("clone3", sig="out clone_args cl_args, size size", cls="process")
def sys_clone3(k, t, uargs, size, *_):
    """clone3(struct clone_args *, size): the same kernel_clone with the fields of the struct."""
    if size < 64 or size > PAGE_SIZE:
        raise KernelError(E.EINVAL)
    raw = k.get_bytes(t, uargs, size)
    if any(raw[88:]):
        raise KernelError(E.E2BIG)
    f = struct.unpack_from("<8Q", raw.ljust(88, b"\0"))
    flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = f
    set_tid, set_tid_size = struct.unpack_from("<QQ", raw.ljust(88, b"\0"), 64)
    if flags >> 32 or not valid_exit_signal(exit_signal) or set_tid or set_tid_size:
        raise KernelError(E.EINVAL)
    if (stack == 0) != (stack_size == 0):
        raise KernelError(E.EINVAL)
    sp = (stack + stack_size) & 0xFFFFFFFF if stack else t.regs.sp
    return kernel_clone(k, t, flags, exit_signal, sp, parent_tid, child_tid, tls, clone3=True, pidfd_ptr=pidfd)


@syscall("execve", sig="path pathname, argv argv, envp envp", cls="file,process")
def sys_execve(k, t, path_ptr, argv_ptr, envp_ptr, *_):
    """Replace the program: new mm from the ELF file, old mm released, pid kept (do_execveat_common)."""
    path = k.get_path(t, path_ptr)
    argv = read_string_array(k, t, argv_ptr) or [b""]  # an empty argv gets "" as argv[0] (since Linux 5.18)
    envp = read_string_array(k, t, envp_ptr)
    filename = k.get_cstring(t, path_ptr)
    image, argv = load_script_or_elf(k, t, path, filename, argv)
    try:
        mm, regs = load_elf_binary(k, image, argv, envp, filename)
    except OutOfMemory:
        raise KernelError(E.ENOMEM) from None
    # Point of no return (begin_new_exec): other threads die, the old mm goes, the vfork parent wakes.
    de_thread(k, t)
    mm_release(k, t)
    old = t.mm
    t.mm = mm
    old.users -= 1
    if old.users == 0:
        old.release()
    t.files.close_on_exec()
    t.sighand.actions = {s: a for s, a in t.sighand.actions.items() if a[0] == SIG_IGN}
    cred = k.cred(t)
    if cred.securebits & SECBIT_KEEP_CAPS:
        t.cred = cred.change(securebits=cred.securebits & ~SECBIT_KEEP_CAPS)  # cap_bprm_creds_from_file
    t.tls = [None, None, None]
    t.tls_dirty = True
    t.regs = regs
    t.regs_dirty = True
    t.fpu_reset = True
    t.arch_signal_states = {}
    # The name is the last component of the filename as the caller passed it, a script's own name for a `#!`
    # script (begin_new_exec: __set_task_comm(me, kbasename(bprm->filename))).
    t.comm = os.path.basename(os.fsdecode(filename))[:15]
    t.did_exec = True  # PF_FORKNOEXEC cleared: its parent may no longer move it to another process group
    k.stats.execs += 1
    k.emit("exec", t, image.path)
    return 0


def de_thread(k, t) -> None:
    """Kill every other thread of the group; a non-leader takes over the leader's pid, parent and place
    (de_thread), so the process keeps its pid across execve."""
    for other in list(t.signal.threads):
        if other is not t:
            do_exit(k, other, 9)
    leader = t.group_leader
    if leader is t:
        return
    release_task(k, leader)  # the old leader was a zombie no one will see
    k.tasks.pop(t.pid, None)
    t.pid = leader.pid
    k.tasks[t.pid] = t
    t.group_leader = t
    t.exit_signal = leader.exit_signal
    t.real_parent = leader.real_parent
    if t.real_parent is not None:
        t.real_parent.children.append(t)
    if k.init_task is leader:
        k.init_task = t


def load_script_or_elf(k, t, path: str, filename: bytes, argv: list[bytes], depth: int = 0):
    """A `#!` script runs its interpreter with [interp, optional arg, filename, argv[1:]] (load_script);
    anything else must be an i386 ELF (load_elf_binary)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None
    if not os.access(path, os.X_OK) or os.path.isdir(path):
        raise KernelError(E.EACCES)
    check_file(k.cred(t), path, MAY_EXEC)  # the task's own identity: a uid that dropped root may not run it
    if head.startswith(b"#!"):
        if depth >= 4:  # BINPRM_MAX_RECURSION
            raise KernelError(E.ELOOP)
        line = head[2:].split(b"\n", 1)[0].strip(b" \t")
        if not line:
            raise KernelError(E.ENOEXEC)
        interp, _, arg = line.replace(b"\t", b" ").partition(b" ")
        arg = arg.strip(b" ")
        new_argv = [interp] + ([arg] if arg else []) + [filename] + argv[1:]
        ipath = k.resolve_path(t, os.fsdecode(interp))
        return load_script_or_elf(k, t, ipath, interp, new_argv, depth + 1)
    return k.load_image(path), argv


@syscall("wait4", sig="pid pid, out wait_status wstatus, flags(wait) options, out rusage rusage", cls="process")
def sys_wait4(k, t, pid, status_ptr, options, rusage, *_):
    """Wait for a child and store its status and a zeroed rusage (kernel_wait4)."""
    if options & ~(WNOHANG | WUNTRACED | 8 | WNOTHREAD | WCLONE | WALL):
        raise KernelError(E.EINVAL)
    if s32(pid) == -(1 << 31):
        raise KernelError(E.ESRCH)  # kernel_wait4: -INT_MIN would overflow, "ESRCH: pid is INT_MIN"
    t.wait_rusage = (0, 0, 0, 0)
    cpid, status = yield from do_wait(k, t, s32(pid), options | WEXITED)
    if cpid > 0:
        if status_ptr:
            k.put_u32(t, status_ptr, status)
        if rusage:
            k.put_bytes(t, rusage, pack_rusage(*t.wait_rusage))
    return cpid


@syscall("waitpid", sig="pid pid, out wait_status wstatus, flags(wait) options", cls="process")
def sys_waitpid(k, t, pid, status_ptr, options, *_):
    """waitpid(pid, status, options) = wait4(pid, status, options, NULL)."""
    return (yield from sys_wait4(k, t, pid, status_ptr, options, 0))


@syscall("waitid",
         sig="enum(idtype) idtype, int id, out siginfo infop, flags(wait) options, out rusage rusage",
         cls="process")
def sys_waitid(k, t, which, upid, infop, options, rusage, *_):
    """waitid(idtype, id, siginfo *, options): wait and fill a SIGCHLD siginfo (kernel_waitid). A failed wait
    still stores the (zero) signo, errno, code, pid, uid and status fields, so a bad infop is EFAULT even then
    (compat_sys_waitid)."""
    try:
        return (yield from _waitid(k, t, which, upid, infop, options, rusage))
    except KernelError as e:
        if infop:
            k.put_bytes(t, infop, bytes(24))  # EFAULT replaces the error
        raise e from None


def _waitid(k, t, which, upid, infop, options, rusage):
    if not options & (WEXITED | 8 | 2) or options & ~(WNOHANG | WEXITED | 2 | 8 | WNOWAIT | WNOTHREAD
                                                        | WCLONE | WALL):
        raise KernelError(E.EINVAL)
    if which == P_ALL:
        pid = -1
    elif which == P_PID:
        if s32(upid) <= 0:
            raise KernelError(E.EINVAL)
        pid = upid
    elif which == P_PGID:
        pid = -upid if upid else 0
    elif which == P_PIDFD:
        f = t.files.get(upid)  # EBADF
        if not isinstance(f, PidFd):
            raise KernelError(E.EINVAL)
        pid = f.pid
    else:
        raise KernelError(E.EINVAL)
    t.wait_rusage = (0, 0, 0, 0)
    cpid, status = yield from do_wait(k, t, pid, options)  # WSTOPPED (2) and WCONTINUED (8) as for wait4
    if infop:
        k.put_bytes(t, infop, pack_siginfo_chld(cpid, status, k.cred(t).uid))
    if rusage:
        k.put_bytes(t, rusage, pack_rusage(*t.wait_rusage))
    return 0


P_PIDFD = 3


@syscall("pidfd_open", sig="pid pid, flags(pidfd) flags", cls="desc")
def sys_pidfd_open(k, t, pid, flags, *_):
    """A pidfd for a process (pidfd_open(2)): EINVAL for a pid <= 0, unknown flags, or a thread that does not
    lead its group (unless PIDFD_THREAD); ESRCH when there is no such process."""
    if s32(pid) <= 0 or flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD):
        raise KernelError(E.EINVAL)
    target = k.tasks.get(pid)
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    if target.group_leader is not target and not flags & PIDFD_THREAD:
        raise KernelError(E.EINVAL)
    return t.files.install(PidFd(k, target, flags), cloexec=True, limit=rlimit(t, RLIMIT_NOFILE)[0])


@syscall("pidfd_getfd", sig="fd pidfd, int targetfd, uint flags", cls="desc")
def sys_pidfd_getfd(k, t, pidfd, targetfd, flags, *_):
    """A copy in the caller of another process's descriptor (pidfd_getfd(2)): EINVAL for flags, ESRCH once the
    process has exited, EBADF for a descriptor it does not have, EPERM without ptrace-like permission."""
    if flags:
        raise KernelError(E.EINVAL)
    f = t.files.get(pidfd)
    if not isinstance(f, PidFd):
        raise KernelError(E.EBADF)
    target = f.task
    if target.state in (ZOMBIE, DEAD) or target.files is None:
        raise KernelError(E.ESRCH)
    from ..cred import may_signal

    if not may_signal(k.cred(t), k.cred(target)):
        raise KernelError(E.EPERM)
    src = target.files.get(targetfd)
    return t.files.install(src, cloexec=True, limit=rlimit(t, RLIMIT_NOFILE)[0])


@syscall("unshare", sig="clone_flags flags", cls="process")
def sys_unshare(k, t, flags, *_):
    """Stop sharing parts of the context with other tasks (ksys_unshare): CLONE_FILES (a private descriptor
    table), CLONE_FS (a private cwd and umask), CLONE_SYSVSEM (a private undo list); CLONE_VM, CLONE_SIGHAND and
    CLONE_THREAD only for a task that shares nothing of them (EINVAL otherwise); namespaces are not modelled
    (EINVAL, as a kernel built without them answers, said once)."""
    from ..abi import CLONE_FILES, CLONE_FS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD
    from ..fork import CLONE_NAMESPACES

    known = CLONE_FILES | CLONE_FS | CLONE_SYSVSEM | CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NAMESPACES
    if flags & ~known:
        raise KernelError(E.EINVAL)
    if flags & CLONE_NAMESPACES:
        k.warn_once("unshare-ns", "unshare of namespaces is not modelled (-EINVAL)")
        raise KernelError(E.EINVAL)
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM):
        if len([x for x in t.signal.threads if x.is_alive()]) > 1 or (t.mm is not None and t.mm.users > 1):
            raise KernelError(E.EINVAL)  # a multithreaded process cannot leave its own threads
    if flags & CLONE_FS and t.fs.users > 1:
        t.fs.users -= 1
        t.fs = t.fs.copy()
    if flags & CLONE_FILES and t.files.users > 1:
        t.files.users -= 1
        t.files = t.files.copy()
    if flags & CLONE_SYSVSEM and getattr(t, "sysvsem", None) is not None:
        k.ipc.exit_sem(t)  # unshare_semundo: leave the shared undo list (applied if this was its last user)
    return 0
