"""Names in directories: mkdir, rmdir, unlink, rename, symlink, link, readlink (fs/namei.c, fs/stat.c)."""

from __future__ import annotations

import os

from ..abi import E
from ..files import KernelError
from .table import syscall
from ..cred import check_create, own_new_file
from .common import AT_FDCWD, host_call, s32
from ..inotify import IN_ATTRIB, IN_CREATE


@syscall("mkdir", sig="path pathname, mode mode", cls="file")
def sys_mkdir(k, t, path_ptr, mode, *_):
    """Create a directory (mode less the umask)."""
    return sys_mkdirat(k, t, AT_FDCWD, path_ptr, mode)


@syscall("mkdirat", sig="dirfd dirfd, path pathname, mode mode", cls="desc,file")
def sys_mkdirat(k, t, dirfd, path_ptr, mode, *_):
    """mkdir relative to a directory descriptor."""
    path = k.get_path_at(t, dirfd, path_ptr, create=True, follow=False)
    cred = k.cred(t)
    if not os.path.lexists(path):
        check_create(cred, path)
    old = os.umask(0)
    try:
        host_call(os.mkdir, path, mode & 0o7777 & ~t.fs.umask)
    finally:
        os.umask(old)
    own_new_file(cred, path)
    if k.fsnotify:
        k.fsnotify.path_event(path, IN_CREATE)
    return 0


@syscall("rmdir", sig="path pathname", cls="file")
def sys_rmdir(k, t, path_ptr, *_):
    """Remove an empty directory; a last component that is not a name is refused as do_rmdir does ("/" EBUSY,
    "." EINVAL, ".." ENOTEMPTY)."""
    path = k.get_path(t, path_ptr, follow=False)
    last = _last_component(k, t, path_ptr)
    if last in (b"", b".", b".."):
        raise KernelError({b"": E.EBUSY, b".": E.EINVAL, b"..": E.ENOTEMPTY}[last])
    may_delete(k, t, path)
    return _remove(k, path, os.rmdir)


def _last_component(k, t, ptr: int) -> bytes:
    """A path's last component as the lookup types it: b"" for the root (LAST_ROOT), b"." or b".." (LAST_DOT,
    LAST_DOTDOT), else the name."""
    return k.get_cstring(t, ptr).rstrip(b"/").rsplit(b"/", 1)[-1]


def may_delete(k, t, path: str) -> None:
    """may_delete for a name that exists: write and search permission on its directory, and in a sticky
    directory ownership of the directory or the file (or CAP_FOWNER); EACCES / EPERM."""
    from ..cred import CAP_DAC_OVERRIDE, CAP_FOWNER, check_create

    if not os.path.lexists(path):
        return  # the lookup says ENOENT first
    c = k.cred(t)
    if not c.capable(CAP_DAC_OVERRIDE):
        check_create(c, path)
    parent = os.stat(os.path.dirname(path) or "/")
    if parent.st_mode & 0o1000 and not c.capable(CAP_FOWNER) and c.fsuid not in (
            parent.st_uid, os.lstat(path).st_uid):
        raise KernelError(E.EPERM)


def _remove(k, path, op):
    """unlink or rmdir a host path, reporting it to inotify watches (fsnotify_nameremove, d_delete)."""
    info = k.fsnotify.before_remove(path) if k.fsnotify else None
    host_call(op, path)
    if info is not None:
        k.fsnotify.removed(path, info)
    return 0


@syscall("unlink", sig="path pathname", cls="file")
def sys_unlink(k, t, path_ptr, *_):
    """Remove a name."""
    return sys_unlinkat(k, t, AT_FDCWD, path_ptr, 0)


@syscall("unlinkat", sig="dirfd dirfd, path pathname, flags(at) flags", cls="desc,file")
def sys_unlinkat(k, t, dirfd, path_ptr, flags, *_):
    """unlink, or rmdir with AT_REMOVEDIR."""
    if flags & ~0x200:
        raise KernelError(E.EINVAL)
    path = k.get_path_at(t, dirfd, path_ptr, follow=False)
    may_delete(k, t, path)
    if flags & 0x200:
        return _remove(k, path, os.rmdir)
    if os.path.isdir(path) and not os.path.islink(path):
        raise KernelError(E.EISDIR)
    return _remove(k, path, os.unlink)


@syscall("rename", sig="path oldpath, path newpath", cls="file")
def sys_rename(k, t, old_ptr, new_ptr, *_):
    """Rename a file."""
    return sys_renameat2(k, t, AT_FDCWD, old_ptr, AT_FDCWD, new_ptr, 0)


@syscall("renameat", sig="dirfd olddirfd, path oldpath, dirfd newdirfd, path newpath", cls="desc,file")
def sys_renameat(k, t, olddir, old_ptr, newdir, new_ptr, *_):
    """rename relative to directory descriptors."""
    return sys_renameat2(k, t, olddir, old_ptr, newdir, new_ptr, 0)


@syscall("renameat2",
         sig="dirfd olddirfd, path oldpath, dirfd newdirfd, path newpath, flags(rename) flags",
         cls="desc,file")
