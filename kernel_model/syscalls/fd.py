"""Descriptors: pipe, close, dup, fcntl, ioctl (fs/pipe.c, fs/file.c, fs/fcntl.c, fs/ioctl.c)."""

from __future__ import annotations

import struct
import termios

from ..abi import E
from ..files import O_ACCMODE, O_CLOEXEC, O_NONBLOCK, KernelError, PipeBuffer, PipeEnd
from .common import RLIMIT_NOFILE, install_pair, rlimit, s32
from .. import fcntl as fasync
from .table import syscall
from ..tty import FIONREAD, tty_ioctl
from ..net import Socket
from ..inotify import InotifyFile
from .socket import sock_ioctl


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032  # F_LINUX_SPECIFIC_BASE + 7, + 8


FD_CLOEXEC = 1




def _new_pipe(k, t, fds_ptr, flags):
    if flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000):  # O_DIRECT (packet mode) is accepted and ignored
        raise KernelError(E.EINVAL)
    k.get_bytes(t, fds_ptr, 8)
    pipe = PipeBuffer()
    rd = PipeEnd(pipe, False, flags & O_NONBLOCK)
    wr = PipeEnd(pipe, True, flags & O_NONBLOCK)
    rd.wake = wr.wake = k.sched.wake_up
    return install_pair(k, t, rd, wr, bool(flags & O_CLOEXEC), fds_ptr)


@syscall("pipe", sig="out pipefds pipefd", cls="desc")
def sys_pipe(k, t, fds_ptr, *_):
    """A pipe: fds[0] reads, fds[1] writes (do_pipe2)."""
    return _new_pipe(k, t, fds_ptr, 0)


@syscall("pipe2", sig="out pipefds pipefd, flags(pipe) flags", cls="desc")
def sys_pipe2(k, t, fds_ptr, flags, *_):
    """pipe with O_CLOEXEC / O_NONBLOCK."""
    return _new_pipe(k, t, fds_ptr, flags)


@syscall("close", sig="fd fd", cls="desc")
def sys_close(k, t, fd, *_):
    """Close a descriptor."""
    t.files.close(fd)
    return 0


CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 2, 4


@syscall("close_range", sig="uint first, uint last, flags(close_range) flags", cls="desc")
def sys_close_range(k, t, first, last, flags, *_):
    """Close (or with CLOSE_RANGE_CLOEXEC mark close-on-exec) every descriptor from first to last
    (close_range(2)); CLOSE_RANGE_UNSHARE first gives the caller a table of its own. EINVAL for first > last or
    unknown flags."""
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise KernelError(E.EINVAL)
    if flags & CLOSE_RANGE_UNSHARE and t.files.users > 1:
        t.files.users -= 1
        t.files = t.files.copy()  # unshare_fd
    for fd in sorted(x for x in t.files.fds if first <= x <= last):
        if flags & CLOSE_RANGE_CLOEXEC:
            t.files.fds[fd][1] = True
        else:
            t.files.close(fd)
    return 0


@syscall("dup", sig="fd oldfd", cls="desc")
def sys_dup(k, t, fd, *_):
    """Duplicate to the lowest free descriptor."""
    return t.files.install(t.files.get(fd), limit=rlimit(t, RLIMIT_NOFILE)[0])


@syscall("dup2", sig="fd oldfd, fd newfd", cls="desc")
def sys_dup2(k, t, old, new, *_):
    """Duplicate onto a chosen descriptor."""
    f = t.files.get(old)
    if old == new:
        return new
    if new >= 1 << 31 or new >= rlimit(t, RLIMIT_NOFILE)[0]:
        raise KernelError(E.EBADF)  # dup2(2): "EBADF newfd is out of the allowed range for file descriptors"
    t.files.install_at(new, f)
    return new


@syscall("dup3", sig="fd oldfd, fd newfd, flags(cloexec) flags", cls="desc")
def sys_dup3(k, t, old, new, flags, *_):
    """dup2 with O_CLOEXEC; old == new is EINVAL."""
    if old == new or flags & ~O_CLOEXEC:
        raise KernelError(E.EINVAL)
    if new >= 1 << 31 or new >= rlimit(t, RLIMIT_NOFILE)[0]:
        raise KernelError(E.EBADF)  # ksys_dup3: newfd past RLIMIT_NOFILE, before oldfd is looked up
    t.files.install_at(new, t.files.get(old), bool(flags & O_CLOEXEC))
    return new


