"""Opening files and changing their attributes: open, chmod, chown, truncate, utimensat, access, chdir,
umask, fsync (fs/open.c, fs/utimes.c, fs/sync.c)."""

from __future__ import annotations

import os
import stat as pystat
import struct

from ..abi import NR, E
from .. import procfs
from ..files import (O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOFOLLOW, O_PATH, KernelError, PipeEnd,
                     open_host)
from .table import syscall
from .. import locks
from ..inotify import IN_ATTRIB, IN_CREATE, IN_MODIFY, IN_OPEN
from ..cred import (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, MAY_READ, MAY_WRITE, check_create, check_file,
                    generic_permission, own_new_file)
from .common import (AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, CLOCK_REALTIME, KTS, RLIMIT_NOFILE,
                     empty_path, host_call, rlimit, s32)


__O_TMPFILE = 0o20000000


def build_open_flags(flags: int) -> int:
    """The flags open acts on (build_open_how + build_open_flags): "O_PATH beats everything else", keeping only
    O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC (so O_PATH|O_CREAT creates nothing); otherwise EINVAL for O_DIRECTORY with
    O_CREAT, and for an O_TMPFILE that is not O_TMPFILE|O_DIRECTORY without O_CREAT, or not for writing."""
    if flags & O_PATH:
        return flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)
    if flags & (O_DIRECTORY | O_CREAT) == O_DIRECTORY | O_CREAT:
        raise KernelError(E.EINVAL)
    if flags & __O_TMPFILE and (flags & (__O_TMPFILE | O_DIRECTORY | O_CREAT) != __O_TMPFILE | O_DIRECTORY
                                or flags & 3 == 0):
        raise KernelError(E.EINVAL)
    return flags


@syscall("open", sig="path pathname, open_flags flags, open_mode(flags) mode", cls="desc,file")
def sys_open(k, t, path_ptr, flags, mode, *_):
    """Open a path under the guest root at the lowest free descriptor (do_sys_open)."""
    flags = build_open_flags(flags)
    return _open(k, t, k.get_path(t, path_ptr, create=bool(flags & 0o100)), flags, mode)


@syscall("creat", sig="path pathname, mode mode", cls="desc,file")
def sys_creat(k, t, path_ptr, mode, *_):
    """creat(2): "equivalent to open() with flags equal to O_CREAT|O_WRONLY|O_TRUNC" (O_LARGEFILE on i386)."""
    flags = 0o100 | 0o1 | 0o1000 | 0o100000
    return _open(k, t, k.get_path(t, path_ptr, create=True), flags, mode)


@syscall("openat", sig="dirfd dirfd, path pathname, open_flags flags, open_mode(flags) mode", cls="desc,file")
def sys_openat(k, t, dirfd, path_ptr, flags, mode, *_):
    """open relative to a directory descriptor or the cwd (AT_FDCWD)."""
    flags = build_open_flags(flags)
    return _open(k, t, k.get_path_at(t, dirfd, path_ptr, create=bool(flags & 0o100)), flags, mode)


@syscall("chmod", sig="path pathname, mode mode", cls="file")
def sys_chmod(k, t, path_ptr, mode, *_):
    """Change a file's mode."""
    return sys_fchmodat(k, t, AT_FDCWD, path_ptr, mode)


def _attrib(k, target) -> None:
    """A change of a file's attributes, reported to inotify watches (fsnotify_change: IN_ATTRIB)."""
    if k.fsnotify:
        if isinstance(target, str):
            k.fsnotify.path_event(target, IN_ATTRIB)
        else:
            k.fsnotify.file_event(target, IN_ATTRIB)


@syscall("fchmod", sig="fd fd, mode mode", cls="desc")
def sys_fchmod(k, t, fd, mode, *_):
    """Change an open file's mode (a pipe's inode too)."""
    f = t.files.get(fd)
    if isinstance(f, PipeEnd):
        _owner_or_capable(k, t, f.stat()["uid"])
        f.setattr(mode=mode)
        _attrib(k, f)
        return 0
    if not hasattr(f, "fd"):
        raise KernelError(E.EOPNOTSUPP)  # an anonymous inode refuses setattr
    _owner_or_capable(k, t, host_call(os.fstat, f.fd).st_uid)
    host_call(os.fchmod, f.fd, mode & 0o7777)
    _attrib(k, f)
    return 0