def sys_renameat2(k, t, olddir, old_ptr, newdir, new_ptr, flags, *_):
    """rename with flags: RENAME_NOREPLACE in the model, RENAME_EXCHANGE and RENAME_WHITEOUT by the host's
    renameat2; EINVAL for unknown flags or EXCHANGE with either of the others (do_renameat2)."""
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or (
            flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) and flags & RENAME_EXCHANGE):
        raise KernelError(E.EINVAL)
    # do_renameat2's order: the old name's parent (its getname error, dirfd, directories), the new one's, then a
    # last component that is not a name ("/", ".", ".."), and only then the last components themselves (a
    # component too long for NAME_MAX)
    too_long = None
    try:
        src = k.get_path_at(t, olddir, old_ptr, follow=False)
    except KernelError as e:
        # a missing or over-long last component is found after the new name's parent (ENOENT, ENAMETOOLONG); the
        # model cannot tell a missing directory on the way from a missing last component, and defers both
        if e.errno not in (E.ENAMETOOLONG, E.ENOENT) or not k.get_cstring(t, old_ptr):
            raise
        src, too_long = None, e
    try:
        dst = k.get_path_at(t, newdir, new_ptr, create=True, follow=False)
    except KernelError as e:
        if e.errno != E.ENAMETOOLONG or too_long is not None or not k.get_cstring(t, new_ptr):
            raise
        dst, too_long = None, e
    if _last_component(k, t, old_ptr) in (b"", b".", b".."):
        raise KernelError(E.EBUSY)
    if _last_component(k, t, new_ptr) in (b"", b".", b".."):
        raise KernelError(E.EEXIST if flags & RENAME_NOREPLACE else E.EBUSY)
    if too_long is not None:
        raise too_long
    if flags & 1 and os.path.lexists(dst):
        raise KernelError(E.EEXIST)
    fsn = k.fsnotify
    info = fsn.before_remove(src) if fsn else None
    is_dir = os.path.isdir(src) and not os.path.islink(src)
    if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
        _host_renameat2(src, dst, flags)  # (inotify is not told of an exchange or whiteout)
        return 0
    host_call(os.rename, src, dst)
    if is_dir:
        _follow_moved_dir(k, src, dst)
    if info is not None:
        fsn.moved(src, dst, info, fsn.before_remove(dst)[1])
    return 0


RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


def _host_renameat2(src: str, dst: str, flags: int) -> None:
    """The host's renameat2 (glibc's wrapper) for the flags the model leaves to the file system."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if libc.renameat2(-100, os.fsencode(src), -100, os.fsencode(dst), flags) != 0:
        raise KernelError(ctypes.get_errno() or E.EIO)


def _follow_moved_dir(k, src: str, dst: str) -> None:
    """A directory moved: working directories and open files inside it move with it, as they follow the
    inode in Linux (the model keeps them by path)."""
    gsrc, gdst = k.guest_path(src), k.guest_path(dst)
    seen = set()
    for task in k.tasks.values():
        fs = getattr(task, "fs", None)
        if fs is not None and id(fs) not in seen:
            seen.add(id(fs))
            if fs.cwd == gsrc or fs.cwd.startswith(gsrc.rstrip("/") + "/"):
                fs.cwd = gdst + fs.cwd[len(gsrc):]
        files = getattr(task, "files", None)
        if files is None or id(files) in seen:
            continue
        seen.add(id(files))
        for f, _ in files.fds.values():
            name = getattr(f, "name", None)
            if getattr(f, "fd", None) is not None and isinstance(name, str) and (
                    name == src or name.startswith(src.rstrip("/") + "/")):
                f.name = dst + name[len(src):]


@syscall("symlink", sig="path target, path linkpath", cls="file")
def sys_symlink(k, t, target_ptr, path_ptr, *_):
    """Create a symbolic link; an empty target is ENOENT (getname), before the new name is read."""
    target = os.fsdecode(k.get_cstring(t, target_ptr))
    if not target:
        raise KernelError(E.ENOENT)
    path = k.get_path(t, path_ptr, create=True, follow=False)
    host_call(os.symlink, target, path)
    if k.fsnotify:
        k.fsnotify.path_event(path, IN_CREATE, follow=False)
    return 0


@syscall("link", sig="path oldpath, path newpath", cls="file")
def sys_link(k, t, old_ptr, new_ptr, *_):
    """Create a hard link (the old name is looked up before the new one is read, as do_linkat does)."""
    old, new = k.get_path(t, old_ptr, follow=False), k.get_path(t, new_ptr, create=True, follow=False)
    host_call(os.link, old, new)
    if k.fsnotify:
        k.fsnotify.path_event(old, IN_ATTRIB, follow=False)  # fsnotify_link_count, then fsnotify_create
        k.fsnotify.path_event(new, IN_CREATE, follow=False)
    return 0


@syscall("readlink", sig="path pathname, out buf(ret) buf, size bufsiz", cls="file")
def sys_readlink(k, t, path_ptr, buf, size, *_):
    """Read a symlink's body (do_readlinkat); /proc/PID/exe and friends are links the model's procfs wrote,
    naming guest paths."""
    return sys_readlinkat(k, t, AT_FDCWD, path_ptr, buf, size)


@syscall("readlinkat", sig="dirfd dirfd, path pathname, out buf(ret) buf, size bufsiz", cls="desc,file")
def sys_readlinkat(k, t, dirfd, path_ptr, buf, size, *_):
    """readlink relative to a directory descriptor or the cwd."""
    if s32(size) <= 0:
        raise KernelError(E.EINVAL)
    if not k.get_cstring(t, path_ptr):
        # an empty path names dirfd itself (LOOKUP_EMPTY): EBADF for a bad one, and ENOENT unless it is a
        # symlink opened with O_PATH | O_NOFOLLOW
        f = t.files.get(dirfd) if dirfd != AT_FDCWD else None
        name = getattr(f, "name", None)
        if name is None or not os.path.islink(name):
            raise KernelError(E.ENOENT)
        path = name
    else:
        path = k.get_path_at(t, dirfd, path_ptr, follow=False)
    try:
        target = os.fsencode(os.readlink(path))
    except OSError as e:
        raise KernelError(e.errno or E.EINVAL) from None
    target = target[:size]
    k.put_bytes(t, buf, target)
    return len(target)
