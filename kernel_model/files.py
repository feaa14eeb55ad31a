"""Open files and the descriptor table (fs/file.c, fs/read_write.c), over host files read-only for now."""

from __future__ import annotations

import os
import select
import stat as pystat
import struct

from .abi import E

O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000
O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_LARGEFILE, O_PATH = 0o200000, 0o400000, 0o2000000, 0o100000, 0o10000000
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
NR_OPEN_DEFAULT = 1024  # RLIMIT_NOFILE's default soft limit


class KernelError(Exception):
    """A syscall failure carrying a positive errno; handlers turn it into -errno."""

    def __init__(self, errno: int, why: str = "") -> None:
        super().__init__(why or f"errno {errno}")
        self.errno = errno


def stat_fields(st: os.stat_result) -> dict[str, int]:
    """The fields of a host stat result that the guest structures carry."""
    return {
        "dev": st.st_dev, "ino": st.st_ino, "mode": st.st_mode, "nlink": st.st_nlink, "uid": st.st_uid,
        "gid": st.st_gid, "rdev": st.st_rdev, "size": st.st_size, "blksize": st.st_blksize,
        "blocks": st.st_blocks, "atime": int(st.st_atime), "atime_ns": st.st_atime_ns % 10**9,
        "mtime": int(st.st_mtime), "mtime_ns": st.st_mtime_ns % 10**9, "ctime": int(st.st_ctime),
        "ctime_ns": st.st_ctime_ns % 10**9,
    }


def pack_stat64(f: dict[str, int]) -> bytes:
    """struct stat64 of arch/x86/include/uapi/asm/stat.h (packed, 96 bytes)."""
    dev = _new_encode_dev(f["dev"])
    rdev = _new_encode_dev(f["rdev"])
    return struct.pack(
        "<Q4sIIIIIQ4sqIQIIIIIIQ", dev, b"", f["ino"] & 0xFFFFFFFF, f["mode"], f["nlink"], f["uid"], f["gid"],
        rdev, b"", f["size"], f["blksize"], f["blocks"], f["atime"] & 0xFFFFFFFF, f["atime_ns"],
        f["mtime"] & 0xFFFFFFFF, f["mtime_ns"], f["ctime"] & 0xFFFFFFFF, f["ctime_ns"], f["ino"])


def pack_statx(f: dict[str, int], mask: int = 0x7FF) -> bytes:
    """struct statx of include/uapi/linux/stat.h (256 bytes), basic stats."""
    def ts(sec: int, nsec: int) -> bytes:
        return struct.pack("<qIi", sec, nsec, 0)

    head = struct.pack("<IIQIIIHHQQQQ", mask, f["blksize"], 0, f["nlink"], f["uid"], f["gid"], f["mode"], 0,
                       f["ino"], f["size"], f["blocks"], 0)
    times = ts(f["atime"], f["atime_ns"]) + ts(0, 0) + ts(f["ctime"], f["ctime_ns"]) + ts(f["mtime"], f["mtime_ns"])
    devs = struct.pack("<IIII", os.major(f["rdev"]), os.minor(f["rdev"]), os.major(f["dev"]), os.minor(f["dev"]))
    out = head + times + devs
    return out + bytes(256 - len(out))


def _new_encode_dev(dev: int) -> int:
    """huge_encode_dev-compatible 64-bit encoding used by stat64."""
    major, minor = os.major(dev), os.minor(dev)
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLWRNORM = 0x40, 0x100
PIPE_BUF = 4096
PIPE_CAPACITY = 65536


class File:
    """struct file: an open file description, shared by dup and fork."""

    has_locks = False  # a record lock was ever taken through it (close then looks for locks to drop)

    def __init__(self, name: str, flags: int) -> None:
        self.name = name
        self.flags = flags
        self.refs = 0

    def read(self, n: int) -> bytes | None:
        """Read up to n bytes; None when it would block (vfs_read)."""
        raise KernelError(E.EBADF)

    def write(self, data: bytes) -> int | None:
        """Write data, return bytes written; None when it would block (vfs_write)."""
        raise KernelError(E.EBADF)

    def poll(self) -> int:
        """Readiness bits (POLLIN, POLLOUT, POLLHUP, ...) (f_op->poll)."""
        return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM

    def waitqueue(self):
        """The queue whose wake-ups may change poll() or unblock I/O; None for files that never block."""
        return None

    def lseek(self, offset: int, whence: int) -> int:
        """Move the file position (vfs_llseek)."""
        raise KernelError(E.ESPIPE)

    def stat(self) -> dict[str, int]:
        """Stat fields (vfs_fstat)."""
        raise KernelError(E.EBADF)

    def isatty(self) -> bool:
        """Is this a terminal."""
        return False

    def release(self) -> None:
        """The last reference went away (fput)."""


