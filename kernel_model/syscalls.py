"""The i386 syscall table: number -> (name, handler), every other number an explicit -ENOSYS entry.

Handlers take (kernel, task, ebx, ecx, edx, esi, edi, ebp) and return the value for eax, raise KernelError
for -errno, or are generators that sleep in the kernel (the scheduler resumes them when woken).
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from dataclasses import dataclass
from typing import Callable

from .abi import CSIGNAL, SYSCALL_NAMES, E, SIG, syscall_name
from .exec import load_elf_binary, read_string_array
from .exit import (
    P_ALL, P_PGID, P_PID, WALL, WCLONE, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED, do_exit, do_group_exit,
    do_wait, exit_status, mm_release, pack_siginfo_chld, release_task,
)
from .files import (
    O_ACCMODE, O_CLOEXEC, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, KernelError,
    PipeBuffer, PipeEnd, open_host, pack_stat64, pack_statx, stat_fields,
)
from .fork import kernel_clone, valid_exit_signal
from .futex import (
    FUTEX_BITSET_MATCH_ANY, FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE,
    FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET,
)
from .mm import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, MMAP_MIN_ADDR,
    PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE, OutOfMemory, page_up,
)
from . import signal as sigmod
from .task import SIG_DFL, SIG_IGN

AT_FDCWD = -100 & 0xFFFFFFFF
AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
FD_CLOEXEC = 1
TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD = 0x5401, 0x5413, 0x540F, 0x541B
RLIM_INFINITY = 0xFFFFFFFFFFFFFFFF
RLIMIT_STACK, RLIMIT_NOFILE, RLIMIT_AS, RLIMIT_NPROC = 3, 7, 9, 6
DEFAULT_RLIMITS = {RLIMIT_STACK: (8 << 20, RLIM_INFINITY), RLIMIT_NOFILE: (1024, 1048576)}
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MADV_DONTNEED, MADV_FREE = 4, 8
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1


@dataclass(frozen=True)
class Syscall:
    """One table entry: the i386 number, the syscall_32.tbl name and the handler."""

    nr: int
    name: str
    fn: Callable


HANDLERS: dict[str, Callable] = {}


def syscall(*names: str):
    """Register a handler under one or more syscall_32.tbl names."""
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


def s32(v: int) -> int:
    """An argument register as a signed 32-bit int."""
    return v - (1 << 32) if v & 0x80000000 else v


def sys_ni_syscall(k, t, *args) -> int:
    """Not implemented: -ENOSYS, reported once per number (sys_ni_syscall)."""
    nr = t.regs.orig_ax
    name = SYSCALL_NAMES.get(nr, syscall_name(nr))
    k.stats.enosys[name] = k.stats.enosys.get(name, 0) + 1
    k.warn_once(f"nosys{nr}", f"unimplemented syscall {nr} ({name}) returns -ENOSYS")
    return -E.ENOSYS


# ---- process lifetime ------------------------------------------------------------------------------


@syscall("exit")
def sys_exit(k, t, code, *_):
    """End this thread only (do_exit)."""
    do_exit(k, t, exit_status(code))
    return 0


@syscall("exit_group")
def sys_exit_group(k, t, code, *_):
    """End every thread of the process (do_group_exit)."""
    do_group_exit(k, t, exit_status(code))
    return 0


@syscall("fork")
def sys_fork(k, t, *_):
    """The seed's sys_fork: do_fork(SIGCHLD, regs.esp, &regs, 0)."""
    return kernel_clone(k, t, 0, SIG.SIGCHLD, t.regs.sp)


@syscall("vfork")
def sys_vfork(k, t, *_):
    """The seed's sys_vfork: do_fork(CLONE_VFORK | CLONE_VM | SIGCHLD, regs.esp, &regs, 0)."""
    from .abi import CLONE_VFORK, CLONE_VM

    return kernel_clone(k, t, CLONE_VFORK | CLONE_VM, SIG.SIGCHLD, t.regs.sp)


@syscall("clone")
def sys_clone(k, t, flags, newsp, parent_tidptr, tls, child_tidptr, *_):
    """i386 CLONE_BACKWARDS: flags in ebx, stack in ecx (esp when 0), ptid edx, tls esi, ctid edi."""
    return kernel_clone(k, t, flags & ~CSIGNAL, flags & CSIGNAL, newsp or t.regs.sp, parent_tidptr,
                        child_tidptr, tls)


@syscall("clone3")
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
    return kernel_clone(k, t, flags, exit_signal, sp, parent_tid, child_tid, tls, clone3=True)


@syscall("execve")
def sys_execve(k, t, path_ptr, argv_ptr, envp_ptr, *_):
    """Replace the program: new mm from the ELF file, old mm released, pid kept (do_execveat_common)."""
    path = k.get_path(t, path_ptr)
    argv = read_string_array(k, t, argv_ptr)
    envp = read_string_array(k, t, envp_ptr)
    image, argv = load_script_or_elf(k, t, path, k.get_cstring(t, path_ptr), argv)
    try:
        mm, regs = load_elf_binary(k, image, argv, envp, k.get_cstring(t, path_ptr))
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
    t.tls = [None, None, None]
    t.tls_dirty = True
    t.regs = regs
    t.regs_dirty = True
    t.fpu_reset = True
    t.arch_signal_states = {}
    t.comm = os.path.basename(image.path)[:15]
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


@syscall("wait4")
def sys_wait4(k, t, pid, status_ptr, options, rusage, *_):
    """Wait for a child and store its status and a zeroed rusage (kernel_wait4)."""
    if options & ~(WNOHANG | WUNTRACED | 8 | WNOTHREAD | WCLONE | WALL):
        raise KernelError(E.EINVAL)
    cpid, status = yield from do_wait(k, t, s32(pid), options | WEXITED)
    if cpid > 0:
        if status_ptr:
            k.put_u32(t, status_ptr, status)
        if rusage:
            k.put_bytes(t, rusage, bytes(72))
    return cpid


@syscall("waitpid")
def sys_waitpid(k, t, pid, status_ptr, options, *_):
    """waitpid(pid, status, options) = wait4(pid, status, options, NULL)."""
    return (yield from sys_wait4(k, t, pid, status_ptr, options, 0))


@syscall("waitid")
def sys_waitid(k, t, which, upid, infop, options, rusage, *_):
    """waitid(idtype, id, siginfo *, options): wait and fill a SIGCHLD siginfo (kernel_waitid)."""
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
    else:
        raise KernelError(E.EINVAL)
    if not options & WEXITED:
        cpid, status = 0, 0
        if not options & WNOHANG:
            raise KernelError(E.ECHILD)
    else:
        cpid, status = yield from do_wait(k, t, pid, options)
    if infop:
        k.put_bytes(t, infop, pack_siginfo_chld(cpid, status))
    if rusage:
        k.put_bytes(t, rusage, bytes(72))
    return 0


# ---- identity ----------------------------------------------------------------------------------------


@syscall("getpid")
def sys_getpid(k, t, *_):
    """The thread group id."""
    return t.tgid


@syscall("gettid")
def sys_gettid(k, t, *_):
    """The thread id."""
    return t.pid


@syscall("getppid")
def sys_getppid(k, t, *_):
    """The parent's tgid; 0 for the first process, as init's in a pid namespace."""
    p = t.group_leader.real_parent
    return p.tgid if p is not None else 0


@syscall("getuid", "getuid32", "geteuid", "geteuid32")
def sys_getuid(k, t, *_):
    """The host user's uid."""
    return k.uid


@syscall("getgid", "getgid32", "getegid", "getegid32")
def sys_getgid(k, t, *_):
    """The host user's gid."""
    return k.gid


def _pid_target(k, t, pid):
    """The task a pid argument names, the caller for 0, else ESRCH (find_task_by_vpid)."""
    target = k.tasks.get(pid) if pid else t
    if target is None or target.signal is None:
        raise KernelError(E.ESRCH)
    return target


