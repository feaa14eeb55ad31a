"""inotify's calls (fs/notify/inotify/inotify_user.c): instances, watches; the events are kernel_model.inotify's."""

from __future__ import annotations

from ..abi import E
from ..files import KernelError
from ..inotify import (IN_ALL_EVENTS, IN_CLOEXEC, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_ADD, IN_MASK_CREATE,
                       IN_NONBLOCK, IN_ONESHOT, IN_ONLYDIR, InotifyFile)
from .common import s32
from .event import _install
from .table import syscall

VALID_MASK = (IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD
              | IN_ONESHOT)
# a mask with none of these bits, or with any other bit, is EINVAL (inotify_add_watch)
ALL_INOTIFY_BITS = VALID_MASK | 0x00002000 | 0x00004000 | 0x00008000 | 0x40000000  # UNMOUNT Q_OVERFLOW IGNORED ISDIR


@syscall("inotify_init", sig="", cls="desc")
def sys_inotify_init(k, t, *_):
    """inotify_init1(0)."""
    return sys_inotify_init1(k, t, 0)


@syscall("inotify_init1", sig="flags(inotify_init) flags", cls="desc")
def sys_inotify_init1(k, t, flags, *_):
    """A new inotify instance; IN_CLOEXEC and IN_NONBLOCK (EINVAL otherwise); EMFILE past the per-user
    max_user_instances."""
    if flags & ~(IN_CLOEXEC | IN_NONBLOCK):
        raise KernelError(E.EINVAL)
    live = sum(1 for task in k.tasks.values() if task.files is not None
               for f, _ in task.files.fds.values() if isinstance(f, InotifyFile))
    if live >= k.sysctl_int("fs/inotify/max_user_instances"):
        raise KernelError(E.EMFILE)
    return _install(k, t, InotifyFile(k, flags & IN_NONBLOCK), flags)


def _instance(t, fd) -> InotifyFile:
    f = t.files.get(fd)
    if not isinstance(f, InotifyFile):
        raise KernelError(E.EINVAL)
    return f


@syscall("inotify_add_watch", sig="fd fd, path pathname, flags(inotify_mask) mask", cls="desc,file")
def sys_inotify_add_watch(k, t, fd, path_ptr, mask, *_):
    """Watch a file for the events in mask; returns the watch descriptor (the same one again for a file already
    watched). EINVAL for no events or both IN_MASK_ADD and IN_MASK_CREATE; EACCES without read permission."""
    if not mask & ALL_INOTIFY_BITS or mask & ~ALL_INOTIFY_BITS or (mask & IN_MASK_ADD and mask & IN_MASK_CREATE):
        raise KernelError(E.EINVAL)  # the mask is checked before the descriptor
    group = _instance(t, fd)
    path = k.get_path(t, path_ptr, follow=not mask & IN_DONT_FOLLOW)
    from ..cred import CAP_DAC_OVERRIDE, MAY_READ, check_file

    cred = k.cred(t)
    if not cred.capable(CAP_DAC_OVERRIDE):
        check_file(cred, path, MAY_READ)
    return k.fsnotify.add_watch(group, path, mask)


@syscall("inotify_rm_watch", sig="fd fd, int wd", cls="desc")
def sys_inotify_rm_watch(k, t, fd, wd, *_):
    """Stop a watch; the instance reads IN_IGNORED for it. EINVAL for a descriptor it does not have."""
    group = _instance(t, fd)
    w = group.watches.get(s32(wd))
    if w is None:
        raise KernelError(E.EINVAL)
    k.fsnotify.remove_watch(w)
    return 0