@syscall("fcntl", "fcntl64", sig="fd fd, fcntl_cmd cmd, fcntl_arg(cmd) arg", cls="desc", ret="fcntl")
def sys_fcntl(k, t, fd, cmd, arg, *_):
    """Descriptor flags and duplication (do_fcntl)."""
    files = t.files
    f = files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        limit = rlimit(t, RLIMIT_NOFILE)[0]
        if arg >= limit:
            raise KernelError(E.EINVAL)  # fcntl(2): "EINVAL ... arg is negative or is greater than the maximum"
        return files.install(f, cloexec=cmd == F_DUPFD_CLOEXEC, lowest=arg, limit=limit)
    if cmd == F_GETFD:
        return FD_CLOEXEC if files.fds[fd][1] else 0
    if cmd == F_SETFD:
        files.fds[fd][1] = bool(arg & FD_CLOEXEC)
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        if (arg ^ f.flags) & fasync.O_ASYNC:
            fasync.fasync_helper(k, f, fd, bool(arg & fasync.O_ASYNC))
        f.flags = (f.flags & O_ACCMODE) | (arg & ~O_ACCMODE)
        return 0
    if cmd in (F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG, F_GETSIG):
        return do_fcntl_owner(k, t, f, cmd, arg)
    if cmd in (F_SETLEASE, F_GETLEASE):
        from .. import locks

        if cmd == F_GETLEASE:
            return locks.fcntl_getlease(f)
        return locks.fcntl_setlease(k, t, f, fd, s32(arg))
    if cmd == F_NOTIFY:
        from ..inotify import fcntl_dirnotify

        return fcntl_dirnotify(k, t, f, fd, arg)
    if cmd == F_CREATED_QUERY:
        return int(getattr(f, "created", False))  # FMODE_CREATED: this open made the file
    if cmd == F_DUPFD_QUERY:
        return int(files.fds.get(arg, [None])[0] is f)
    if cmd in LOCK_CMDS:
        return do_fcntl_lock(k, t, f, cmd, arg)
    if cmd in (F_SETPIPE_SZ, F_GETPIPE_SZ):
        if not isinstance(f, PipeEnd):
            raise KernelError(E.EBADF)  # pipe_fcntl: "not a pipe"
        return pipe_set_size(k, f.pipe, arg) if cmd == F_SETPIPE_SZ else f.pipe.capacity
    raise KernelError(E.EINVAL)


F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX = 8, 9, 10, 11, 15, 16
F_SETLEASE, F_GETLEASE, F_NOTIFY, F_DUPFD_QUERY, F_CREATED_QUERY = 1024, 1025, 1026, 1027, 1028
F_OWNER_TYPES = (fasync.F_OWNER_TID, fasync.F_OWNER_PID, fasync.F_OWNER_PGRP)


def do_fcntl_owner(k, t, f, cmd, arg):
    """The file's owner and signal for O_ASYNC and leases (f_setown, f_getown_ex, F_SETSIG): F_SETOWN takes a
    pid or a negated process group, F_SETOWN_EX a struct f_owner_ex; F_SETSIG a signal number (0: SIGIO)."""
    if cmd == F_SETOWN:
        who = s32(arg)
        if who < 0:
            fasync.f_setown(k, f, fasync.F_OWNER_PGRP, -who)
        else:
            fasync.f_setown(k, f, fasync.F_OWNER_PID, who)
        return 0
    if cmd == F_GETOWN:
        return fasync.f_getown(f)
    if cmd == F_SETOWN_EX:
        type_, pid = struct.unpack("<ii", k.get_bytes(t, arg, 8))
        if type_ not in F_OWNER_TYPES:
            raise KernelError(E.EINVAL)
        fasync.f_setown(k, f, type_, pid)
        return 0
    if cmd == F_GETOWN_EX:
        o = fasync.fown(f)
        k.put_bytes(t, arg, struct.pack("<ii", o.type, o.pid))
        return 0
    if cmd == F_SETSIG:
        if arg > 64:
            raise KernelError(E.EINVAL)  # fcntl(2): "EINVAL ... the value specified in arg is not a valid signal"
        fasync.fown(f).signum = arg
        return 0
    return fasync.fown(f).signum  # F_GETSIG


F_GETLK, F_SETLK, F_SETLKW, F_GETLK64, F_SETLK64, F_SETLKW64 = 5, 6, 7, 12, 13, 14
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
LOCK_CMDS = {F_GETLK: "get", F_SETLK: "set", F_SETLKW: "wait", F_GETLK64: "get", F_SETLK64: "set",
             F_SETLKW64: "wait", F_OFD_GETLK: "get", F_OFD_SETLK: "set", F_OFD_SETLKW: "wait"}
FLOCK32, FLOCK64 = struct.Struct("<hhiii"), struct.Struct("<hhqqi")  # compat_flock, compat_flock64