@syscall("getpgid")
def sys_getpgid(k, t, pid, *_):
    """Process group of pid (0: self)."""
    return _pid_target(k, t, pid).signal.pgid


@syscall("getpgrp")
def sys_getpgrp(k, t, *_):
    """Process group of the caller."""
    return t.signal.pgid


@syscall("setpgid")
def sys_setpgid(k, t, pid, pgid, *_):
    """Move a process into a process group."""
    target = _pid_target(k, t, pid)
    target.signal.pgid = pgid or target.tgid
    return 0


@syscall("getsid")
def sys_getsid(k, t, pid, *_):
    """Session id."""
    return _pid_target(k, t, pid).signal.sid


@syscall("setsid")
def sys_setsid(k, t, *_):
    """Start a new session and process group."""
    if t.signal.pgid == t.tgid:
        raise KernelError(E.EPERM)
    t.signal.sid = t.signal.pgid = t.tgid
    return t.tgid


@syscall("set_tid_address")
def sys_set_tid_address(k, t, tidptr, *_):
    """Remember where to clear the tid at exit; return the tid."""
    t.clear_child_tid = tidptr
    return t.pid


@syscall("set_robust_list")
def sys_set_robust_list(k, t, head, length, *_):
    """Remember the robust futex list head (len must be 12 on i386)."""
    if length != 12:
        raise KernelError(E.EINVAL)
    t.robust_list = (head, length)
    return 0


@syscall("rseq")
def sys_rseq(k, t, *_):
    """Restartable sequences are not modelled: -ENOSYS, which glibc accepts silently."""
    return -E.ENOSYS


@syscall("arch_prctl")
def sys_arch_prctl(k, t, *_):
    """arch_prctl has no i386 operations here: -EINVAL, as a 32-bit task gets."""
    return -E.EINVAL


@syscall("set_thread_area")
def sys_set_thread_area(k, t, u_info, *_):
    """Install a TLS descriptor in GDT slot 6..8; entry -1 picks a free one and writes it back."""
    info = k.get_bytes(t, u_info, 16)
    entry = struct.unpack_from("<I", info)[0]
    used = k.set_tls_desc(t, entry, info)
    if entry == 0xFFFFFFFF:
        k.put_u32(t, u_info, used)
    return 0


@syscall("get_thread_area")
def sys_get_thread_area(k, t, u_info, *_):
    """Read back a TLS descriptor as a struct user_desc."""
    entry = k.get_u32(t, u_info)
    if not 6 <= entry <= 8:
        raise KernelError(E.EINVAL)
    d = t.tls[entry - 6] or bytes(8)
    lo, hi = struct.unpack("<II", d)
    base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)
    limit = (lo & 0xFFFF) | (hi & 0xF0000)
    bits = (((hi >> 22) & 1) | (((hi >> 10) & 3) << 1) | ((((hi >> 9) & 1) ^ 1) << 3) | (((hi >> 23) & 1) << 4)
            | ((((hi >> 15) & 1) ^ 1) << 5) | (((hi >> 20) & 1) << 6))
    if d == bytes(8):
        bits = 0x28
    k.put_bytes(t, u_info, struct.pack("<IIII", entry, base, limit, bits))
    return 0


@syscall("uname")
def sys_uname(k, t, buf, *_):
    """struct new_utsname: six 65-byte fields; the machine is i686 as on a 32-bit kernel."""
    u = os.uname()
    fields = [b"Linux", u.nodename.encode(), u.release.encode(), u.version.encode(), b"i686", b"(none)"]
    k.put_bytes(t, buf, b"".join(f[:64].ljust(65, b"\0") for f in fields))
    return 0


# ---- memory ------------------------------------------------------------------------------------------


@syscall("brk")
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


@syscall("mmap2")
def sys_mmap2(k, t, addr, length, prot, flags, fd, pgoff):
    """mmap with the offset in pages."""
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), pgoff * PAGE_SIZE)


@syscall("mmap")
def sys_old_mmap(k, t, argp, *_):
    """The old i386 mmap: one pointer to six arguments (old_mmap)."""
    addr, length, prot, flags, fd, off = struct.unpack("<6I", k.get_bytes(t, argp, 24))
    return do_mmap(k, t, addr, length, prot, flags, s32(fd), off)


@syscall("munmap")
def sys_munmap(k, t, addr, length, *_):
    """Unmap [addr, addr+length) (__vm_munmap)."""
    if addr & (PAGE_SIZE - 1) or length == 0 or addr + length > TASK_SIZE:
        raise KernelError(E.EINVAL)
    t.mm.unmap(addr, page_up(addr + length))
    return 0


@syscall("mprotect")
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


@syscall("madvise")
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


@syscall("mremap")
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


# ---- files ---------------------------------------------------------------------------------------------


def _file_io(k, t, f, op):
    """Run op() until it does not block, sleeping on the file's queue in between (wait_event_interruptible)."""
    while True:
        res = op()
        if res is not None:
            return res
        if f.flags & O_NONBLOCK:
            raise KernelError(E.EAGAIN)
        if k.signal_pending(t):
            raise KernelError(sigmod.ERESTARTSYS)
        k.sched.sleep_on(t, f.waitqueue())
        yield


def _do_write(k, t, f, data):
    """Write all of data, blocking as needed; a broken pipe raises SIGPIPE and fails with EPIPE (pipe_write)."""
    done = 0
    while True:
        rest = data[done:]
        try:
            n = yield from _file_io(k, t, f, lambda rest=rest: f.write(rest))
        except KernelError as e:
            if e.errno == E.EPIPE:
                k.send_signal(t, SIG.SIGPIPE, {"signo": SIG.SIGPIPE, "code": sigmod.SI_USER, "pid": t.tgid})
            if done and e.errno in (E.EPIPE, sigmod.ERESTARTSYS, E.EAGAIN):
                return done
            raise
        done += n
        if done >= len(data) or n == 0:
            return done


@syscall("read")
def sys_read(k, t, fd, buf, count, *_):
    """Read from a descriptor into user memory, sleeping while a pipe is empty (ksys_read)."""
    f = t.files.get(fd)
    count = min(count, 1 << 20)
    k.get_bytes(t, buf, 0)
    data = yield from _file_io(k, t, f, lambda: f.read(count))
    k.put_bytes(t, buf, data)
    return len(data)


@syscall("pread64")
def sys_pread64(k, t, fd, buf, count, off_lo, off_hi, *_):
    """Read at an offset without moving the file position."""
    f = t.files.get(fd)
    if not hasattr(f, "fd"):
        raise KernelError(E.ESPIPE)
    data = os.pread(f.fd, min(count, 1 << 20), off_lo | (off_hi << 32))
    k.put_bytes(t, buf, data)
    return len(data)


@syscall("write")
def sys_write(k, t, fd, buf, count, *_):
    """Write user memory to a descriptor, sleeping while a pipe is full (ksys_write)."""
    f = t.files.get(fd)
    return (yield from _do_write(k, t, f, k.get_bytes(t, buf, count)))


def _iovecs(k, t, iov, iovcnt):
    if iovcnt > 1024:
        raise KernelError(E.EINVAL)
    raw = k.get_bytes(t, iov, 8 * iovcnt)
    return [struct.unpack_from("<II", raw, 8 * i) for i in range(iovcnt)]


@syscall("writev")
def sys_writev(k, t, fd, iov, iovcnt, *_):
    """Gather-write: the buffers are joined and written as one (do_writev)."""
    f = t.files.get(fd)
    data = b"".join(k.get_bytes(t, base, n) for base, n in _iovecs(k, t, iov, iovcnt))
    return (yield from _do_write(k, t, f, data)) if data else 0


@syscall("readv")
def sys_readv(k, t, fd, iov, iovcnt, *_):
    """Scatter-read into the buffers in order (do_readv)."""
    f = t.files.get(fd)
    vecs = _iovecs(k, t, iov, iovcnt)
    total = sum(n for _, n in vecs)
    data = yield from _file_io(k, t, f, lambda: f.read(total))
    pos = 0
    for base, n in vecs:
        chunk = data[pos:pos + n]
        if chunk:
            k.put_bytes(t, base, chunk)
        pos += len(chunk)
    return len(data)


