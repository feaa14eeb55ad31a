"""Record locks (fs/locks.c): POSIX locks owned by a process's files_struct and open-file-description (OFD)
locks owned by an open file, on byte ranges of an inode.

A conflicting request fails with EAGAIN (F_SETLK) or sleeps through the scheduler until the range is free
(F_SETLKW), with EDEADLK when the wait would close a cycle of POSIX owners waiting on each other
(posix_locks_deadlock). A process's POSIX locks on an inode go when it closes any descriptor of that inode
(locks_remove_posix, called from filp_close), and OFD locks when their open file's last reference goes
(locks_remove_file). Locks live per host inode (dev, ino), so two emulator runs locking the same host file
contend as two processes would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .abi import E
from .files import LOCKS_HELD, KernelError, PipeEnd

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
OFFSET_MAX = (1 << 63) - 1


@dataclass
class FileLock:
    """struct file_lock: an owner's lock of [start, end] (end inclusive; OFFSET_MAX: to the end of file)."""

    owner: object
    ofd: bool
    type: int
    start: int
    end: int
    pid: int  # the locking process's tgid (F_GETLK reports it for POSIX locks)


@dataclass
class InodeLocks:
    """struct file_lock_context: an inode's locks and the queue of tasks waiting for them."""

    locks: list[FileLock] = field(default_factory=list)
    waiters: list = field(default_factory=list)  # (task, wake) of tasks sleeping in F_SETLKW or flock
    flocks: list[tuple[object, int]] = field(default_factory=list)  # flock(2): (open file, F_RDLCK/F_WRLCK)


_INODES: dict[tuple[int, int], InodeLocks] = {}
_BLOCKED_ON: dict[int, object] = {}  # id(POSIX owner) -> the owner it waits for (posix_locks_deadlock)


def inode_key(f) -> tuple[int, int]:
    """(dev, ino) of an open host file; EBADF for files without one (pipes and model files)."""
    fd = getattr(f, "fd", None)
    if fd is None:
        if isinstance(f, PipeEnd):
            return 0xC, f.pipe.ino  # pipefs: a pipe's inode takes locks like any other
        raise KernelError(E.EBADF)
    try:
        st = os.fstat(fd)
    except OSError as e:
        raise KernelError(e.errno or E.EBADF) from None
    return st.st_dev, st.st_ino


def flock_range(f, whence: int, start: int, length: int) -> tuple[int, int]:
    """[start, end] of a struct flock (flock_to_posix_lock): from SEEK_SET, SEEK_CUR or SEEK_END; a length
    of 0 reaches the end of file and beyond, a negative one covers the bytes before start."""
    if whence == os.SEEK_CUR:
        start += os.lseek(f.fd, 0, os.SEEK_CUR)
    elif whence == os.SEEK_END:
        start += os.fstat(f.fd).st_size
    elif whence != os.SEEK_SET:
        raise KernelError(E.EINVAL)
    if length > 0:
        end = start + length - 1
    elif length == 0:
        end = OFFSET_MAX
    else:
        start, end = start + length, start - 1
    if start < 0 or end < start:
        raise KernelError(E.EINVAL)
    return start, min(end, OFFSET_MAX)


def _conflicts(a: FileLock, owner: object, type_: int, start: int, end: int) -> bool:
    return a.owner is not owner and a.start <= end and start <= a.end and F_WRLCK in (a.type, type_)


def test_lock(f, owner: object, type_: int, start: int, end: int) -> FileLock | None:
    """The first lock of another owner that would block this one (posix_test_lock), or None."""
    ctx = _INODES.get(inode_key(f))
    if ctx is None:
        return None
    for lk in ctx.locks:
        if _conflicts(lk, owner, type_, start, end):
            return lk
    return None


def _apply(ctx: InodeLocks, owner: object, ofd: bool, type_: int, start: int, end: int, pid: int) -> None:
    """posix_lock_inode without conflicts: the owner's locks over the range are cut away (split when the
    range is inside one), the new lock goes in (unless F_UNLCK), and touching locks of its type merge."""
    kept: list[FileLock] = []
    for lk in ctx.locks:
        if lk.owner is not owner or lk.end < start or lk.start > end:
            kept.append(lk)
            continue
        if lk.start < start:
            kept.append(FileLock(owner, ofd, lk.type, lk.start, start - 1, lk.pid))
        if lk.end > end:
            kept.append(FileLock(owner, ofd, lk.type, end + 1, lk.end, lk.pid))
    if type_ != F_UNLCK:
        new = FileLock(owner, ofd, type_, start, end, pid)
        for lk in list(kept):
            if lk.owner is owner and lk.type == type_ and (lk.end + 1 >= new.start and new.end + 1 >= lk.start):
                new.start, new.end = min(new.start, lk.start), max(new.end, lk.end)
                kept.remove(lk)
        kept.append(new)
    kept.sort(key=lambda x: (x.start, x.end))
    ctx.locks = kept