TTY_POLL_NS = 10_000_000  # how often a task waiting for a host terminal looks at it again (10 ms)


class HostFile(File):
    """A host file or terminal, accessed through a host descriptor."""

    def __init__(self, name: str, fd: int, flags: int, owns_fd: bool = True) -> None:
        super().__init__(name, flags)
        self.fd = fd
        self.owns_fd = owns_fd
        self.dir_entries: list | None = None  # a directory's entries, read at the first getdents
        self.dir_pos = 0
        self.cache = None  # the kernel's PageCache, for files opened by the guest (read/write stay coherent)
        self.on_write = None  # a model file's handler after each write (a /proc/sys entry's proc_handler)
        self._tty: bool | None = None
        self._wq = None
        try:
            st = os.fstat(fd)
            self.regular = pystat.S_ISREG(st.st_mode)
            # a memory device (drivers/char/mem.c): /dev/null 3, zero 5, full 7, random 8, urandom 9
            self.memdev = os.minor(st.st_rdev) if pystat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 else None
        except OSError:
            self.regular = False
            self.memdev = None

    def read(self, n: int) -> bytes | None:
        if self.tty and not self.flags & O_NONBLOCK and not select.select([self.fd], [], [], 0)[0]:
            return None  # a terminal with nothing typed: the task sleeps and polls again (TTY_POLL_NS)
        return self._load(n, None)

    @property
    def tty(self) -> bool:
        """A terminal (checked once)."""
        if self._tty is None:
            try:
                self._tty = os.isatty(self.fd)
            except OSError:
                self._tty = False
        return self._tty

    def isatty(self) -> bool:
        return self.tty

    def poll(self) -> int:
        if self.tty:  # what the host terminal has: input typed, and room to write
            r, w, _ = select.select([self.fd], [self.fd], [], 0)
            return (POLLIN | POLLRDNORM if r else 0) | (POLLOUT | POLLWRNORM if w else 0)
        return super().poll()

    def waitqueue(self):
        if self.tty:
            if self._wq is None:
                from .task import WaitQueue

                self._wq = WaitQueue("tty")
            return self._wq
        return None

    def pread(self, n: int, offset: int) -> bytes:
        """Read at an offset, the file position unchanged (vfs_read with a position)."""
        return self._load(n, offset)

    def write(self, data: bytes) -> int:
        return self._store(data, None)

    def pwrite(self, data: bytes, offset: int) -> int:
        """Write at an offset, the file position unchanged (vfs_write with a position)."""
        return self._store(data, offset)

    def _load(self, n: int, offset: int | None) -> bytes:
        """Read from the host file at the position or at offset, after the page cache's dirty pages went back."""
        if self.flags & O_ACCMODE in (O_WRONLY, 3):
            raise KernelError(E.EBADF)
        try:
            if self.cache is not None:
                self.cache.before_read(self.fd)
            return os.read(self.fd, n) if offset is None else os.pread(self.fd, n, offset)
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None

    def _store(self, data: bytes, offset: int | None) -> int:
        """Write to the host file at the position or at offset; the cached pages it covers follow, and a model
        file's handler (a /proc/sys entry) sees the new contents."""
        if self.flags & O_ACCMODE in (O_RDONLY, 3):
            raise KernelError(E.EBADF)
        try:
            if offset is None:
                n = os.write(self.fd, data)
                offset = os.lseek(self.fd, 0, os.SEEK_CUR) - n if self.cache is not None and n else 0
            else:
                n = os.pwrite(self.fd, data, offset)
            if self.cache is not None and n:
                self.cache.after_write(self.fd, offset, data[:n])
            if self.on_write is not None:
                self.on_write()
            return n
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None

    def lseek(self, offset: int, whence: int) -> int:
        if whence not in (SEEK_SET, SEEK_CUR, SEEK_END, 3, 4):  # SEEK_DATA and SEEK_HOLE go to the host file
            raise KernelError(E.EINVAL)
        if self.dir_entries is not None:  # a directory: the position counts entries (rewinddir seeks to 0)
            if whence != SEEK_SET or offset < 0:
                raise KernelError(E.EINVAL)
            self.dir_pos = offset
            if offset == 0:
                self.dir_entries = None
            return offset
        try:
            return os.lseek(self.fd, offset, whence)
        except OSError as e:
            raise KernelError(e.errno or E.EINVAL) from None

    def stat(self) -> dict[str, int]:
        return stat_fields(os.fstat(self.fd))

    def release(self) -> None:
        if self.owns_fd:
            os.close(self.fd)

    def getdents(self) -> list[tuple[int, int, str]]:
        """Directory entries (inode, d_type, name) in the host file system's readdir order, "." and ".."
        where it puts them (iterate_dir), so `ls -f` lists what it lists natively."""
        try:
            st = os.fstat(self.fd)
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None
        if not pystat.S_ISDIR(st.st_mode):
            raise KernelError(E.ENOTDIR)
        entries = _host_getdents64(self.fd)
        if entries is not None:
            return entries
        try:  # no host getdents64 (not Linux x86-64): scandir's order, with "." and ".." first
            out = [(st.st_ino, DT_DIR, "."), (os.stat(os.path.join(self.name, "..")).st_ino, DT_DIR, "..")]
            with os.scandir(self.fd) as it:
                for e in it:
                    try:
                        mode = e.stat(follow_symlinks=False).st_mode
                    except OSError:
                        mode = 0
                    out.append((e.inode(), _dtype(mode), e.name))
            return out
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None


