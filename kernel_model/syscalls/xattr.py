"""Extended attributes (fs/xattr.c): get, list, set and remove, on the host files under the root."""

from __future__ import annotations

import errno
import os
import stat as pystat

from ..abi import E
from ..files import KernelError
from .table import syscall

XATTR_CREATE, XATTR_REPLACE = 1, 2
NAMESPACES = ("user.", "trusted.", "security.", "system.")
XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX = 255, 65536, 65536


def _target(k, t, nr_kind: str, arg: int):
    """The path (following links or not) or the open file's descriptor an xattr call names."""
    if nr_kind == "f":
        f = t.files.get(arg)
        if getattr(f, "fd", None) is None:
            return None, True  # a pipe, socket or other in-memory inode: no attributes, and none can be set
        return f.fd, True
    return k.get_path(t, arg, follow=nr_kind != "l"), nr_kind != "l"


def _name(k, t, ptr: int) -> str:
    """The attribute name (import_xattr_name): ERANGE when empty or longer than XATTR_NAME_MAX."""
    try:
        raw = k.get_cstring(t, ptr, XATTR_NAME_MAX + 1)
    except KernelError as e:
        if e.errno == E.ENAMETOOLONG:
            raise KernelError(E.ERANGE) from None
        raise
    if not raw or len(raw) > XATTR_NAME_MAX:
        raise KernelError(E.ERANGE)
    return os.fsdecode(raw)


def _permission(k, t, where, follow: bool, name: str, write: bool) -> None:
    """xattr_permission for a task without the emulator's rights: trusted.* needs CAP_SYS_ADMIN (EPERM to
    change, ENODATA to read), user.* only lives on regular files and directories, and every name but security.*
    and system.* needs the file's read or write permission (EACCES)."""
    from ..cred import CAP_SYS_ADMIN, MAY_READ, MAY_WRITE, generic_permission

    c = k.cred(t)
    if name.startswith(("security.", "system.")):
        return
    try:
        st = os.fstat(where) if isinstance(where, int) else os.stat(where, follow_symlinks=follow)
    except OSError:
        return  # the host call reports it
    if name.startswith("trusted."):
        if not c.capable(CAP_SYS_ADMIN):
            raise KernelError(E.EPERM if write else E.ENODATA)
        return
    if name.startswith("user.") and not (pystat.S_ISREG(st.st_mode) or pystat.S_ISDIR(st.st_mode)):
        raise KernelError(E.EPERM if write else E.ENODATA)
    if not generic_permission(c, st, MAY_WRITE if write else MAY_READ):
        raise KernelError(E.EACCES)


def _host(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except OSError as e:
        err = e.errno or E.EIO
        raise KernelError(E.ENODATA if err == errno.ENODATA else err) from None


def _kind(t) -> str:
    name = t.in_syscall.name
    return "l" if name.startswith("l") else "f" if name.startswith("f") else ""


@syscall("getxattr", "lgetxattr", sig="path pathname, str name, out buf(ret) value, size size", cls="file")
@syscall("fgetxattr", sig="fd fd, str name, out buf(ret) value, size size", cls="desc")
def sys_getxattr(k, t, target, name_ptr, value, size, *_):
    """An attribute's value (size 0: its length); ENODATA when the file has none by that name, ERANGE when it
    does not fit."""
    name = _name(k, t, name_ptr)  # import_xattr_name comes before the file (EFAULT, ERANGE first)
    where, follow = _target(k, t, _kind(t), target)
    if where is None:
        # an in-memory inode: no attributes; a name outside the known namespaces has no handler (EOPNOTSUPP)
        raise KernelError(E.ENODATA if name.startswith(NAMESPACES) else E.EOPNOTSUPP)
    _permission(k, t, where, follow, name, False)
    return _reply(k, t, _host(os.getxattr, where, name, follow_symlinks=follow), value, size)


@syscall("listxattr", "llistxattr", sig="path pathname, out buf(ret) list, size size", cls="file")
@syscall("flistxattr", sig="fd fd, out buf(ret) list, size size", cls="desc")
def sys_listxattr(k, t, target, lst, size, *_):
    """The attribute names, NUL-separated (size 0: the length the list needs)."""
    where, follow = _target(k, t, _kind(t), target)
    names = _host(os.listxattr, where, follow_symlinks=follow) if where is not None else []
    return _reply(k, t, b"".join(os.fsencode(n) + b"\0" for n in names), lst, size)


def _reply(k, t, data: bytes, ptr: int, size: int) -> int:
    """Copy a value or name list out: its length alone for size 0, ERANGE when it does not fit."""
    if size == 0:
        return len(data)
    if len(data) > size:
        raise KernelError(E.ERANGE)
    k.put_bytes(t, ptr, data)
    return len(data)


@syscall("setxattr", "lsetxattr", sig="path pathname, str name, buf(size) value, size size, flags(xattr) flags",
         cls="file")
@syscall("fsetxattr", sig="fd fd, str name, buf(size) value, size size, flags(xattr) flags", cls="desc")
def sys_setxattr(k, t, target, name_ptr, value, size, flags, *_):
    """Set an attribute (XATTR_CREATE: EEXIST if present; XATTR_REPLACE: ENODATA if absent); E2BIG past
    XATTR_SIZE_MAX."""
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise KernelError(E.EINVAL)
    name = _name(k, t, name_ptr)  # setxattr_copy: flags, name, size, value, then the file
    if size > XATTR_SIZE_MAX:
        raise KernelError(E.E2BIG)
    data = k.get_bytes(t, value, size) if size else b""
    where, follow = _target(k, t, _kind(t), target)
    if where is None:
        raise KernelError(E.EOPNOTSUPP)
    _permission(k, t, where, follow, name, True)
    _host(os.setxattr, where, name, data, flags, follow_symlinks=follow)
    return 0


@syscall("removexattr", "lremovexattr", sig="path pathname, str name", cls="file")
@syscall("fremovexattr", sig="fd fd, str name", cls="desc")
def sys_removexattr(k, t, target, name_ptr, *_):
    """Remove an attribute (ENODATA when there is none by that name)."""
    name = _name(k, t, name_ptr)
    where, follow = _target(k, t, _kind(t), target)
    if where is None:
        raise KernelError(E.EOPNOTSUPP)
    _permission(k, t, where, follow, name, True)
    _host(os.removexattr, where, name, follow_symlinks=follow)
    return 0
