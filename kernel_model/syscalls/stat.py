"""File status and directories: stat64 and friends, statx, getdents64, getcwd (fs/stat.c, fs/readdir.c,
fs/d_path.c)."""

from __future__ import annotations

import os
import struct

from ..abi import E
from ..files import KernelError, pack_stat64, pack_statx, stat_fields
from .table import syscall
from .common import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW


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
    k.put_bytes(t, buf, pack_stat64(_stat_at(k, t, dirfd, path_ptr, flags)))
    return 0


@syscall("statx",
         sig="dirfd dirfd, path pathname, statx_flags flags, flags(statx_mask) mask, out statx statxbuf",
         cls="desc,file,fstat,stat_like")
def sys_statx(k, t, dirfd, path_ptr, flags, mask, buf, *_):
    """struct statx (basic fields) of a path relative to a directory descriptor."""
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