def _new_pipe(k, t, fds_ptr, flags):
    if flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000):  # O_DIRECT (packet mode) is accepted and ignored
        raise KernelError(E.EINVAL)
    k.get_bytes(t, fds_ptr, 8)
    pipe = PipeBuffer()
    rd = PipeEnd(pipe, False, flags & O_NONBLOCK)
    wr = PipeEnd(pipe, True, flags & O_NONBLOCK)
    rd.wake = wr.wake = k.sched.wake_up
    cloexec = bool(flags & O_CLOEXEC)
    r = t.files.install(rd, cloexec)
    try:
        w = t.files.install(wr, cloexec)
    except KernelError:
        t.files.close(r)
        raise
    k.put_bytes(t, fds_ptr, struct.pack("<ii", r, w))
    return 0


@syscall("pipe")
def sys_pipe(k, t, fds_ptr, *_):
    """A pipe: fds[0] reads, fds[1] writes (do_pipe2)."""
    return _new_pipe(k, t, fds_ptr, 0)


@syscall("pipe2")
def sys_pipe2(k, t, fds_ptr, flags, *_):
    """pipe with O_CLOEXEC / O_NONBLOCK."""
    return _new_pipe(k, t, fds_ptr, flags)


def _poll_wait(k, t, files, timeout_ns):
    """Sleep until one of the files' queues is woken, the timeout passes or a signal arrives."""
    from .task import WaitQueue

    queues = {id(q): q for q in (f.waitqueue() for f in files) if q is not None}
    if timeout_ns == 0 or (not queues and timeout_ns is None):
        return False
    if k.signal_pending(t):
        raise KernelError(sigmod.ERESTARTNOHAND)
    mine = WaitQueue("poll")
    for q in queues.values():
        q.waiters.append(t)
    k.sched.sleep_on(t, mine, timeout_ns)
    yield
    for q in queues.values():
        if t in q.waiters:
            q.waiters.remove(t)
    if t.timed_out:
        return True
    if k.signal_pending(t):
        raise KernelError(sigmod.ERESTARTNOHAND)
    return False


def _wait_ready(k, t, scan, timeout_ns):
    """Call scan() -> (ready count, files looked at) until something is ready, the timeout passes or a signal
    comes, sleeping on the files' queues in between (do_poll's loop, shared by poll and select)."""
    deadline = None if timeout_ns is None else k.sched.clock_ns + timeout_ns
    while True:
        ready, files = scan()
        if ready:
            return ready
        left = None if deadline is None else max(0, deadline - k.sched.clock_ns)
        timed_out = yield from _poll_wait(k, t, files, left)
        if timed_out or left == 0:
            return 0


def _do_poll(k, t, ufds, nfds, timeout_ns):
    """poll(2): scan, and sleep until something is ready (do_sys_poll)."""
    if nfds > 1024:
        raise KernelError(E.EINVAL)
    raw = bytearray(k.get_bytes(t, ufds, 8 * nfds))

    def scan():
        ready = 0
        files = []
        for i in range(nfds):
            fd, events = struct.unpack_from("<ih", raw, 8 * i)
            revents = 0
            if fd >= 0:
                f = t.files.fds.get(fd)
                if f is None:
                    revents = POLLNVAL
                else:
                    files.append(f[0])
                    revents = f[0].poll() & (events | POLLERR | POLLHUP)
            struct.pack_into("<h", raw, 8 * i + 6, revents)
            ready += bool(revents)
        return ready, files

    ready = yield from _wait_ready(k, t, scan, timeout_ns)
    k.put_bytes(t, ufds, bytes(raw))
    return ready


@syscall("poll")
def sys_poll(k, t, ufds, nfds, timeout_ms, *_):
    """Wait for events on descriptors; timeout in milliseconds, negative for none."""
    ms = s32(timeout_ms)
    return (yield from _do_poll(k, t, ufds, nfds, None if ms < 0 else ms * 10**6))


def _timespec_arg(k, t, ptr, time64):
    if not ptr:
        return None
    sec, nsec = struct.unpack("<qq" if time64 else "<iI", k.get_bytes(t, ptr, 16 if time64 else 8))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    return sec * 10**9 + nsec


def _with_sigmask(k, t, sigmask_ptr, size):
    if not sigmask_ptr:
        return None
    if size != 8:
        raise KernelError(E.EINVAL)
    old = t.blocked
    t.blocked = struct.unpack("<Q", k.get_bytes(t, sigmask_ptr, 8))[0] & ~sigmod.UNBLOCKABLE
    return old


@syscall("ppoll", "ppoll_time64")
def sys_ppoll(k, t, ufds, nfds, tsp, sigmask, sigsetsize, *_):
    """poll with a timespec timeout and a temporary signal mask."""
    timeout = _timespec_arg(k, t, tsp, t.regs.orig_ax == 414)
    old = _with_sigmask(k, t, sigmask, sigsetsize)
    try:
        return (yield from _do_poll(k, t, ufds, nfds, timeout))
    finally:
        if old is not None:
            t.saved_sigmask = old if k.signal_pending(t) else None
            if t.saved_sigmask is None:
                t.blocked = old


