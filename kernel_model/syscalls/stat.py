"""File status and directories: stat64 and friends, statx, getdents64, getcwd (fs/stat.c, fs/readdir.c,
fs/d_path.c)."""

from __future__ import annotations

import os
import struct

from ..abi import E
from .. import procfs
from ..files import KernelError, pack_stat64, pack_statx, stat_fields
from .table import syscall
from .common import (AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW, STATX__RESERVED,
                     empty_path, s32)


@syscall("getdents64", sig="fd fd, out dirents dirp, size count", cls="desc")
def sys_getdents64(k, t, fd, dirp, count, *_):
    """struct linux_dirent64 records from the directory's current position (iterate_dir)."""
    f = t.files.get(fd)
    if not hasattr(f, "getdents"):
        raise KernelError(E.ENOTDIR)
    if f.dir_entries is None:
        f.dir_entries = f.getdents()
        f.dir_pos = 0
    out = bytearray()
    count = s32(count)  # struct getdents_callback64 keeps it in an int: a "negative" buffer fits no entry (EINVAL)
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


def _stat_path(k, t, path_ptr, follow=True, dirfd=AT_FDCWD):
    path = k.get_path_at(t, dirfd, path_ptr, follow=follow)
    if follow and path.startswith(k.proc_dir):
        f = procfs.magic_file(k, path)  # /proc/PID/fd/N of a pipe: the pipe's own stat
        if f is not None:
            return f.stat()
    try:
        return stat_fields(os.stat(path, follow_symlinks=follow))
    except OSError as e:
        raise KernelError(e.errno or E.ENOENT) from None


@syscall("fstat64", sig="fd fd, out stat64 statbuf", cls="desc,fstat,stat_like")
def sys_fstat64(k, t, fd, buf, *_):
    """struct stat64 of an open file."""
    k.put_bytes(t, buf, pack_stat64(t.files.get(fd).stat()))
    return 0


@syscall("stat64", sig="path pathname, out stat64 statbuf", cls="file,stat,stat_like")
def sys_stat64(k, t, path_ptr, buf, *_):
    """struct stat64 of a path."""
    k.put_bytes(t, buf, pack_stat64(_stat_path(k, t, path_ptr)))
    return 0


@syscall("lstat64", sig="path pathname, out stat64 statbuf", cls="file,lstat,stat_like")
def sys_lstat64(k, t, path_ptr, buf, *_):
    """struct stat64 of a path, not following a final symlink."""
    k.put_bytes(t, buf, pack_stat64(_stat_path(k, t, path_ptr, follow=False)))
    return 0


def _stat_at(k, t, dirfd, path_ptr, flags):
    """Stat fields of a path relative to dirfd, or of dirfd itself for "" with AT_EMPTY_PATH (vfs_fstatat)."""
    if not k.get_cstring(t, path_ptr) and flags & AT_EMPTY_PATH:
        return t.files.get(dirfd).stat()
    return _stat_path(k, t, path_ptr, follow=not flags & AT_SYMLINK_NOFOLLOW, dirfd=dirfd)


@syscall("fstatat64",
         sig="dirfd dirfd, path pathname, out stat64 statbuf, flags(at) flags",
         cls="desc,file,fstat,stat_like")
def sys_fstatat64(k, t, dirfd, path_ptr, buf, flags, *_):
    """struct stat64 of a path relative to a directory descriptor."""
    if flags & AT_EMPTY_PATH and s32(dirfd) >= 0 and empty_path(k, t, path_ptr):
        k.put_bytes(t, buf, pack_stat64(t.files.get(dirfd).stat()))  # vfs_fstatat: "" is dirfd itself, first
        return 0
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)  # vfs_statx, before the path is looked up
    k.put_bytes(t, buf, pack_stat64(_stat_at(k, t, dirfd, path_ptr, flags)))
    return 0


@syscall("statx",
         sig="dirfd dirfd, path pathname, statx_flags flags, flags(statx_mask) mask, out statx statxbuf",
         cls="desc,file,fstat,stat_like")
def sys_statx(k, t, dirfd, path_ptr, flags, mask, buf, *_):
    """struct statx (basic fields) of a path relative to a directory descriptor."""
    sync = flags & AT_STATX_SYNC_TYPE
    # statx of a descriptor ("" with AT_EMPTY_PATH) takes a fast path that ignores unknown flags (measured)
    by_fd = flags & AT_EMPTY_PATH and s32(dirfd) >= 0 and empty_path(k, t, path_ptr)
    unknown = flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)
    if (unknown and not by_fd) or sync == AT_STATX_SYNC_TYPE or mask & STATX__RESERVED:
        raise KernelError(E.EINVAL)  # "EINVAL Invalid flag specified in flags" / "Reserved flag specified in mask"
    if by_fd:
        k.put_bytes(t, buf, pack_statx(t.files.get(dirfd).stat()))
        return 0
    k.put_bytes(t, buf, pack_statx(_stat_at(k, t, dirfd, path_ptr, flags)))
    return 0