def _host_getdents64(fd: int) -> list[tuple[int, int, str]] | None:
    """Every entry of an open host directory from the host's own getdents64, or None when it cannot be called."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(1 << 16)
    out = []
    try:
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        return None
    while True:
        n = libc.syscall(217, fd, buf, len(buf))  # SYS_getdents64 on x86-64
        if n < 0:
            raise KernelError(ctypes.get_errno() or E.EIO)
        if n == 0:
            return out
        raw = buf.raw[:n]
        pos = 0
        while pos < n:
            ino, _off, reclen, dtype = struct.unpack_from("<QqHB", raw, pos)
            name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0]
            out.append((ino, dtype, os.fsdecode(name)))
            pos += reclen


DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


def _dtype(mode: int) -> int:
    for test, dt in ((pystat.S_ISREG, DT_REG), (pystat.S_ISDIR, DT_DIR), (pystat.S_ISLNK, DT_LNK),
                     (pystat.S_ISCHR, DT_CHR), (pystat.S_ISBLK, DT_BLK), (pystat.S_ISFIFO, DT_FIFO),
                     (pystat.S_ISSOCK, DT_SOCK)):
        if test(mode):
            return dt
    return DT_UNKNOWN


class PipeBuffer:
    """struct pipe_inode_info: a 64 KiB buffer, reader and writer counts, and one wait queue."""

    _ino = 0

    def __init__(self) -> None:
        from .task import WaitQueue

        self.buf = bytearray()
        self.attrs: dict[str, int] = {}  # mode, uid or gid an fchmod / fchown gave the inode
        self.capacity = PIPE_CAPACITY  # bytes it holds: 16 pages, or what F_SETPIPE_SZ chose
        self.readers = 0
        self.writers = 0
        self.r_counter = self.w_counter = 0  # opens ever made of each side (fifo_open waits for a change)
        self.first_off = 0  # bytes already read from the first page buffer (the data starts there)
        self.on_unused = None  # a FIFO's: called when the last reader and writer have closed
        self.wq = WaitQueue("pipe")
        PipeBuffer._ino += 1
        self.ino = 0x10000 + PipeBuffer._ino


PAGE = 4096


def _pipe_slots(p) -> int:
    """Page buffers the pipe's data occupies (its ring's head - tail): the data is packed from first_off."""
    return (p.first_off + len(p.buf) + PAGE - 1) // PAGE if p.buf else 0


PipeBuffer.slots = _pipe_slots


class PipeEnd(File):
    """One end of a pipe (fs/pipe.c): reads block while empty and writers remain; writes while full."""

    def __init__(self, pipe: PipeBuffer, writer: bool, flags: int, rdwr: bool = False) -> None:
        super().__init__("pipe:[%d]" % pipe.ino, (O_RDWR if rdwr else O_WRONLY if writer else O_RDONLY) | flags)
        self.pipe = pipe
        self.writer = writer
        self.rdwr = rdwr  # a FIFO opened O_RDWR: both a reader and a writer
        if writer or rdwr:
            pipe.writers += 1
            pipe.w_counter += 1
        if not writer or rdwr:
            pipe.readers += 1
            pipe.r_counter += 1
        self.wake = None  # set by the kernel: wakes the pipe's wait queue
        self.inode_stat: dict[str, int] | None = None  # a FIFO's own inode (fstat shows it, not pipefs)

    def read(self, n: int) -> bytes | None:
        if self.writer and not self.rdwr:
            raise KernelError(E.EBADF)
        p = self.pipe
        if not p.buf:
            return b"" if p.writers == 0 else None
        before = p.slots()
        data = bytes(p.buf[:n])
        del p.buf[:n]
        p.first_off = (p.first_off + len(data)) % PAGE if p.buf else 0
        if p.slots() < before:  # a page buffer went free: writers (pipe_read wakes wr_wait with EPOLLOUT)
            self.wake(p.wq, key=POLLOUT | POLLWRNORM)
        return data

    def write(self, data: bytes) -> int | None:
        if not self.writer and not self.rdwr:
            raise KernelError(E.EBADF)
        p = self.pipe
        if p.readers == 0:
            raise KernelError(E.EPIPE)
        room = p.capacity - p.first_off - len(p.buf)  # the last page's tail and the free page buffers
        if room <= 0 or (len(data) <= PIPE_BUF and room < len(data)):
            return None  # writes of up to PIPE_BUF bytes are atomic: wait for room for all of it
        n = min(room, len(data))
        p.buf += data[:n]
        self.wake(p.wq, key=POLLIN | POLLRDNORM)
        return n

    def poll(self) -> int:
        p = self.pipe
        if self.writer:
            mask = POLLOUT | POLLWRNORM if p.slots() < p.capacity // PAGE else 0  # !pipe_full
            return mask | (POLLERR if p.readers == 0 else 0)
        mask = POLLIN | POLLRDNORM if p.buf else 0
        return mask | (POLLHUP if p.writers == 0 else 0)

    def waitqueue(self):
        return self.pipe.wq

    def stat(self) -> dict[str, int]:
        if self.inode_stat is not None:
            return dict(self.inode_stat, **self.pipe.attrs)
        return {"dev": 0xC, "ino": self.pipe.ino, "mode": pystat.S_IFIFO | 0o600, "nlink": 1, "uid": os.getuid(),
                "gid": os.getgid(), "rdev": 0, "size": 0, "blksize": 4096, "blocks": 0, "atime": 0,
                "atime_ns": 0, "mtime": 0, "mtime_ns": 0, "ctime": 0, "ctime_ns": 0, **self.pipe.attrs}

    def setattr(self, mode: int | None = None, uid: int = -1, gid: int = -1) -> None:
        """fchmod / fchown of the pipe's inode (pipefs keeps them in memory, as here)."""
        attrs = self.pipe.attrs
        if mode is not None:
            attrs["mode"] = pystat.S_IFIFO | (mode & 0o7777)
        if uid != -1:
            attrs["uid"] = uid
        if gid != -1:
            attrs["gid"] = gid

    def release(self) -> None:
        p = self.pipe
        if self.writer or self.rdwr:
            p.writers -= 1
        if not self.writer or self.rdwr:
            p.readers -= 1
        self.wake(p.wq, key=POLLHUP | POLLERR)
        if p.readers == 0 and p.writers == 0 and p.on_unused is not None:
            p.on_unused()  # a FIFO's buffer goes with its last opener (free_pipe_info)