def _do_select(k, t, n, inp, outp, exp, timeout_ns):
    """select(2) over fd_sets of n descriptors (core_sys_select)."""
    if s32(n) < 0 or n > 1024:
        raise KernelError(E.EINVAL)
    nbytes = ((n + 31) // 32) * 4
    sets = [int.from_bytes(k.get_bytes(t, p, nbytes), "little") if p else 0 for p in (inp, outp, exp)]
    wanted = [fd for fd in range(n) if (sets[0] | sets[1] | sets[2]) >> fd & 1]
    if any(fd not in t.files.fds for fd in wanted):
        raise KernelError(E.EBADF)
    res = [0, 0, 0]

    def scan():
        res[:] = [0, 0, 0]
        files = []
        for fd in wanted:
            f = t.files.fds[fd][0]
            files.append(f)
            m = f.poll()
            for n_set, mask in ((0, POLLIN | POLLHUP | POLLERR), (1, POLLOUT | POLLERR), (2, POLLPRI)):
                if sets[n_set] >> fd & 1 and m & mask:
                    res[n_set] |= 1 << fd
        return sum(bin(x).count("1") for x in res), files

    count = yield from _wait_ready(k, t, scan, timeout_ns)
    for p, bits in zip((inp, outp, exp), res, strict=True):
        if p:
            k.put_bytes(t, p, bits.to_bytes(nbytes, "little"))
    return count


@syscall("_newselect")
def sys_newselect(k, t, n, inp, outp, exp, tvp, *_):
    """select with a struct timeval timeout."""
    timeout = None
    if tvp:
        sec, usec = struct.unpack("<ii", k.get_bytes(t, tvp, 8))
        if sec < 0 or not 0 <= usec < 10**6:
            raise KernelError(E.EINVAL)
        timeout = sec * 10**9 + usec * 1000
    return (yield from _do_select(k, t, n, inp, outp, exp, timeout))


@syscall("select")
def sys_old_select(k, t, argp, *_):
    """The old i386 select: one pointer to the five arguments."""
    n, inp, outp, exp, tvp = struct.unpack("<5I", k.get_bytes(t, argp, 20))
    return (yield from sys_newselect(k, t, n, inp, outp, exp, tvp))


@syscall("pselect6", "pselect6_time64")
def sys_pselect6(k, t, n, inp, outp, exp, tsp, sig):
    """select with a timespec and an optional {sigset *, size} for the duration."""
    timeout = _timespec_arg(k, t, tsp, t.regs.orig_ax == 413)
    old = None
    if sig:
        ss, size = struct.unpack("<II", k.get_bytes(t, sig, 8))
        old = _with_sigmask(k, t, ss, size)
    try:
        return (yield from _do_select(k, t, n, inp, outp, exp, timeout))
    finally:
        if old is not None:
            t.saved_sigmask = old if k.signal_pending(t) else None
            if t.saved_sigmask is None:
                t.blocked = old


@syscall("getdents64")
def sys_getdents64(k, t, fd, dirp, count, *_):
    """struct linux_dirent64 records from the directory's current position (iterate_dir)."""
    f = t.files.get(fd)
    if not hasattr(f, "getdents"):
        raise KernelError(E.ENOTDIR)
    if f.dir_entries is None:
        f.dir_entries = f.getdents()
        f.dir_pos = 0
    out = bytearray()
    while f.dir_pos < len(f.dir_entries):
        ino, dtype, name = f.dir_entries[f.dir_pos]
        raw = os.fsencode(name) + b"\0"
        reclen = (19 + len(raw) + 7) & ~7
        if len(out) + reclen > count:
            if not out:
                raise KernelError(E.EINVAL)
            break
        f.dir_pos += 1
        rec = struct.pack("<QqHB", ino, f.dir_pos, reclen, dtype) + raw
        out += rec + bytes(reclen - len(rec))
    k.put_bytes(t, dirp, bytes(out))
    return len(out)


@syscall("open")
def sys_open(k, t, path_ptr, flags, mode, *_):
    """Open a host path (read-only so far) at the lowest free descriptor (do_sys_open)."""
    return _open(k, t, k.get_path(t, path_ptr, create=bool(flags & 0o100)), flags, mode)


@syscall("openat")
def sys_openat(k, t, dirfd, path_ptr, flags, mode, *_):
    """open relative to a directory descriptor or the cwd (AT_FDCWD)."""
    return _open(k, t, k.get_path_at(t, dirfd, path_ptr, create=bool(flags & 0o100)), flags, mode)


def _host_call(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise KernelError(e.errno or E.EIO) from None


@syscall("mkdir")
def sys_mkdir(k, t, path_ptr, mode, *_):
    """Create a directory (mode less the umask)."""
    return sys_mkdirat(k, t, AT_FDCWD, path_ptr, mode)


@syscall("mkdirat")
def sys_mkdirat(k, t, dirfd, path_ptr, mode, *_):
    """mkdir relative to a directory descriptor."""
    path = k.get_path_at(t, dirfd, path_ptr, create=True, follow=False)
    old = os.umask(0)
    try:
        _host_call(os.mkdir, path, mode & 0o7777 & ~t.fs.umask)
    finally:
        os.umask(old)
    return 0


@syscall("rmdir")
def sys_rmdir(k, t, path_ptr, *_):
    """Remove an empty directory."""
    _host_call(os.rmdir, k.get_path(t, path_ptr, follow=False))
    return 0


@syscall("unlink")
def sys_unlink(k, t, path_ptr, *_):
    """Remove a name."""
    return sys_unlinkat(k, t, AT_FDCWD, path_ptr, 0)


@syscall("unlinkat")
def sys_unlinkat(k, t, dirfd, path_ptr, flags, *_):
    """unlink, or rmdir with AT_REMOVEDIR."""
    if flags & ~0x200:
        raise KernelError(E.EINVAL)
    path = k.get_path_at(t, dirfd, path_ptr, follow=False)
    if flags & 0x200:
        _host_call(os.rmdir, path)
    else:
        if os.path.isdir(path) and not os.path.islink(path):
            raise KernelError(E.EISDIR)
        _host_call(os.unlink, path)
    return 0


@syscall("rename")
def sys_rename(k, t, old_ptr, new_ptr, *_):
    """Rename a file."""
    return sys_renameat2(k, t, AT_FDCWD, old_ptr, AT_FDCWD, new_ptr, 0)


@syscall("renameat")
def sys_renameat(k, t, olddir, old_ptr, newdir, new_ptr, *_):
    """rename relative to directory descriptors."""
    return sys_renameat2(k, t, olddir, old_ptr, newdir, new_ptr, 0)


@syscall("renameat2")
def sys_renameat2(k, t, olddir, old_ptr, newdir, new_ptr, flags, *_):
    """rename with flags (RENAME_NOREPLACE only)."""
    if flags & ~1:
        raise KernelError(E.EINVAL)
    src = k.get_path_at(t, olddir, old_ptr, follow=False)
    dst = k.get_path_at(t, newdir, new_ptr, create=True, follow=False)
    if flags & 1 and os.path.lexists(dst):
        raise KernelError(E.EEXIST)
    _host_call(os.rename, src, dst)
    return 0


@syscall("symlink")
def sys_symlink(k, t, target_ptr, path_ptr, *_):
    """Create a symbolic link."""
    target = os.fsdecode(k.get_cstring(t, target_ptr))
    _host_call(os.symlink, target, k.get_path(t, path_ptr, create=True, follow=False))
    return 0


@syscall("link")
def sys_link(k, t, old_ptr, new_ptr, *_):
    """Create a hard link."""
    _host_call(os.link, k.get_path(t, old_ptr, follow=False), k.get_path(t, new_ptr, create=True, follow=False))
    return 0


@syscall("chmod")
def sys_chmod(k, t, path_ptr, mode, *_):
    """Change a file's mode."""
    _host_call(os.chmod, k.get_path(t, path_ptr), mode & 0o7777)
    return 0


@syscall("fchmod")
def sys_fchmod(k, t, fd, mode, *_):
    """Change an open file's mode."""
    f = t.files.get(fd)
    if not hasattr(f, "fd"):
        raise KernelError(E.EINVAL)
    _host_call(os.fchmod, f.fd, mode & 0o7777)
    return 0


@syscall("fchmodat")
def sys_fchmodat(k, t, dirfd, path_ptr, mode, *_):
    """chmod relative to a directory descriptor."""
    _host_call(os.chmod, k.get_path_at(t, dirfd, path_ptr), mode & 0o7777)
    return 0


@syscall("ftruncate", "ftruncate64")
def sys_ftruncate(k, t, fd, lo, hi, *_):
    """Set an open file's size (64-bit length in two registers for ftruncate64)."""
    f = t.files.get(fd)
    if not hasattr(f, "fd"):
        raise KernelError(E.EINVAL)
    length = lo | (hi << 32) if t.regs.orig_ax == 194 else s32(lo)
    _host_call(os.ftruncate, f.fd, length)
    return 0


@syscall("utimensat", "utimensat_time64")
def sys_utimensat(k, t, dirfd, path_ptr, times, flags, *_):
    """Set access and modification times; NULL times means now, UTIME_NOW / UTIME_OMIT per field."""
    UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
    if path_ptr:
        target = k.get_path_at(t, dirfd, path_ptr, follow=not flags & AT_SYMLINK_NOFOLLOW)
    else:
        f = t.files.get(dirfd)
        if not hasattr(f, "fd"):
            raise KernelError(E.EBADF)
        target = f.fd
    st = _host_call(os.stat, target) if not isinstance(target, int) else _host_call(os.fstat, target)
    now = k.now_ns(CLOCK_REALTIME)
    if times:
        fmt, size = ("<qq", 16) if t.regs.orig_ax == 412 else ("<iI", 8)
        raw = k.get_bytes(t, times, 2 * size)
        vals = []
        for i, cur in enumerate((st.st_atime_ns, st.st_mtime_ns)):
            sec, nsec = struct.unpack_from(fmt, raw, i * size)
            vals.append(now if nsec == UTIME_NOW else cur if nsec == UTIME_OMIT else sec * 10**9 + nsec)
    else:
        vals = [now, now]
    if isinstance(target, int):
        _host_call(os.utime, target, None, ns=tuple(vals))
    else:
        _host_call(lambda: os.utime(target, ns=tuple(vals), follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW))
    return 0


@syscall("chown32", "lchown32", "fchown32", "chown", "lchown", "fchown", "fchownat")
def sys_chown(k, t, a, b, c, d, e, *_):
    """Change ownership on the host (only the host's root may give files away)."""
    nr = t.regs.orig_ax
    if nr in (207, 95):  # fchown32, fchown: (fd, uid, gid)
        f = t.files.get(a)
        if not hasattr(f, "fd"):
            raise KernelError(E.EINVAL)
        _host_call(os.fchown, f.fd, s32(b), s32(c))
        return 0
    if nr == 298:  # fchownat(dirfd, path, uid, gid, flags)
        path = k.get_path_at(t, a, b, follow=not e & AT_SYMLINK_NOFOLLOW)
        uid, gid, follow = s32(c), s32(d), not e & AT_SYMLINK_NOFOLLOW
    else:
        follow = nr not in (198, 16)  # lchown32, lchown
        path = k.get_path(t, a, follow=follow)
        uid, gid = s32(b), s32(c)
    if nr in (16, 182, 95):  # the 16-bit uid calls
        uid = -1 if uid & 0xFFFF == 0xFFFF else uid & 0xFFFF
        gid = -1 if gid & 0xFFFF == 0xFFFF else gid & 0xFFFF
    _host_call(lambda: os.chown(path, uid, gid, follow_symlinks=follow))
    return 0


@syscall("sendfile64", "sendfile")
def sys_sendfile(k, t, out_fd, in_fd, offset_ptr, count, *_):
    """Copy between descriptors in the kernel: a read then a write, at an offset when one is given."""
    fin, fout = t.files.get(in_fd), t.files.get(out_fd)
    count = min(count, 1 << 20)
    if offset_ptr:
        size = 8 if t.regs.orig_ax == 239 else 4
        raw = k.get_bytes(t, offset_ptr, size)
        off = struct.unpack("<q" if size == 8 else "<i", raw)[0]
        if not hasattr(fin, "fd"):
            raise KernelError(E.ESPIPE)
        data = _host_call(os.pread, fin.fd, count, off)
        k.put_bytes(t, offset_ptr, struct.pack("<q" if size == 8 else "<i", off + len(data)))
    else:
        data = yield from _file_io(k, t, fin, lambda: fin.read(count))
    if not data:
        return 0
    return (yield from _do_write(k, t, fout, data))


PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_NAME, PR_GET_NAME = 1, 2, 3, 4, 15, 16


@syscall("prctl")
def sys_prctl(k, t, option, arg2, *_):
    """The task name, dumpable flag and parent-death signal; other options are -EINVAL (as unknown ones)."""
    if option == PR_SET_NAME:
        t.comm = os.fsdecode(k.get_bytes(t, arg2, 16).split(b"\0", 1)[0])[:15]
        return 0
    if option == PR_GET_NAME:
        k.put_bytes(t, arg2, t.comm.encode()[:15].ljust(16, b"\0"))
        return 0
    if option == PR_GET_DUMPABLE:
        return 1
    if option == PR_SET_DUMPABLE:
        return 0 if arg2 in (0, 1) else -E.EINVAL
    if option == PR_SET_PDEATHSIG:
        t.pdeath_signal = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        k.put_u32(t, arg2, getattr(t, "pdeath_signal", 0))
        return 0
    k.warn_once(f"prctl{option}", f"prctl option {option} is not modelled (-EINVAL)")
    return -E.EINVAL


@syscall("fsync", "fdatasync")
def sys_fsync(k, t, fd, *_):
    """Flush an open file (to the host's page cache: nothing to do)."""
    t.files.get(fd)
    return 0


@syscall("fchdir")
def sys_fchdir(k, t, fd, *_):
    """Change the cwd to an open directory."""
    f = t.files.get(fd)
    if not hasattr(f, "fd") or not os.path.isdir(f.name):
        raise KernelError(E.ENOTDIR)
    t.fs.cwd = k.guest_path(f.name)
    return 0


def _open(k, t, path, flags, mode=0o666):
    f = open_host(path, flags, mode, t.fs.umask)
    return t.files.install(f, cloexec=bool(flags & O_CLOEXEC))


@syscall("close")
def sys_close(k, t, fd, *_):
    """Close a descriptor."""
    t.files.close(fd)
    return 0


@syscall("lseek")
def sys_lseek(k, t, fd, offset, whence, *_):
    """Move the file position (32-bit offset)."""
    pos = t.files.get(fd).lseek(s32(offset), whence)
    if pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek")
def sys_llseek(k, t, fd, hi, lo, result, whence, *_):
    """Move the file position with a 64-bit offset stored through result."""
    off = (hi << 32) | lo
    if off & (1 << 63):
        off -= 1 << 64
    pos = t.files.get(fd).lseek(off, whence)
    k.put_bytes(t, result, struct.pack("<q", pos))
    return 0


@syscall("dup")
def sys_dup(k, t, fd, *_):
    """Duplicate to the lowest free descriptor."""
    return t.files.install(t.files.get(fd))


@syscall("dup2")
def sys_dup2(k, t, old, new, *_):
    """Duplicate onto a chosen descriptor."""
    f = t.files.get(old)
    if old == new:
        return new
    t.files.install_at(new, f)
    return new


@syscall("dup3")
def sys_dup3(k, t, old, new, flags, *_):
    """dup2 with O_CLOEXEC; old == new is EINVAL."""
    if old == new or flags & ~O_CLOEXEC:
        raise KernelError(E.EINVAL)
    t.files.install_at(new, t.files.get(old), bool(flags & O_CLOEXEC))
    return new


@syscall("fcntl", "fcntl64")
def sys_fcntl(k, t, fd, cmd, arg, *_):
    """Descriptor flags and duplication (do_fcntl)."""
    files = t.files
    f = files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        return files.install(f, cloexec=cmd == F_DUPFD_CLOEXEC, lowest=arg)
    if cmd == F_GETFD:
        return FD_CLOEXEC if files.fds[fd][1] else 0
    if cmd == F_SETFD:
        files.fds[fd][1] = bool(arg & FD_CLOEXEC)
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        f.flags = (f.flags & O_ACCMODE) | (arg & ~O_ACCMODE)
        return 0
    raise KernelError(E.EINVAL)


def _stat_path(k, t, path_ptr, follow=True, dirfd=AT_FDCWD):
    path = k.get_path_at(t, dirfd, path_ptr, follow=follow)
    try:
        return stat_fields(os.stat(path, follow_symlinks=follow))
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None


@syscall("fstat64")
def sys_fstat64(k, t, fd, buf, *_):
    """struct stat64 of an open file."""
    k.put_bytes(t, buf, pack_stat64(t.files.get(fd).stat()))
    return 0


@syscall("stat64")
def sys_stat64(k, t, path_ptr, buf, *_):
    """struct stat64 of a path."""
    k.put_bytes(t, buf, pack_stat64(_stat_path(k, t, path_ptr)))
    return 0


@syscall("lstat64")
def sys_lstat64(k, t, path_ptr, buf, *_):
    """struct stat64 of a path, not following a final symlink."""
    k.put_bytes(t, buf, pack_stat64(_stat_path(k, t, path_ptr, follow=False)))
    return 0


def _stat_at(k, t, dirfd, path_ptr, flags):
    """Stat fields of a path relative to dirfd, or of dirfd itself for "" with AT_EMPTY_PATH (vfs_fstatat)."""
    if not k.get_cstring(t, path_ptr) and flags & AT_EMPTY_PATH:
        return t.files.get(dirfd).stat()
    return _stat_path(k, t, path_ptr, follow=not flags & AT_SYMLINK_NOFOLLOW, dirfd=dirfd)


@syscall("fstatat64")
def sys_fstatat64(k, t, dirfd, path_ptr, buf, flags, *_):
    """struct stat64 of a path relative to a directory descriptor."""
    k.put_bytes(t, buf, pack_stat64(_stat_at(k, t, dirfd, path_ptr, flags)))
    return 0


@syscall("statx")
def sys_statx(k, t, dirfd, path_ptr, flags, mask, buf, *_):
    """struct statx (basic fields) of a path relative to a directory descriptor."""
    k.put_bytes(t, buf, pack_statx(_stat_at(k, t, dirfd, path_ptr, flags)))
    return 0


@syscall("access")
def sys_access(k, t, path_ptr, mode, *_):
    """Check a path's accessibility on the host."""
    path = k.get_path(t, path_ptr)
    if not os.access(path, mode):
        raise KernelError(E.ENOENT if not os.path.lexists(path) else E.EACCES)
    return 0


@syscall("faccessat", "faccessat2")
def sys_faccessat(k, t, dirfd, path_ptr, mode, *_):
    """access() relative to AT_FDCWD."""
    return sys_access(k, t, path_ptr, mode)


@syscall("readlink")
def sys_readlink(k, t, path_ptr, buf, size, *_):
    """Read a symlink; /proc/self/exe names the running binary (do_readlinkat)."""
    if s32(size) <= 0:
        raise KernelError(E.EINVAL)
    path = k.get_path(t, path_ptr, follow=False)
    raw = k.get_cstring(t, path_ptr)
    if raw in (b"/proc/self/exe", f"/proc/{t.tgid}/exe".encode(), b"/proc/thread-self/exe"):
        target = path.encode()
    else:
        try:
            target = os.fsencode(os.readlink(path))
        except OSError as e:
            raise KernelError(e.errno or E.EINVAL) from None
    target = target[:size]
    k.put_bytes(t, buf, target)
    return len(target)


@syscall("readlinkat")
def sys_readlinkat(k, t, dirfd, path_ptr, buf, size, *_):
    """readlink relative to AT_FDCWD."""
    return sys_readlink(k, t, path_ptr, buf, size)


@syscall("getcwd")
def sys_getcwd(k, t, buf, size, *_):
    """The cwd with its NUL; ERANGE when it does not fit."""
    cwd = t.fs.cwd.encode() + b"\0"
    if len(cwd) > size:
        raise KernelError(E.ERANGE)
    k.put_bytes(t, buf, cwd)
    return len(cwd)


@syscall("chdir")
def sys_chdir(k, t, path_ptr, *_):
    """Change the cwd of this fs_struct (shared under CLONE_FS)."""
    raw = os.fsdecode(k.get_cstring(t, path_ptr))
    if not raw:
        raise KernelError(E.ENOENT)
    host = k.resolve_path(t, raw)
    if not os.path.isdir(host):
        raise KernelError(E.ENOTDIR)
    t.fs.cwd = k.vfs.resolve_guest(t.fs.cwd, raw)
    return 0


@syscall("umask")
def sys_umask(k, t, mask, *_):
    """Set the umask, return the old one."""
    old, t.fs.umask = t.fs.umask, mask & 0o777
    return old


@syscall("ioctl")
def sys_ioctl(k, t, fd, cmd, arg, *_):
    """Terminal queries on a tty (TCGETS, TIOCGWINSZ, TIOCGPGRP); -ENOTTY elsewhere."""
    f = t.files.get(fd)
    if not f.isatty():
        raise KernelError(E.ENOTTY)
    if cmd == TCGETS:
        iflag, oflag, cflag, lflag, _is, _os, cc = termios.tcgetattr(f.fd)
        ccb = bytes(c if isinstance(c, int) else c[0] for c in cc)[:19].ljust(19, b"\0")
        k.put_bytes(t, arg, struct.pack("<IIIIB", iflag, oflag, cflag, lflag, 0) + ccb)
        return 0
    if cmd == TIOCGWINSZ:
        k.put_bytes(t, arg, fcntl.ioctl(f.fd, termios.TIOCGWINSZ, bytes(8)))
        return 0
    if cmd == TIOCGPGRP:
        k.put_u32(t, arg, t.signal.pgid)
        return 0
    raise KernelError(E.ENOTTY)


# ---- time ------------------------------------------------------------------------------------------------


@syscall("clock_gettime")
def sys_clock_gettime(k, t, clk, tp, *_):
    """struct old_timespec32 of a host clock."""
    ns = k.now_ns(clk)
    k.put_bytes(t, tp, struct.pack("<iI", (ns // 10**9) & 0x7FFFFFFF, ns % 10**9))
    return 0


@syscall("clock_gettime64")
def sys_clock_gettime64(k, t, clk, tp, *_):
    """struct __kernel_timespec of a host clock."""
    ns = k.now_ns(clk)
    k.put_bytes(t, tp, struct.pack("<qq", ns // 10**9, ns % 10**9))
    return 0


@syscall("clock_getres", "clock_getres_time64")
def sys_clock_getres(k, t, clk, tp, *_):
    """Nanosecond resolution."""
    k.now_ns(clk)
    if tp:
        fmt = "<qq" if t.regs.orig_ax == 406 else "<iI"
        k.put_bytes(t, tp, struct.pack(fmt, 0, 1))
    return 0


@syscall("gettimeofday")
def sys_gettimeofday(k, t, tv, tz, *_):
    """struct timeval of the host's real-time clock."""
    if tv:
        ns = k.now_ns(CLOCK_REALTIME)
        k.put_bytes(t, tv, struct.pack("<iI", (ns // 10**9) & 0x7FFFFFFF, (ns // 1000) % 10**6))
    if tz:
        k.put_bytes(t, tz, bytes(8))
    return 0


@syscall("time")
def sys_time(k, t, tloc, *_):
    """Seconds since the epoch."""
    now = k.now_ns(CLOCK_REALTIME) // 10**9
    if tloc:
        k.put_u32(t, tloc, now)
    return now


def _sleep(k, t, ns: int):
    """Sleep on the virtual clock (hrtimer_nanosleep)."""
    from .task import WaitQueue

    deadline = k.sched.clock_ns + ns
    while True:
        k.sched.sleep_on(t, WaitQueue("nanosleep"), deadline - k.sched.clock_ns)
        yield
        if t.timed_out or k.sched.clock_ns >= deadline:
            return 0
        if k.signal_pending(t):
            # Linux returns -ERESTART_RESTARTBLOCK and restarts with the time left; here a restart
            # sleeps the whole request again, and a handler sees EINTR.
            raise KernelError(sigmod.ERESTARTNOHAND)


@syscall("nanosleep")
def sys_nanosleep(k, t, req, rem, *_):
    """Sleep for a struct old_timespec32 on the virtual clock."""
    sec, nsec = struct.unpack("<iI", k.get_bytes(t, req, 8))
    if sec < 0 or nsec >= 10**9:
        raise KernelError(E.EINVAL)
    return (yield from _sleep(k, t, sec * 10**9 + nsec))


@syscall("clock_nanosleep", "clock_nanosleep_time64")
def sys_clock_nanosleep(k, t, clk, flags, req, rem, *_):
    """Relative or absolute (TIMER_ABSTIME) sleep on the virtual clock."""
    fmt, size = ("<qq", 16) if t.regs.orig_ax == 407 else ("<iI", 8)
    sec, nsec = struct.unpack(fmt, k.get_bytes(t, req, size))
    ns = sec * 10**9 + nsec
    if flags & 1:
        ns -= k.now_ns(clk)
    return (yield from _sleep(k, t, max(0, ns)))


@syscall("sched_yield")
def sys_sched_yield(k, t, *_):
    """Give up the rest of the time slice."""
    k.sched.preempt()
    return 0


# ---- limits and randomness ---------------------------------------------------------------------------


def _rlimit(t, res):
    return t.signal.rlimits.get(res, DEFAULT_RLIMITS.get(res, (RLIM_INFINITY, RLIM_INFINITY)))


@syscall("prlimit64")
def sys_prlimit64(k, t, pid, res, new, old, *_):
    """Get and set resource limits as struct rlimit64."""
    target = _pid_target(k, t, pid)
    if res >= 16:
        raise KernelError(E.EINVAL)
    if old:
        k.put_bytes(t, old, struct.pack("<QQ", *_rlimit(target, res)))
    if new:
        cur, mx = struct.unpack("<QQ", k.get_bytes(t, new, 16))
        if cur > mx:
            raise KernelError(E.EINVAL)
        target.signal.rlimits[res] = (cur, mx)
    return 0


@syscall("ugetrlimit", "getrlimit")
def sys_ugetrlimit(k, t, res, buf, *_):
    """struct rlimit with 32-bit fields, RLIM_INFINITY clamped to 0xffffffff."""
    if res >= 16:
        raise KernelError(E.EINVAL)
    cur, mx = (min(v, 0xFFFFFFFF) for v in _rlimit(t, res))
    k.put_bytes(t, buf, struct.pack("<II", cur, mx))
    return 0


@syscall("setrlimit")
def sys_setrlimit(k, t, res, buf, *_):
    """Set a limit from a struct rlimit."""
    cur, mx = struct.unpack("<II", k.get_bytes(t, buf, 8))
    t.signal.rlimits[res] = tuple(RLIM_INFINITY if v == 0xFFFFFFFF else v for v in (cur, mx))
    return 0


@syscall("getrandom")
def sys_getrandom(k, t, buf, count, flags, *_):
    """Deterministic bytes from the kernel's seeded generator, so runs repeat exactly."""
    if flags & ~7:
        raise KernelError(E.EINVAL)
    count = min(count, 1 << 25)
    k.put_bytes(t, buf, k.next_random(count))
    return count


# ---- signals (kernel_model.signal does sending, delivery and frames) ---------------------------------------


def _set_action(k, t, sig, new):
    if not 1 <= sig <= sigmod.NSIG or (sig in (SIG.SIGKILL, SIG.SIGSTOP) and new is not None):
        raise KernelError(E.EINVAL)
    old = t.sighand.actions.get(sig, (SIG_DFL, 0, 0, 0))
    if new is not None:
        handler, flags, restorer, mask = new
        t.sighand.actions[sig] = (handler, flags, restorer, mask & ~sigmod.UNBLOCKABLE)
        if handler == SIG_IGN or (handler == SIG_DFL and sig in sigmod.DEFAULT_IGNORE):
            # Setting an ignoring action discards the pending instances of the signal (do_sigaction).
            for th in t.signal.threads:
                th.pending = [x for x in th.pending if x[0] != sig]
            t.signal.shared_pending = [x for x in t.signal.shared_pending if x[0] != sig]
    return old


@syscall("rt_sigaction")
def sys_rt_sigaction(k, t, sig, act, oact, sigsetsize, *_):
    """struct sigaction {handler, flags, restorer, mask[2]} in, the old one out (do_sigaction)."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    new = struct.unpack("<IIIQ", k.get_bytes(t, act, 20)) if act else None
    old = _set_action(k, t, sig, new)
    if oact:
        k.put_bytes(t, oact, struct.pack("<IIIQ", *old))
    return 0


@syscall("sigaction")
def sys_sigaction(k, t, sig, act, oact, *_):
    """The old struct old_sigaction {handler, mask, flags, restorer}."""
    new = None
    if act:
        handler, mask, flags, restorer = struct.unpack("<IIII", k.get_bytes(t, act, 16))
        new = (handler, flags, restorer, mask)
    old = _set_action(k, t, sig, new)
    if oact:
        k.put_bytes(t, oact, struct.pack("<IIII", old[0], old[3] & 0xFFFFFFFF, old[1], old[2]))
    return 0


@syscall("signal")
def sys_signal(k, t, sig, handler, *_):
    """signal(2) as the syscall does it: SA_ONESHOT | SA_NOMASK, returning the old handler."""
    old = _set_action(k, t, sig, (handler, sigmod.SA_RESETHAND | sigmod.SA_NODEFER, 0, 0))
    return old[0]


def _change_mask(t, how, new):
    if how == 0:
        t.blocked |= new
    elif how == 1:
        t.blocked &= ~new
    elif how == 2:
        t.blocked = new
    else:
        raise KernelError(E.EINVAL)
    t.blocked &= ~sigmod.UNBLOCKABLE


@syscall("rt_sigprocmask")
def sys_rt_sigprocmask(k, t, how, nset, oset, sigsetsize, *_):
    """Block, unblock or set the thread's 64-bit signal mask (sigprocmask)."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    old = t.blocked
    if nset:
        _change_mask(t, how, struct.unpack("<Q", k.get_bytes(t, nset, 8))[0])
    if oset:
        k.put_bytes(t, oset, struct.pack("<Q", old))
    return 0


@syscall("sigprocmask")
def sys_sigprocmask(k, t, how, nset, oset, *_):
    """The old 32-bit mask version."""
    old = t.blocked
    if nset:
        new = k.get_u32(t, nset)
        if how == 2:
            new |= t.blocked & ~0xFFFFFFFF
        _change_mask(t, how, new)
    if oset:
        k.put_u32(t, oset, old & 0xFFFFFFFF)
    return 0


def _pending_set(t):
    bits = 0
    for s, _ in t.pending + t.signal.shared_pending:
        bits |= sigmod.sigmask(s)
    return bits & t.blocked


@syscall("rt_sigpending")
def sys_rt_sigpending(k, t, uset, sigsetsize, *_):
    """Signals pending while blocked."""
    if sigsetsize > 8:
        raise KernelError(E.EINVAL)
    k.put_bytes(t, uset, struct.pack("<Q", _pending_set(t))[:sigsetsize])
    return 0


@syscall("sigpending")
def sys_sigpending(k, t, uset, *_):
    """The old 32-bit sigpending."""
    k.put_u32(t, uset, _pending_set(t) & 0xFFFFFFFF)
    return 0


def _suspend(k, t, mask):
    """Sleep with a temporary mask until a signal is delivered; the old mask comes back after the handler."""
    from .task import WaitQueue

    saved = t.blocked
    t.blocked = mask & ~sigmod.UNBLOCKABLE
    while not sigmod.signal_pending(t):
        k.sched.sleep_on(t, WaitQueue("sigsuspend"))
        yield
    t.saved_sigmask = saved
    raise KernelError(sigmod.ERESTARTNOHAND)


@syscall("rt_sigsuspend")
def sys_rt_sigsuspend(k, t, uset, sigsetsize, *_):
    """Wait for a signal with a temporary 64-bit mask."""
    if sigsetsize != 8:
        raise KernelError(E.EINVAL)
    return (yield from _suspend(k, t, struct.unpack("<Q", k.get_bytes(t, uset, 8))[0]))


@syscall("sigsuspend")
def sys_sigsuspend(k, t, a, b, c, *_):
    """The old sigsuspend(int, int, old_sigset_t): the mask is the third argument."""
    return (yield from _suspend(k, t, c | (t.blocked & ~0xFFFFFFFF)))


@syscall("pause")
def sys_pause(k, t, *_):
    """Sleep until a signal is delivered."""
    return (yield from _suspend(k, t, t.blocked))


@syscall("sigaltstack")
def sys_sigaltstack(k, t, ss, oss, *_):
    """Set or query the alternate signal stack (do_sigaltstack)."""
    ss_sp, ss_flags, ss_size = t.altstack
    on = ss_size and ss_sp <= t.regs.sp < ss_sp + ss_size
    if ss:
        nsp, nflags, nsize = struct.unpack("<IiI", k.get_bytes(t, ss, 12))
        if on:
            raise KernelError(E.EPERM)
        if nflags & ~(sigmod.SS_DISABLE | sigmod.SS_ONSTACK | (1 << 31)):
            raise KernelError(E.EINVAL)
        if nflags & sigmod.SS_DISABLE:
            new = (0, sigmod.SS_DISABLE, 0)
        else:
            if nsize < sigmod.MINSIGSTKSZ:
                raise KernelError(E.ENOMEM)
            new = (nsp, 0, nsize)
    if oss:
        k.put_bytes(t, oss, struct.pack("<IiI", ss_sp, sigmod.SS_ONSTACK if on else ss_flags, ss_size))
    if ss:
        t.altstack = new
    return 0


@syscall("sigreturn")
def sys_sigreturn(k, t, *_):
    """Return from a handler entered through a sigframe."""
    return sigmod.sys_sigreturn(k, t)


@syscall("rt_sigreturn")
def sys_rt_sigreturn(k, t, *_):
    """Return from a handler entered through an rt_sigframe."""
    return sigmod.sys_rt_sigreturn(k, t)


def _check_sig(sig):
    if not 0 <= sig <= sigmod.NSIG:
        raise KernelError(E.EINVAL)


@syscall("kill")
def sys_kill(k, t, pid, sig, *_):
    """Send a signal to a process, a process group or everyone (kill_something_info)."""
    _check_sig(sig)
    pid = s32(pid)
    leaders = [x for x in k.tasks.values() if x.group_leader is x and x.signal is not None and x.signal.threads]
    if pid > 0:
        targets = [x for x in leaders if x.tgid == pid]
    elif pid == 0:
        targets = [x for x in leaders if x.signal.pgid == t.signal.pgid]
    elif pid == -1:
        targets = [x for x in leaders if x.tgid != 1 and x.tgid != t.tgid]
    else:
        targets = [x for x in leaders if x.signal.pgid == -pid]
    if not targets:
        raise KernelError(E.ESRCH)
    for x in targets:
        live = [th for th in x.signal.threads if th.is_alive()]
        if live:
            k.send_signal(live[0], sig, {"signo": sig, "code": sigmod.SI_USER, "pid": t.tgid, "uid": k.uid},
                          group=True)
    return 0


@syscall("tkill")
def sys_tkill(k, t, tid, sig, *_):
    """Send a signal to one thread."""
    _check_sig(sig)
    target = k.tasks.get(tid)
    if target is None or not target.is_alive():
        raise KernelError(E.ESRCH)
    k.send_signal(target, sig, {"signo": sig, "code": sigmod.SI_TKILL, "pid": t.tgid, "uid": k.uid})
    return 0


@syscall("tgkill")
def sys_tgkill(k, t, tgid, tid, sig, *_):
    """Send a signal to one thread of a given group."""
    target = k.tasks.get(tid)
    if target is None or target.tgid != tgid:
        raise KernelError(E.ESRCH)
    return sys_tkill(k, t, tid, sig)


ITIMER_REAL = 0


def _real_timer_fire(k, group):
    """ITIMER_REAL expired: SIGALRM to the process, re-armed when periodic (it_real_fn)."""
    def fire():
        rt = group.real_timer
        if rt is None or not group.threads:
            return
        deadline, interval = rt
        if k.sched.clock_ns < deadline:
            return  # a later setitimer replaced this one
        leader = group.threads[0]
        k.send_signal(leader, SIG.SIGALRM, {"signo": SIG.SIGALRM, "code": sigmod.SI_KERNEL}, group=True)
        if interval:
            group.real_timer = (deadline + interval, interval)
            k.sched.add_timer(deadline + interval, fire)
        else:
            group.real_timer = None
    return fire


def _set_real_timer(k, t, value_ns, interval_ns):
    group = t.signal
    old = group.real_timer
    remaining = max(0, old[0] - k.sched.clock_ns) if old else 0
    old_interval = old[1] if old else 0
    if value_ns:
        deadline = k.sched.clock_ns + value_ns
        group.real_timer = (deadline, interval_ns)
        k.sched.add_timer(deadline, _real_timer_fire(k, group))
    else:
        group.real_timer = None
    return remaining, old_interval


@syscall("alarm")
def sys_alarm(k, t, seconds, *_):
    """SIGALRM after seconds of the virtual clock; returns the seconds left on the previous alarm."""
    remaining, _ = _set_real_timer(k, t, seconds * 10**9, 0)
    return (remaining + 10**9 - 1) // 10**9 if remaining else 0


def _pack_itimerval(interval_ns, value_ns):
    return struct.pack("<iiii", interval_ns // 10**9, (interval_ns % 10**9) // 1000,
                       value_ns // 10**9, (value_ns % 10**9) // 1000)


@syscall("setitimer")
def sys_setitimer(k, t, which, new, old, *_):
    """ITIMER_REAL on the virtual clock (the virtual and profiling timers are not modelled)."""
    if which != ITIMER_REAL:
        k.warn_once(f"itimer{which}", f"setitimer({which}) is not modelled (-EINVAL)")
        raise KernelError(E.EINVAL)
    isec, iusec, vsec, vusec = struct.unpack("<iiii", k.get_bytes(t, new, 16)) if new else (0, 0, 0, 0)
    if min(isec, iusec, vsec, vusec) < 0 or iusec >= 10**6 or vusec >= 10**6:
        raise KernelError(E.EINVAL)
    remaining, interval = _set_real_timer(k, t, vsec * 10**9 + vusec * 1000, isec * 10**9 + iusec * 1000)
    if old:
        k.put_bytes(t, old, _pack_itimerval(interval, remaining))
    return 0


@syscall("getitimer")
def sys_getitimer(k, t, which, cur, *_):
    """The time left on ITIMER_REAL."""
    if which != ITIMER_REAL:
        raise KernelError(E.EINVAL)
    rt = t.signal.real_timer
    remaining = max(0, rt[0] - k.sched.clock_ns) if rt else 0
    k.put_bytes(t, cur, _pack_itimerval(rt[1] if rt else 0, remaining))
    return 0


@syscall("restart_syscall")
def sys_restart_syscall(k, t, *_):
    """Nothing here is restarted through a restart block: -EINTR."""
    return -E.EINTR


# ---- futex -----------------------------------------------------------------------------------------------


def _timeout(k, t, op, utime, time64, absolute_clock):
    if not utime:
        return None
    fmt, size = ("<qq", 16) if time64 else ("<iI", 8)
    sec, nsec = struct.unpack(fmt, k.get_bytes(t, utime, size))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise KernelError(E.EINVAL)
    ns = sec * 10**9 + nsec
    if absolute_clock is not None:
        ns -= k.now_ns(absolute_clock)
    return max(0, ns)


def _futex(k, t, uaddr, op, val, utime, uaddr2, val3, time64):
    cmd = op & 0x7F
    private = bool(op & FUTEX_PRIVATE_FLAG)
    fx = k.futex
    if cmd == FUTEX_WAIT:
        to = _timeout(k, t, op, utime, time64, None)
        return (yield from fx.wait(t, uaddr, val, to, FUTEX_BITSET_MATCH_ANY, private))
    if cmd == FUTEX_WAIT_BITSET:
        clk = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
        to = _timeout(k, t, op, utime, time64, clk)
        return (yield from fx.wait(t, uaddr, val, to, val3, private))
    if cmd == FUTEX_WAKE:
        return fx.wake(t, uaddr, val, FUTEX_BITSET_MATCH_ANY, private)
    if cmd == FUTEX_WAKE_BITSET:
        return fx.wake(t, uaddr, val, val3, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        return fx.requeue(t, uaddr, val, utime, uaddr2, val3 if cmd == FUTEX_CMP_REQUEUE else None, private)
    k.warn_once(f"futex{cmd}", f"futex operation {cmd} is not implemented (-ENOSYS)")
    raise KernelError(E.ENOSYS)


@syscall("futex")
def sys_futex(k, t, uaddr, op, val, utime, uaddr2, val3):
    """futex with a struct old_timespec32 timeout."""
    return (yield from _futex(k, t, uaddr, op, val, utime, uaddr2, val3, False))


@syscall("futex_time64")
def sys_futex_time64(k, t, uaddr, op, val, utime, uaddr2, val3):
    """futex with a struct __kernel_timespec timeout."""
    return (yield from _futex(k, t, uaddr, op, val, utime, uaddr2, val3, True))


def build_table() -> dict[int, Syscall]:
    """Number -> entry for every name in syscall_32.tbl; unimplemented ones get sys_ni_syscall."""
    table = {nr: Syscall(nr, name, HANDLERS.get(name, sys_ni_syscall)) for nr, name in SYSCALL_NAMES.items()}
    table[-1] = Syscall(-1, "unknown", sys_ni_syscall)
    return table


SYSCALL_TABLE = build_table()