@syscall("fchmodat", sig="dirfd dirfd, path pathname, mode mode", cls="desc,file")
def sys_fchmodat(k, t, dirfd, path_ptr, mode, *_):
    """chmod relative to a directory descriptor; only the owner or CAP_FOWNER may (EPERM)."""
    path = k.get_path_at(t, dirfd, path_ptr)
    _owner_or_capable(k, t, host_call(os.stat, path).st_uid)
    host_call(os.chmod, path, mode & 0o7777)
    _attrib(k, path)
    return 0


@syscall("truncate", sig="path path, off length", cls="file")
@syscall("truncate64", sig="path path, loff length", cls="file")
def sys_truncate(k, t, path_ptr, lo, hi, *_):
    """Set a named file's size (do_sys_truncate): EISDIR for a directory, EINVAL for a negative length or a
    non-regular file, EACCES without write permission; it breaks a lease held on the file first."""
    length = lo | (hi << 32) if t.regs.orig_ax == NR.truncate64 else s32(lo)
    if length < 0 or length >> 63:
        raise KernelError(E.EINVAL)  # before the path is read
    path = k.get_path(t, path_ptr)
    try:
        st = os.stat(path)
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None
    if pystat.S_ISDIR(st.st_mode):
        raise KernelError(E.EISDIR)
    if not pystat.S_ISREG(st.st_mode):
        raise KernelError(E.EINVAL)
    cred = k.cred(t)
    if not cred.capable(CAP_DAC_OVERRIDE):
        check_file(cred, path, MAY_WRITE)
    if locks.leases_exist():
        yield from locks.break_lease(k, t, path, True, False)
    fd = host_call(os.open, path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        k.page_cache.truncate(fd, length)
        host_call(os.ftruncate, fd, length)
    finally:
        os.close(fd)
    if k.fsnotify:
        k.fsnotify.path_event(path, IN_MODIFY)
    return 0


@syscall("ftruncate", sig="fd fd, off length", cls="desc")
@syscall("ftruncate64", sig="fd fd, loff length", cls="desc")
def sys_ftruncate(k, t, fd, lo, hi, *_):
    """Set an open file's size (64-bit length in two registers for ftruncate64)."""
    length = lo | (hi << 32) if t.regs.orig_ax == NR.ftruncate64 else s32(lo)
    if length < 0 or length >> 63:
        raise KernelError(E.EINVAL)  # do_sys_ftruncate checks the length before the descriptor
    f = t.files.get(fd)
    if not hasattr(f, "fd") or not getattr(f, "regular", False) or f.flags & 3 in (0, 3):
        raise KernelError(E.EINVAL)  # a regular file open for writing
    if length > 0x7FFFFFFF and not f.flags & O_LARGEFILE:
        raise KernelError(E.EINVAL)  # ksys_ftruncate: "small" files (no O_LARGEFILE) stop at 2 GiB, ftruncate64 too
    k.page_cache.truncate(f.fd, length)
    host_call(os.ftruncate, f.fd, length)
    if k.fsnotify:
        k.fsnotify.file_event(f, IN_MODIFY)
    return 0


@syscall("utimensat", sig="dirfd dirfd, path pathname, utimens times, flags(at) flags", cls="desc,file")
@syscall("utimensat_time64", sig="dirfd dirfd, path pathname, utimens64 times, flags(at) flags", cls="desc,file")
def sys_utimensat(k, t, dirfd, path_ptr, times, flags, *_):
    """Set access and modification times; NULL times means now, UTIME_NOW / UTIME_OMIT per field."""
    UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
    fmt, size = (KTS, 16) if t.regs.orig_ax == NR.utimensat_time64 else ("<iI", 8)
    raw = k.get_bytes(t, times, 2 * size) if times else None  # the times are read first (EFAULT)
    given = [struct.unpack_from(fmt, raw, i * size) for i in (0, 1)] if raw else None
    if given and given[0][1] == given[1][1] == UTIME_OMIT:
        return 0
    empty = bool(path_ptr) and flags & AT_EMPTY_PATH and empty_path(k, t, path_ptr)
    if (not path_ptr or empty) and dirfd != AT_FDCWD:  # do_utimes_fd ("" with AT_EMPTY_PATH is dirfd too)
        if flags & ~AT_EMPTY_PATH if empty else flags:
            raise KernelError(E.EINVAL)
        f = t.files.get(dirfd)
        if not hasattr(f, "fd"):
            raise KernelError(E.EBADF)
        target = f.fd
    else:
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            raise KernelError(E.EINVAL)
        target = k.get_path_at(t, dirfd, path_ptr, follow=not flags & AT_SYMLINK_NOFOLLOW)
    if given and any(n not in (UTIME_NOW, UTIME_OMIT) and not 0 <= n < 10**9 for _, n in given):
        raise KernelError(E.EINVAL)  # "EINVAL Invalid value in one of the tv_nsec fields" (utimensat(2))
    st = host_call(os.stat, target) if not isinstance(target, int) else host_call(os.fstat, target)
    now = k.now_ns(CLOCK_REALTIME)
    if given:
        vals = []
        for (sec, nsec), cur in zip(given, (st.st_atime_ns, st.st_mtime_ns), strict=True):
            vals.append(now if nsec == UTIME_NOW else cur if nsec == UTIME_OMIT else sec * 10**9 + nsec)
    else:
        vals = [now, now]
    if isinstance(target, int):
        host_call(lambda: os.utime(target, ns=tuple(vals)))
        _attrib(k, f)
    else:
        host_call(lambda: os.utime(target, ns=tuple(vals), follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW))
        _attrib(k, target)
    return 0


def _owner_or_capable(k, t, owner: int) -> None:
    """inode_owner_or_capable: changing a file's mode is for its owner (by fsuid) or CAP_FOWNER (EPERM)."""
    c = k.cred(t)
    if c.fsuid != owner and not c.capable(CAP_FOWNER):
        raise KernelError(E.EPERM)


def _chown_permitted(k, t, file_uid: int, file_gid: int, uid: int, gid: int) -> None:
    """chown_ok and chgrp_ok (fs/attr.c): without CAP_CHOWN only the owner (by fsuid) may change a file, its owner
    to itself and its group to one of the caller's groups; EPERM otherwise. The host change is the emulator's."""
    c = k.cred(t)
    if c.capable(CAP_CHOWN):
        return
    owner = file_uid == c.fsuid
    if uid != -1 and not (owner and uid == file_uid):
        raise KernelError(E.EPERM)
    if gid != -1 and not (owner and (gid == file_gid or gid == c.fsgid or gid in c.groups)):
        raise KernelError(E.EPERM)


def _chown_ids(old: bool, uid: int, gid: int) -> tuple[int, int]:
    """The ids a chown call passes on: -1 (or 0xFFFF for the 16-bit calls, low16highid) leaves one unchanged;
    any other 32-bit value is an id (the initial user namespace maps 0..0xFFFFFFFE)."""
    mask = 0xFFFF if old else 0xFFFFFFFF
    return tuple(-1 if v & mask == mask else v & mask for v in (uid, gid))


def _fchown(k, t, fd: int, uid: int, gid: int) -> int:
    """chown of an open file: a host file's inode, a pipe's in-memory one; EOPNOTSUPP for an anonymous inode
    (eventfd, epoll, inotify, ...), which refuses setattr."""
    f = t.files.get(fd)
    if isinstance(f, PipeEnd):
        st = f.stat()
        _chown_permitted(k, t, st["uid"], st["gid"], uid, gid)
        f.setattr(uid=uid, gid=gid)
    elif hasattr(f, "fd"):
        st = host_call(os.fstat, f.fd)
        _chown_permitted(k, t, st.st_uid, st.st_gid, uid, gid)
        host_call(os.fchown, f.fd, uid, gid)
    else:
        raise KernelError(E.EOPNOTSUPP)
    _attrib(k, f)
    return 0


@syscall("chown32", "lchown32", sig="path pathname, uid owner, gid group", cls="file")
@syscall("fchown32", sig="fd fd, uid owner, gid group", cls="desc")
@syscall("chown", "lchown", sig="path pathname, uid16 owner, gid16 group", cls="file")
@syscall("fchown", sig="fd fd, uid16 owner, gid16 group", cls="desc")
@syscall("fchownat", sig="dirfd dirfd, path pathname, uid owner, gid group, flags(at) flags", cls="desc,file")
def sys_chown(k, t, a, b, c, d, e, *_):
    """Change ownership on the host (only the host's root may give files away)."""
    nr = t.regs.orig_ax
    if nr in (NR.fchown32, NR.fchown):  # (fd, uid, gid)
        return _fchown(k, t, a, *_chown_ids(nr == NR.fchown, b, c))
    if nr == NR.fchownat:  # (dirfd, path, uid, gid, flags)
        if e & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            raise KernelError(E.EINVAL)  # do_fchownat checks the flags before the path
        if e & AT_EMPTY_PATH and empty_path(k, t, b):
            return _fchown(k, t, a, *_chown_ids(False, c, d))  # "" with AT_EMPTY_PATH: dirfd itself
        path = k.get_path_at(t, a, b, follow=not e & AT_SYMLINK_NOFOLLOW)
        (uid, gid), follow = _chown_ids(False, c, d), not e & AT_SYMLINK_NOFOLLOW
    else:
        follow = nr not in (NR.lchown32, NR.lchown)
        path = k.get_path(t, a, follow=follow)
        uid, gid = _chown_ids(nr in (NR.lchown, NR.chown), b, c)
    st = host_call(lambda: os.stat(path, follow_symlinks=follow))
    _chown_permitted(k, t, st.st_uid, st.st_gid, uid, gid)
    host_call(lambda: os.chown(path, uid, gid, follow_symlinks=follow))
    _attrib(k, path)
    return 0


@syscall("fsync", "fdatasync", sig="fd fd", cls="desc")
def sys_fsync(k, t, fd, *_):
    """Flush an open file: its dirty mapped pages go to the host file (vfs_fsync_range)."""
    f = t.files.get(fd)
    if not hasattr(f, "fd"):
        raise KernelError(E.EINVAL)  # a pipe, socket or other file without an fsync operation
    if getattr(f, "regular", False):
        k.page_cache.sync(f.fd)
    else:
        host_call(os.fsync, f.fd)  # a directory syncs; a character device says EINVAL as on the host
    return 0


@syscall("fchdir", sig="fd fd", cls="desc")
def sys_fchdir(k, t, fd, *_):
    """Change the cwd to an open directory."""
    f = t.files.get(fd)
    if not hasattr(f, "fd") or not os.path.isdir(f.name):
        raise KernelError(E.ENOTDIR)
    t.fs.cwd = k.guest_path(f.name)
    return 0


def _open(k, t, path, flags, mode=0o666):
    f = procfs.special_open(k, t, path, flags) if path.startswith(k.proc_dir) else None
    if f is None:
        try:
            st = os.stat(path)
        except OSError:
            st = None
        cred = k.cred(t)
        if st is not None and flags & O_CREAT and flags & O_EXCL and not flags & O_PATH:
            raise KernelError(E.EEXIST)  # O_CREAT|O_EXCL on an existing name, before the directory check
        if st is not None and pystat.S_ISDIR(st.st_mode) and not flags & O_PATH and (
                flags & O_CREAT or flags & 3 in (1, 2, 3)):
            raise KernelError(E.EISDIR)  # do_open / may_open: before the permission check
        if not cred.capable(CAP_DAC_OVERRIDE):  # the task's own identity, on top of the emulator's host check
            acc = flags & 3
            if st is not None and not flags & 0o10000000:
                mask = (MAY_READ if acc in (0, 2) else 0) | (MAY_WRITE if acc in (1, 2) or flags & 0o1000 else 0)
                check_file(cred, path, mask)
            elif st is None and flags & 0o100:
                check_create(cred, path)
        if st is not None and pystat.S_ISFIFO(st.st_mode) and not flags & 0o10000000:  # O_PATH opens no pipe
            if flags & 0o200000:
                raise KernelError(E.ENOTDIR)  # O_DIRECTORY: checked before the FIFO is opened (do_open)
            return fifo_open(k, t, path, st, flags)  # a generator: the open may wait for the other side
        if locks.leases_exist() and st is not None and pystat.S_ISREG(st.st_mode) and not flags & 0o10000000:
            return _open_breaking_lease(k, t, path, flags, mode, st)  # a generator: the open may wait
        f = _open_host_file(k, t, path, flags, mode, st)
    return _install_opened(t, f, flags)


def _open_host_file(k, t, path, flags, mode, st):
    f = open_host(path, flags, mode, t.fs.umask)
    if st is None:
        own_new_file(k.cred(t), path)
        f.created = bool(flags & 0o100)  # FMODE_CREATED (fcntl F_CREATED_QUERY)
    f.cache = k.page_cache
    f.fsnotify = k.fsnotify  # opens and closes of it are reported to inotify watches
    if path.startswith(k.proc_dir):
        f.on_write = procfs.write_handler(k, t, path)
    return f


def _install_opened(t, f, flags):
    try:
        fd = t.files.install(f, cloexec=bool(flags & O_CLOEXEC), limit=rlimit(t, RLIMIT_NOFILE)[0])
    except KernelError:
        f.release()
        raise
    fsn = getattr(f, "fsnotify", None)
    if fsn:
        if getattr(f, "created", False):
            fsn.path_event(f.name, IN_CREATE)  # fsnotify_create, then fsnotify_open
        fsn.path_event(f.name, IN_OPEN)
    return fd


def _open_breaking_lease(k, t, path, flags, mode, st):
    """An open of a leased file: break the leases it conflicts with first (break_lease in do_dentry_open)."""
    want_write = flags & 3 in (1, 2) or bool(flags & 0o1000)
    yield from locks.break_lease(k, t, path, want_write, bool(flags & 0o4000))
    return _install_opened(t, _open_host_file(k, t, path, flags, mode, st), flags)


def fifo_open(k, t, path, st, flags):
    """Open a FIFO as a pipe of the model (fifo_open): every opener of the same inode shares one pipe buffer;
    a reader waits for a writer and a writer for a reader, unless O_NONBLOCK (a writer then gets ENXIO when
    there is no reader); O_RDWR never waits. The host FIFO itself is never opened."""
    from ..files import O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, PipeBuffer, PipeEnd, stat_fields
    from ..signal import ERESTARTSYS

    acc = flags & O_ACCMODE
    if acc == 3:
        raise KernelError(E.EINVAL)
    key = (st.st_dev, st.st_ino)
    pipe = k.fifos.get(key)
    if pipe is None:
        pipe = k.fifos[key] = PipeBuffer()
        pipe.on_unused = lambda: k.fifos.pop(key, None)
    if acc == O_WRONLY and flags & O_NONBLOCK and pipe.readers == 0:
        raise KernelError(E.ENXIO)  # fifo(7): "opening for write-only ... with no reader: ENXIO"
    end = PipeEnd(pipe, acc == O_WRONLY, flags & ~O_ACCMODE & O_NONBLOCK, rdwr=acc == O_RDWR)
    end.wake = k.sched.wake_up
    end.name = path
    end.inode_stat = stat_fields(st)
    k.sched.wake_up(pipe.wq)  # an opener of the other side may be waiting for this one
    if not flags & O_NONBLOCK and acc != O_RDWR:
        other_opens = pipe.w_counter if acc == O_RDONLY else pipe.r_counter
        other_now = pipe.writers if acc == O_RDONLY else pipe.readers
        while not other_now:
            if k.signal_pending(t):
                end.release()
                raise KernelError(ERESTARTSYS)
            k.sched.sleep_on(t, pipe.wq)
            yield
            if (pipe.w_counter if acc == O_RDONLY else pipe.r_counter) != other_opens:
                break  # one came (and may have gone again: wait_for_partner's counter check)
    try:
        return t.files.install(end, cloexec=bool(flags & O_CLOEXEC), limit=rlimit(t, RLIMIT_NOFILE)[0])
    except KernelError:
        end.release()
        raise


S_IFMT, S_IFIFO, S_IFCHR, S_IFBLK, S_IFREG, S_IFSOCK = 0o170000, 0o010000, 0o020000, 0o060000, 0o100000, 0o140000


@syscall("mknod", sig="path pathname, mknod_mode mode, mknod_dev(mode) dev", cls="file")
def sys_mknod(k, t, path_ptr, mode, dev, *_):
    """mknod relative to the cwd."""
    return sys_mknodat(k, t, AT_FDCWD, path_ptr, mode, dev)


@syscall("mknodat", sig="dirfd dirfd, path pathname, mknod_mode mode, mknod_dev(mode) dev", cls="desc,file")
def sys_mknodat(k, t, dirfd, path_ptr, mode, dev, *_):
    """Make a FIFO, a socket node or an empty regular file (do_mknodat); the FIFO opens as a pipe of the model,
    the socket node is a name no socket is bound to (connect: ECONNREFUSED). Device nodes are not modelled:
    EPERM, as for a process without CAP_MKNOD."""
    kind = mode & S_IFMT
    if kind not in (0, S_IFREG, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK):
        raise KernelError(E.EINVAL)
    if kind in (S_IFCHR, S_IFBLK):
        k.warn_once("mknod", "mknod of a device node is not modelled (-EPERM)")
        raise KernelError(E.EPERM)
    path = k.get_path_at(t, dirfd, path_ptr, create=True)
    if os.path.lexists(path):
        raise KernelError(E.EEXIST)
    perm = mode & 0o7777 & ~t.fs.umask
    old_umask = os.umask(0)  # the guest's umask is applied above, not the emulator's
    try:
        if kind == S_IFIFO:
            host_call(os.mkfifo, path, perm)
        elif kind == S_IFSOCK:
            host_call(os.mknod, path, S_IFSOCK | perm)  # needs no privilege on Linux, as a FIFO does not
        else:
            os.close(host_call(os.open, path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, perm))
    finally:
        os.umask(old_umask)
    own_new_file(k.cred(t), path)
    if k.fsnotify:
        k.fsnotify.path_event(path, IN_CREATE)
    return 0


@syscall("access", sig="path pathname, flags(access) mode", cls="file")
def sys_access(k, t, path_ptr, mode, *_):
    """Check a path's accessibility on the host."""
    return sys_faccessat(k, t, AT_FDCWD, path_ptr, mode, 0)


@syscall("faccessat", sig="dirfd dirfd, path pathname, flags(access) mode", cls="desc,file")
@syscall("faccessat2", sig="dirfd dirfd, path pathname, flags(access) mode, flags(at) flags", cls="desc,file")
def sys_faccessat(k, t, dirfd, path_ptr, mode, flags, *_):
    """access() relative to a directory descriptor; faccessat2 adds AT_EACCESS, AT_SYMLINK_NOFOLLOW and
    AT_EMPTY_PATH (do_faccessat: "EINVAL: Invalid flag specified in flags", "EINVAL: mode was incorrectly
    specified")."""
    if t.regs.orig_ax != NR.faccessat2:
        flags = 0
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    if flags & AT_EMPTY_PATH and empty_path(k, t, path_ptr):
        f = t.files.get(dirfd)
        if not hasattr(f, "fd"):
            raise KernelError(E.EBADF)
        path = f.name
    else:
        path = k.get_path_at(t, dirfd, path_ptr, follow=follow)
    if not os.path.lexists(path):
        raise KernelError(E.ENOENT)
    c = k.cred(t)
    if not flags & AT_EACCESS:
        # access_override_creds: the real ids, with the permitted capabilities for a real root and none otherwise
        c = c.change(fsuid=c.uid, fsgid=c.gid, cap_effective=c.cap_permitted if c.uid == 0 else 0)
    # (R_OK, W_OK and X_OK are MAY_READ, MAY_WRITE and MAY_EXEC)
    if mode and not generic_permission(c, host_call(lambda: os.stat(path, follow_symlinks=follow)), mode):
        raise KernelError(E.EACCES)
    if not os.access(path, mode, follow_symlinks=follow):
        raise KernelError(E.EACCES)  # what the host itself refuses (a read-only file system, ...)
    return 0


@syscall("chdir", sig="path path", cls="file")
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


@syscall("umask", sig="umask mask", ret="octal")
def sys_umask(k, t, mask, *_):
    """Set the umask, return the old one."""
    old, t.fs.umask = t.fs.umask, mask & 0o777
    return old


FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_COLLAPSE_RANGE = 0x01, 0x02, 0x08
FALLOC_FL_ZERO_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_UNSHARE_RANGE = 0x10, 0x20, 0x40


@syscall("fallocate", sig="fd fd, hex mode, loff offset, loff len", cls="desc")
def sys_fallocate(k, t, fd, mode, off_lo, off_hi, len_lo, len_hi):
    """Allocate, punch or zero a range of a host file (vfs_fallocate checks, then the host's fallocate):
    EINVAL for a negative offset, a length <= 0 or bad mode combinations, EBADF unless open for writing,
    ESPIPE on a pipe, ENODEV on other non-regular files, EFBIG past the largest offset. The page cache follows
    a punched or zeroed range."""
    import ctypes

    from ..files import O_ACCMODE, O_RDONLY, PipeEnd

    f = t.files.get(fd)
    offset = off_lo | off_hi << 32
    length = len_lo | len_hi << 32
    if offset >> 63 or length >> 63 or length == 0:
        raise KernelError(E.EINVAL)
    known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | \
        FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE
    if mode & ~known:
        raise KernelError(E.EOPNOTSUPP)
    if mode & FALLOC_FL_PUNCH_HOLE and mode & FALLOC_FL_ZERO_RANGE:
        raise KernelError(E.EOPNOTSUPP)  # "Punch hole and zero range are mutually exclusive"
    if mode & FALLOC_FL_PUNCH_HOLE and not mode & FALLOC_FL_KEEP_SIZE:
        raise KernelError(E.EOPNOTSUPP)  # "Punch hole must have keep size set"
    if mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) and mode & ~(FALLOC_FL_COLLAPSE_RANGE
                                                                               | FALLOC_FL_INSERT_RANGE):
        raise KernelError(E.EINVAL)  # collapse and insert go alone
    if (f.flags & O_ACCMODE) == O_RDONLY:
        raise KernelError(E.EBADF)
    if isinstance(f, PipeEnd):
        raise KernelError(E.ESPIPE)
    if not hasattr(f, "fd"):
        raise KernelError(E.ENODEV)
    if not getattr(f, "regular", False):
        raise KernelError(E.ENODEV)
    if offset + length > (1 << 63) - 1:
        raise KernelError(E.EFBIG)
    k.page_cache.sync(f.fd)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate64.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    if libc.fallocate64(f.fd, mode, offset, length) != 0:
        raise KernelError(ctypes.get_errno() or E.EIO)
    if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
        k.page_cache.zero_range(f.fd, offset, length)
    elif mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE):
        k.page_cache.reread(f.fd)  # the file's contents moved
    return 0