@syscall("getcwd", sig="out path buf, size size", cls="file")
def sys_getcwd(k, t, buf, size, *_):
    """The cwd with its NUL; ERANGE when it does not fit."""
    cwd = t.fs.cwd.encode() + b"\0"
    if len(cwd) > size:
        raise KernelError(E.ERANGE)
    k.put_bytes(t, buf, cwd)
    return len(cwd)


def _host_statfs(path_or_fd) -> tuple:
    """The host's struct statfs of a path or descriptor (x86-64 layout): f_type, f_bsize, f_blocks, f_bfree,
    f_bavail, f_files, f_ffree, f_fsid[2], f_namelen, f_frsize, f_flags."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(120)
    if isinstance(path_or_fd, int):
        rc = libc.fstatfs(path_or_fd, buf)
    else:
        rc = libc.statfs(os.fsencode(path_or_fd), buf)
    if rc != 0:
        raise KernelError(ctypes.get_errno() or E.EIO)
    return struct.unpack_from("<qqQQQQQiiqqq", buf.raw)


def _pack_statfs(st: tuple, wide: bool) -> bytes:
    """struct statfs64 (84 bytes, packed as i386 packs it) or struct statfs (64 bytes, 32-bit counts:
    EOVERFLOW when one does not fit, as put_compat_statfs)."""
    ftype, bsize, blocks, bfree, bavail, files, ffree, fsid0, fsid1, namelen, frsize, flags = st
    if wide:
        return struct.pack("<IIQQQQQiiIII16x", ftype & 0xFFFFFFFF, bsize, blocks, bfree, bavail, files, ffree,
                           fsid0, fsid1, namelen, frsize, flags)
    if max(blocks, bfree, bavail) > 0xFFFFFFFF or max(files, ffree) > 0xFFFFFFFF and files != (1 << 64) - 1:
        raise KernelError(E.EOVERFLOW)
    return struct.pack("<IIIIIIIiiIII16x", ftype & 0xFFFFFFFF, bsize, blocks, bfree, bavail, files & 0xFFFFFFFF,
                       ffree & 0xFFFFFFFF, fsid0, fsid1, namelen, frsize, flags)


STATFS64_SIZE = 84


@syscall("statfs64", sig="path path, size sz, out statfs64 buf", cls="file,statfs,statfs_like")
def sys_statfs64(k, t, path_ptr, size, buf, *_):
    """File system statistics of the file system holding path (the guest root's host values); sz must be
    sizeof(struct statfs64)."""
    if size != STATFS64_SIZE:
        raise KernelError(E.EINVAL)
    k.put_bytes(t, buf, _pack_statfs(_host_statfs(k.get_path(t, path_ptr)), True))
    return 0


@syscall("fstatfs64", sig="fd fd, size sz, out statfs64 buf", cls="desc,fstatfs,statfs_like")
def sys_fstatfs64(k, t, fd, size, buf, *_):
    """statfs64 of an open file's file system."""
    if size != STATFS64_SIZE:
        raise KernelError(E.EINVAL)
    f = t.files.get(fd)
    st = _host_statfs(f.fd) if hasattr(f, "fd") else (0x50495045, 4096, 0, 0, 0, 0, 0, 0, 0, 255, 4096, 0)
    k.put_bytes(t, buf, _pack_statfs(st, True))
    return 0


@syscall("statfs", sig="path path, out statfs buf", cls="file,statfs,statfs_like")
def sys_statfs(k, t, path_ptr, buf, *_):
    """struct statfs with 32-bit counts."""
    k.put_bytes(t, buf, _pack_statfs(_host_statfs(k.get_path(t, path_ptr)), False))
    return 0


@syscall("fstatfs", sig="fd fd, out statfs buf", cls="desc,fstatfs,statfs_like")
def sys_fstatfs(k, t, fd, buf, *_):
    """statfs of an open file's file system, 32-bit counts (a pipe is on pipefs)."""
    f = t.files.get(fd)
    st = _host_statfs(f.fd) if hasattr(f, "fd") else (0x50495045, 4096, 0, 0, 0, 0, 0, 0, 0, 255, 4096, 0)
    k.put_bytes(t, buf, _pack_statfs(st, False))
    return 0