def do_fcntl_lock(k, t, f, cmd, arg):
    """Record locks (fcntl_getlk / fcntl_setlk and their OFD forms): fcntl64's 64-bit commands and the OFD
    commands under fcntl64 read a struct flock64, the rest a struct flock with 32-bit offsets."""
    from .. import locks
    from ..abi import NR

    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    wide = t.regs.orig_ax == NR.fcntl64 and (cmd in (F_GETLK64, F_SETLK64, F_SETLKW64) or ofd)
    layout = FLOCK64 if wide else FLOCK32
    type_, whence, start, length, pid = layout.unpack(k.get_bytes(t, arg, layout.size))
    if ofd and pid != 0:
        raise KernelError(E.EINVAL)  # fcntl(2): "the l_pid field must be set to 0" for OFD locks
    lo, hi = locks.flock_range(f, whence, start, length)
    kind = LOCK_CMDS[cmd]
    if kind == "get":
        if type_ not in (locks.F_RDLCK, locks.F_WRLCK):
            raise KernelError(E.EINVAL)
        owner = f if ofd else t.files
        lk = locks.test_lock(f, owner, type_, lo, hi)
        if lk is None:
            out = (locks.F_UNLCK, whence, start, length, pid)
        else:
            ln = 0 if lk.end == locks.OFFSET_MAX else lk.end - lk.start + 1
            if not wide and (lk.start > 0x7FFFFFFF or ln > 0x7FFFFFFF):
                raise KernelError(E.EOVERFLOW)
            out = (lk.type, 0, lk.start, ln, -1 if lk.ofd else lk.pid)
        k.put_bytes(t, arg, layout.pack(*out))
        return 0
    return locks.set_lock(k, t, f, ofd, kind == "wait", type_, lo, hi)


def pipe_set_size(k, pipe: PipeBuffer, arg: int) -> int:
    """F_SETPIPE_SZ (pipe_set_size): the size rounded up to a power-of-two number of pages (at least one);
    EINVAL past 2^31, EPERM past fs/pipe-max-size without CAP_SYS_RESOURCE, EBUSY when the data in the pipe
    would not fit in the new number of page slots. Returns the new size."""
    if arg > 1 << 31:
        raise KernelError(E.EINVAL)
    size = 4096
    while size < arg:
        size <<= 1
    if size > k.sysctl_int("fs/pipe-max-size") and not k.cred(k.sched.current).capable(24):  # CAP_SYS_RESOURCE
        raise KernelError(E.EPERM)
    if (len(pipe.buf) + 4095) // 4096 > size // 4096:
        raise KernelError(E.EBUSY)
    pipe.capacity = size
    k.sched.wake_up(pipe.wq)  # more room may let a writer go on
    return size


@syscall("ioctl", sig="fd fd, ioctl_cmd cmd, out ioctl_arg(cmd) arg", cls="desc")
def sys_ioctl(k, t, fd, cmd, arg, *_):
    """Terminal ioctls on a tty (kernel_model.tty: termios and window size on the host terminal, job control in
    the model); -ENOTTY elsewhere."""
    f = t.files.get(fd)
    if isinstance(f, Socket):
        return sock_ioctl(k, t, f, cmd, arg)
    if isinstance(f, InotifyFile) and cmd == FIONREAD:  # inotify_ioctl: the bytes of the queued events
        k.put_u32(t, arg, f.pending_bytes())
        return 0
    if isinstance(f, PipeEnd) and cmd == FIONREAD:  # pipe_ioctl: the bytes waiting in the pipe
        k.put_u32(t, arg, len(f.pipe.buf))
        return 0
    if not f.isatty():
        raise KernelError(E.ENOTTY)
    try:
        return tty_ioctl(k, t, f.fd, cmd, arg)
    except (OSError, termios.error) as e:
        err = e.args[0] if e.args and isinstance(e.args[0], int) else E.EINVAL
        raise KernelError(err) from None


LOCK_MAND = 32


@syscall("flock", sig="fd fd, flags(flock) operation", cls="desc")
def sys_flock(k, t, fd, op, *_):
    """BSD whole-file locks (fs/locks.c flock), owned by the open file description."""
    from .. import locks

    if op & LOCK_MAND:
        return 0  # "Attempt to set a LOCK_MAND lock via flock(2)... the request ignored" (fs/locks.c), first of all
    if op & ~locks.LOCK_NB not in (locks.LOCK_SH, locks.LOCK_EX, locks.LOCK_UN):
        raise KernelError(E.EINVAL)  # flock_translate_cmd comes before the descriptor
    return locks.flock_file(k, t, t.files.get(fd), op)