POSIX_FADV_NORMAL, POSIX_FADV_NOREUSE = 0, 5


@syscall("fadvise64_64", sig="fd fd, loff offset, loff len, enum(fadvise) advice", cls="desc")
def sys_fadvise64_64(k, t, fd, off_lo, off_hi, len_lo, len_hi, advice):
    """Advice about a file's access pattern (generic_fadvise): accepted and not acted on (the model's page cache
    keeps what it read); EBADF, ESPIPE for a pipe or socket, EINVAL for an unknown advice or a negative length."""
    return _fadvise(t, fd, len_lo | len_hi << 32, advice)


@syscall("fadvise64", sig="fd fd, loff offset, size len, enum(fadvise) advice", cls="desc")
def sys_fadvise64(k, t, fd, off_lo, off_hi, length, advice, *_):
    """fadvise64 with a 32-bit length."""
    return _fadvise(t, fd, length, advice)


def _fadvise(t, fd: int, length: int, advice: int) -> int:
    f = t.files.get(fd)
    if getattr(f, "fd", None) is None or pystat.S_ISFIFO(host_call(os.fstat, f.fd).st_mode):
        raise KernelError(E.ESPIPE)  # generic_fadvise: a pipe, before the advice is looked at
    if length >> 63 or not POSIX_FADV_NORMAL <= s32(advice) <= POSIX_FADV_NOREUSE:
        raise KernelError(E.EINVAL)
    return 0