def _wake_waiters(ctx: InodeLocks) -> None:
    waiters, ctx.waiters = ctx.waiters, []
    for task, wake in waiters:
        wake(task)


def _would_deadlock(owner: object, blocker: object) -> bool:
    """Following who waits for whom from the blocker leads back to this owner (posix_locks_deadlock)."""
    seen = 0
    while blocker is not None and seen < 10:  # MAX_DEADLK_ITERATIONS
        if blocker is owner:
            return True
        blocker = _BLOCKED_ON.get(id(blocker))
        seen += 1
    return False


def set_lock(k: Kernel, t: Task, f, ofd: bool, wait: bool, type_: int, start: int, end: int):
    """F_SETLK / F_SETLKW (and the OFD forms), as a generator: the lock is taken, changed or released;
    EAGAIN when another owner holds a conflicting lock and wait is false; EBADF for a read lock on a file not
    open for reading or a write lock on one not open for writing; EDEADLK for a POSIX wait that would deadlock;
    a signal ends the wait (ERESTARTSYS)."""
    from .files import O_ACCMODE, O_RDONLY, O_WRONLY
    from .signal import ERESTARTSYS
    from .task import WaitQueue

    acc = f.flags & O_ACCMODE
    if (type_ == F_RDLCK and acc == O_WRONLY) or (type_ == F_WRLCK and acc == O_RDONLY):
        raise KernelError(E.EBADF)
    if type_ not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise KernelError(E.EINVAL)
    owner = f if ofd else t.files
    key = inode_key(f)
    ctx = _INODES.setdefault(key, InodeLocks())
    LOCKS_HELD[0] = True
    while True:
        blocker = None if type_ == F_UNLCK else next(
            (lk for lk in ctx.locks if _conflicts(lk, owner, type_, start, end)), None)
        if blocker is None:
            break
        if not wait:
            raise KernelError(E.EAGAIN)
        if not ofd and not blocker.ofd and _would_deadlock(owner, blocker.owner):
            raise KernelError(E.EDEADLK)
        if k.signal_pending(t):
            raise KernelError(ERESTARTSYS)
        if not ofd:
            _BLOCKED_ON[id(owner)] = blocker.owner
        ctx.waiters.append((t, k.sched.wake_task))
        k.sched.sleep_on(t, WaitQueue("posix_lock"))
        try:
            yield
        finally:
            _BLOCKED_ON.pop(id(owner), None)
            ctx.waiters = [w for w in ctx.waiters if w[0] is not t]
    _apply(ctx, owner, ofd, type_, start, end, t.tgid)
    f.has_locks = True
    _wake_waiters(ctx)
    if not ctx.locks and not ctx.waiters and not ctx.flocks:
        _INODES.pop(key, None)
    LOCKS_HELD[0] = bool(_INODES)
    return 0


def _remove(f, match) -> None:
    try:
        key = inode_key(f)
    except KernelError:
        return
    ctx = _INODES.get(key)
    if ctx is None:
        return
    before = len(ctx.locks) + len(ctx.flocks)
    ctx.locks = [lk for lk in ctx.locks if not match(lk)]
    ctx.flocks = [(o, ty) for o, ty in ctx.flocks if not match(FileLock(o, True, ty, 0, OFFSET_MAX, 0))]
    if len(ctx.locks) + len(ctx.flocks) != before:
        _wake_waiters(ctx)
    if not ctx.locks and not ctx.waiters and not ctx.flocks:
        _INODES.pop(key, None)
    LOCKS_HELD[0] = bool(_INODES)


def locks_remove_posix(files: object, f) -> None:
    """Closing any descriptor of an inode drops every POSIX lock the process holds on it (fcntl(2): "If a
    process closes any file descriptor referring to a file, then all of the process's locks on that file are
    released")."""
    _remove(f, lambda lk: not lk.ofd and lk.owner is files)


def locks_remove_file(f) -> None:
    """The open file's last reference went: its OFD locks and its lease go."""
    _remove(f, lambda lk: lk.ofd and lk.owner is f)
    if _LEASES:
        locks_remove_lease(getattr(f, "lease_sched", None), f)


LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8