class AnonFile(File):
    """A file of anon_inode_getfile whose f_op->llseek is noop_llseek (eventfd, timerfd, signalfd, epoll,
    inotify): lseek succeeds and leaves it at 0."""

    def lseek(self, offset: int, whence: int) -> int:
        return 0


def is_directory(f) -> bool:
    """The open file is a host directory (its entries read, or its inode a directory)."""
    if getattr(f, "dir_entries", None) is not None:
        return True
    fd = getattr(f, "fd", None)
    try:
        return fd is not None and pystat.S_ISDIR(os.fstat(fd).st_mode)
    except OSError:
        return False


def open_host(path: str, flags: int, mode: int = 0o666, umask: int = 0o022) -> HostFile:
    """Open a host file for the guest with its access mode, creation and truncation flags (do_filp_open)."""
    acc = flags & O_ACCMODE
    # access mode 3 asks for read and write permission and gives neither (an ioctl-only open: ACC_MODE and
    # OPEN_FMODE); the host file is opened for both, the guest's reads and writes are EBADF
    hflags = (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_RDWR)[acc] | os.O_CLOEXEC
    for guest, host in ((O_CREAT, os.O_CREAT), (O_EXCL, os.O_EXCL), (O_TRUNC, os.O_TRUNC), (O_APPEND, os.O_APPEND),
                        (O_DIRECTORY, os.O_DIRECTORY), (O_NOFOLLOW, os.O_NOFOLLOW), (O_NONBLOCK, os.O_NONBLOCK)):
        if flags & guest:
            hflags |= host
    old_umask = os.umask(0)  # the guest's umask applies, not the emulator's
    try:
        fd = os.open(path, hflags, mode & 0o7777 & ~umask)
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None
    finally:
        os.umask(old_umask)
    # The open-time flags are not part of the file's status (do_dentry_open clears O_CREAT, O_EXCL, O_NOCTTY and
    # O_TRUNC), so F_GETFL does not report them.
    return HostFile(path, fd, flags & ~(O_CLOEXEC | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC))


