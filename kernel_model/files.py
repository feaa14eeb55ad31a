"""Open files and the descriptor table (fs/file.c, fs/read_write.c), over host files read-only for now."""

from __future__ import annotations

import os
import stat as pystat
import struct

from .abi import E

O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000
O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_LARGEFILE, O_PATH = 0o200000, 0o400000, 0o2000000, 0o100000, 0o10000000
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
NR_OPEN_DEFAULT = 1024  # RLIMIT_NOFILE soft limit


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


class File:
    """struct file: an open file description, shared by dup and fork."""

    def __init__(self, name: str, flags: int) -> None:
        self.name = name
        self.flags = flags
        self.refs = 0

    def read(self, n: int) -> bytes:
        """Read up to n bytes (vfs_read)."""
        raise KernelError(E.EBADF)

    def write(self, data: bytes) -> int:
        """Write data, return bytes written (vfs_write)."""
        raise KernelError(E.EBADF)

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


class HostFile(File):
    """A host file or terminal, accessed through a host descriptor."""

    def __init__(self, name: str, fd: int, flags: int, owns_fd: bool = True) -> None:
        super().__init__(name, flags)
        self.fd = fd
        self.owns_fd = owns_fd

    def read(self, n: int) -> bytes:
        if self.flags & O_ACCMODE == O_WRONLY:
            raise KernelError(E.EBADF)
        try:
            return os.read(self.fd, n)
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None

    def write(self, data: bytes) -> int:
        if self.flags & O_ACCMODE == O_RDONLY:
            raise KernelError(E.EBADF)
        try:
            return os.write(self.fd, data)
        except OSError as e:
            raise KernelError(e.errno or E.EIO) from None

    def lseek(self, offset: int, whence: int) -> int:
        if whence not in (SEEK_SET, SEEK_CUR, SEEK_END):
            raise KernelError(E.EINVAL)
        try:
            return os.lseek(self.fd, offset, whence)
        except OSError as e:
            raise KernelError(e.errno or E.EINVAL) from None

    def stat(self) -> dict[str, int]:
        return stat_fields(os.fstat(self.fd))

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def release(self) -> None:
        if self.owns_fd:
            os.close(self.fd)


def open_host(path: str, flags: int) -> HostFile:
    """Open a host path read-only (do_filp_open); writes come with the files issue."""
    if flags & O_ACCMODE != O_RDONLY or flags & (O_CREAT | O_TRUNC | O_APPEND):
        raise KernelError(E.EROFS, "only read-only opens are supported so far")
    hflags = os.O_RDONLY | os.O_CLOEXEC
    if flags & O_DIRECTORY:
        hflags |= os.O_DIRECTORY
    if flags & O_NOFOLLOW:
        hflags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, hflags)
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None
    if pystat.S_ISDIR(os.fstat(fd).st_mode) and not flags & O_DIRECTORY:
        pass  # directories open read-only as on Linux
    return HostFile(path, fd, flags & ~O_CLOEXEC)


class FdTable:
    """files_struct: descriptor number to (file, close-on-exec), shared under CLONE_FILES."""

    def __init__(self) -> None:
        self.fds: dict[int, list] = {}  # fd -> [File, cloexec]
        self.users = 1

    def install(self, file: File, cloexec: bool = False, lowest: int = 0) -> int:
        """Put file at the lowest free descriptor >= lowest (get_unused_fd_flags + fd_install)."""
        fd = lowest
        while fd in self.fds:
            fd += 1
        if fd >= NR_OPEN_DEFAULT:
            raise KernelError(E.EMFILE)
        self.install_at(fd, file, cloexec)
        return fd

    def install_at(self, fd: int, file: File, cloexec: bool = False) -> None:
        """Put file at fd, closing what was there (do_dup2)."""
        file.refs += 1
        old = self.fds.get(fd)
        self.fds[fd] = [file, cloexec]
        if old is not None:
            _fput(old[0])

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
        _fput(entry[0])

    def close_all(self) -> None:
        """Close every descriptor (exit_files on the last user)."""
        for fd in sorted(self.fds):
            _fput(self.fds.pop(fd)[0])

    def close_on_exec(self) -> None:
        """Close descriptors marked FD_CLOEXEC (do_close_on_exec)."""
        for fd in sorted(self.fds):
            if self.fds[fd][1]:
                _fput(self.fds.pop(fd)[0])

    def copy(self) -> FdTable:
        """A new table naming the same open files (dup_fd for fork without CLONE_FILES)."""
        t = FdTable()
        for fd, (f, cloexec) in sorted(self.fds.items()):
            f.refs += 1
            t.fds[fd] = [f, cloexec]
        return t


def _fput(f: File) -> None:
    f.refs -= 1
    if f.refs == 0:
        f.release()