def flock_file(k: Kernel, t: Task, f, op: int):
    """flock(2), as a generator: a shared or exclusive lock of the whole file owned by the open file
    (dup and fork share it), independent of fcntl locks; converting releases first; EWOULDBLOCK with LOCK_NB
    when another open file holds a conflicting one; a signal ends the wait (EINTR, as flock_lock_inode_wait)."""
    from .task import WaitQueue

    kind = op & ~LOCK_NB
    if kind not in (LOCK_SH, LOCK_EX, LOCK_UN):
        raise KernelError(E.EINVAL)
    key = inode_key(f)
    ctx = _INODES.setdefault(key, InodeLocks())
    LOCKS_HELD[0] = True
    mine = [x for x in ctx.flocks if x[0] is f]
    if mine:  # a conversion (or an unlock) drops the old lock first, and lets waiters see it
        ctx.flocks = [x for x in ctx.flocks if x[0] is not f]
        _wake_waiters(ctx)
    if kind != LOCK_UN:
        type_ = F_WRLCK if kind == LOCK_EX else F_RDLCK
        while any(o is not f and F_WRLCK in (ty, type_) for o, ty in ctx.flocks):
            if op & LOCK_NB:
                raise KernelError(E.EAGAIN)
            if k.signal_pending(t):
                raise KernelError(E.EINTR)
            ctx.waiters.append((t, k.sched.wake_task))
            k.sched.sleep_on(t, WaitQueue("flock"))
            try:
                yield
            finally:
                ctx.waiters = [w for w in ctx.waiters if w[0] is not t]
        ctx.flocks.append((f, type_))
        f.has_locks = True
    if not ctx.locks and not ctx.waiters and not ctx.flocks:
        _INODES.pop(key, None)
    LOCKS_HELD[0] = bool(_INODES)
    return 0


# ---- leases (fcntl F_SETLEASE) ---------------------------------------------------------------------------

CAP_LEASE = 28


@dataclass
class Lease:
    """A lease (a FL_LEASE file_lock): the open file holding it, its type, and while another process's open
    breaks it, the type it must come down to (F_UNLCK or F_RDLCK) and when it will be taken away."""

    file: object
    type: int
    breaking: int | None = None
    deadline: int = 0


@dataclass
class InodeLeases:
    leases: list[Lease] = field(default_factory=list)
    wq: object = None


_LEASES: dict[tuple[int, int], InodeLeases] = {}


def _open_modes(k: Kernel, key: tuple[int, int]) -> list:
    """The open files of the model on the inode (its i_readcount and i_writecount, counted from them)."""
    seen, out = set(), []
    for task in k.tasks.values():
        files = getattr(task, "files", None)
        if files is None or id(files) in seen:
            continue
        seen.add(id(files))
        for f, _ in files.fds.values():
            if id(f) in seen or getattr(f, "fd", None) is None or not getattr(f, "regular", True):
                continue
            seen.add(id(f))
            try:
                if inode_key(f) == key:
                    out.append(f)
            except KernelError:
                continue
    return out


def leases_exist() -> bool:
    """Whether any lease is held: opens and truncates look for ones to break only then."""
    return bool(_LEASES)


def fcntl_getlease(f) -> int:
    """F_GETLEASE: the lease this open file holds, or while it is being broken the type it must come down to."""
    try:
        ctx = _LEASES.get(inode_key(f))
    except KernelError:
        return F_UNLCK
    for lease in ctx.leases if ctx else ():
        if lease.file is f:
            return lease.breaking if lease.breaking is not None else lease.type
    return F_UNLCK