class FdTable:
    """files_struct: descriptor number to (file, close-on-exec), shared under CLONE_FILES."""

    def __init__(self) -> None:
        self.fds: dict[int, list] = {}  # fd -> [File, cloexec]
        self.users = 1

    def install(self, file: File, cloexec: bool = False, lowest: int = 0, limit: int = NR_OPEN_DEFAULT) -> int:
        """Put file at the lowest free descriptor >= lowest, below limit (the process's RLIMIT_NOFILE) or EMFILE
        (get_unused_fd_flags + fd_install)."""
        fd = lowest
        while fd in self.fds:
            fd += 1
        if fd >= limit:
            raise KernelError(E.EMFILE)
        self.install_at(fd, file, cloexec)
        return fd

    def install_at(self, fd: int, file: File, cloexec: bool = False) -> None:
        """Put file at fd, closing what was there (do_dup2)."""
        file.refs += 1
        old = self.fds.get(fd)
        self.fds[fd] = [file, cloexec]
        if old is not None:
            self._filp_close(old[0])

    def get(self, fd: int) -> File:
        """The file at fd or EBADF (fdget)."""
        entry = self.fds.get(fd)
        if entry is None:
            raise KernelError(E.EBADF)
        return entry[0]

    def close(self, fd: int) -> None:
        """Close fd (close_fd)."""
        entry = self.fds.pop(fd, None)
        if entry is None:
            raise KernelError(E.EBADF)
        self._filp_close(entry[0])

    def close_all(self) -> None:
        """Close every descriptor (exit_files on the last user)."""
        for fd in sorted(self.fds):
            self._filp_close(self.fds.pop(fd)[0])

    def close_on_exec(self) -> None:
        """Close descriptors marked FD_CLOEXEC (do_close_on_exec)."""
        for fd in sorted(self.fds):
            if self.fds[fd][1]:
                self._filp_close(self.fds.pop(fd)[0])

    def _filp_close(self, f: File) -> None:
        """One descriptor of f goes: this process's POSIX locks on its inode go with it, and its directory
        notification (filp_close: dnotify_flush, locks_remove_posix)."""
        if LOCKS_HELD[0] and isinstance(f, HostFile):
            from .locks import locks_remove_posix

            locks_remove_posix(self, f)
        dn = getattr(f, "dnotify", None)
        if dn is not None:
            for w in list(dn.watches.values()):
                dn.k.fsnotify.remove_watch(w, notify=False)
            f.dnotify = None
        _fput(f)

    def copy(self) -> FdTable:
        """A new table naming the same open files (dup_fd for fork without CLONE_FILES)."""
        t = FdTable()
        for fd, (f, cloexec) in sorted(self.fds.items()):
            f.refs += 1
            t.fds[fd] = [f, cloexec]
        return t


# Whether any record lock exists (kernel_model.locks keeps it): closes look for locks to drop only then.
LOCKS_HELD = [False]


def _fput(f: File) -> None:
    f.refs -= 1
    if f.refs == 0:
        fsn = getattr(f, "fsnotify", None)
        if fsn:
            fsn.closed(f)
        if f.has_locks:
            from .locks import locks_remove_file

            locks_remove_file(f)  # its OFD locks
        if getattr(f, "fasync_cb", None):
            from .fcntl import fasync_release

            fasync_release(f)
        if getattr(f, "epitems", None):
            from .eventfd import eventpoll_release

            eventpoll_release(f)
        f.release()