def fcntl_setlease(k: Kernel, t: Task, f, fd: int, arg: int) -> int:
    """Take, change or drop a lease on a regular file (fcntl_setlease / generic_add_lease): EACCES unless the
    caller owns the file or has CAP_LEASE; EAGAIN for a read lease on a file open for writing, a write lease on
    a file open anywhere else, a lease that conflicts with another file's, or a downgrade a pending break
    forbids; EINVAL for another type. The holder is made the file's owner, so a break sends it SIGIO (or the
    F_SETSIG signal)."""
    from .fcntl import F_OWNER_PID, fown
    from .task import WaitQueue

    import stat as pystat

    if arg not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise KernelError(E.EINVAL)
    fdno = getattr(f, "fd", None)
    if fdno is None:
        raise KernelError(E.EINVAL)
    st = os.fstat(fdno)
    if not pystat.S_ISREG(st.st_mode):
        raise KernelError(E.EINVAL)
    cred = k.cred(t)
    if cred.fsuid != st.st_uid and not cred.capable(CAP_LEASE):
        raise KernelError(E.EACCES)
    key = (st.st_dev, st.st_ino)
    ctx = _LEASES.get(key)
    mine = next((x for x in ctx.leases if x.file is f), None) if ctx else None
    if arg == F_UNLCK:
        if mine is None:
            raise KernelError(E.EAGAIN)  # generic_delete_lease found nothing to drop
        ctx.leases.remove(mine)
        k.sched.wake_up(ctx.wq)
        if not ctx.leases:
            _LEASES.pop(key, None)
        return 0
    if mine is not None and mine.breaking is not None:
        if arg == F_WRLCK or mine.breaking == F_UNLCK:
            raise KernelError(E.EAGAIN)  # the breaker's open is for writing (or a write lease is being broken)
    acc = f.flags & 3
    opens = _open_modes(k, key)
    writers = sum(1 for x in opens if x.flags & 3 in (1, 2))
    readers = sum(1 for x in opens if x.flags & 3 in (0, 2))
    if arg == F_RDLCK and writers:
        raise KernelError(E.EAGAIN)
    if arg == F_WRLCK and (writers != (1 if acc in (1, 2) else 0) or
                           readers != (1 if acc in (0, 2) else 0) or len(opens) > 1):
        raise KernelError(E.EAGAIN)
    others = [x for x in ctx.leases if x.file is not f] if ctx else []
    if others and (arg == F_WRLCK or any(x.type == F_WRLCK or x.breaking is not None for x in others)):
        raise KernelError(E.EAGAIN)
    if ctx is None:
        ctx = _LEASES[key] = InodeLeases(wq=WaitQueue("lease"))
    if mine is None:
        ctx.leases.append(Lease(f, arg))
        f.has_locks = True
    else:
        mine.type = arg
        if mine.breaking is not None and arg <= mine.breaking:
            mine.breaking = None
        k.sched.wake_up(ctx.wq)
    o = fown(f)
    o.type, o.pid = F_OWNER_PID, t.tgid  # lease_setup: __f_setown(filp, task_pid(current), PIDTYPE_TGID)
    f.lease_fd = fd
    f.lease_sched = k.sched
    return 0


def break_lease(k: Kernel, t: Task, path: str, want_write: bool, nonblock: bool, opener=None):
    """An open (or truncate) that conflicts with another file's lease (__break_lease), as a generator: the
    holders are told (SIGIO or their F_SETSIG signal), then the caller waits until they give the lease up or
    down, or until /proc/sys/fs/lease-break-time seconds pass and it is taken from them; EWOULDBLOCK for a
    non-blocking open, EINTR-like restart for a signal."""
    if not _LEASES:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    ctx = _LEASES.get(key)
    if ctx is None:
        return
    target = F_UNLCK if want_write else F_RDLCK
    from .fcntl import POLL_MSG, send_sigio
    from .signal import ERESTARTSYS

    def conflicting():
        return [x for x in ctx.leases if x.file is not opener and (x.type == F_WRLCK or want_write)]

    if not conflicting():
        return
    now = k.sched.now()
    for lease in conflicting():
        if lease.breaking is None or (target == F_UNLCK and lease.breaking != F_UNLCK):
            first = lease.breaking is None
            lease.breaking = target
            if first:
                lease.deadline = now + k.sysctl_int("fs/lease-break-time") * 10**9
                send_sigio(k, lease.file, getattr(lease.file, "lease_fd", 0), POLL_MSG)
    if nonblock:
        raise KernelError(E.EAGAIN)
    while True:
        pending = conflicting()
        if not pending:
            return
        left = min(x.deadline for x in pending) - k.sched.now()
        if left <= 0:  # time_out_leases: the holders lose what they did not give up
            for lease in pending:
                if lease.breaking == F_UNLCK:
                    ctx.leases.remove(lease)
                else:
                    lease.type, lease.breaking = F_RDLCK, None
            if not ctx.leases:
                _LEASES.pop(key, None)
            return
        if k.signal_pending(t):
            raise KernelError(ERESTARTSYS)
        k.sched.sleep_on(t, ctx.wq, left)
        yield


def locks_remove_lease(k_sched, f) -> None:
    """The open file's last reference went: its lease goes, and openers waiting for it go on."""
    for key, ctx in list(_LEASES.items()):
        held = [x for x in ctx.leases if x.file is f]
        if held:
            ctx.leases = [x for x in ctx.leases if x.file is not f]
            if k_sched is not None:
                k_sched.wake_up(ctx.wq)
            if not ctx.leases:
                _LEASES.pop(key, None)
