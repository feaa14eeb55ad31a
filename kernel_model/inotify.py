"""inotify (fs/notify/inotify, fs/notify/fsnotify.c): watches on inodes, and the events the model's own file
operations raise on them.

A watch is keyed by the watched inode's host (dev, ino). The syscall layer reports what a guest does to a file
(fsnotify_open, fsnotify_access, fsnotify_modify, fsnotify_close, fsnotify_create, fsnotify_unlink, ...) through
`Fsnotify`; each event goes to the watches on the inode itself and, with the entry's name, to the watches on its
directory. Every report is skipped at the cost of one dict lookup while nobody watches anything, so the hooks
cost nothing on the hot path. Changes made by host processes outside the model are not seen (Linux would see
them); the model is the only writer it can observe.
"""

from __future__ import annotations

import os
import stat as pystat
import struct
from collections import deque
from typing import TYPE_CHECKING

from .abi import E
from .files import POLLIN, POLLRDNORM, AnonFile, KernelError, O_RDONLY
from .task import WaitQueue

if TYPE_CHECKING:
    from .kernel import Kernel

IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x40, 0x80, 0x100, 0x200, 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x2000, 0x4000, 0x8000, 0x40000000
IN_ALL_EVENTS = 0xFFF
FS_RENAME = 0x08000000  # a rename within one directory, to that directory (fsnotify's FS_RENAME; dnotify only)
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD, IN_ONESHOT = (
    0x01000000, 0x02000000, 0x04000000, 0x10000000, 0x20000000, 0x80000000)
IN_CLOEXEC, IN_NONBLOCK = 0o2000000, 0o4000
MAX_QUEUED_EVENTS = 16384  # /proc/sys/fs/inotify/max_queued_events
MAX_USER_WATCHES = 8192  # /proc/sys/fs/inotify/max_user_watches (Linux scales it with memory; this is its floor)
EVENT_HEADER = struct.Struct("<iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class Watch:
    """struct inotify_inode_mark: one instance's interest in one inode."""

    __slots__ = ("group", "wd", "key", "mask")

    def __init__(self, group: InotifyFile, wd: int, key: tuple[int, int], mask: int) -> None:
        self.group, self.wd, self.key, self.mask = group, wd, key, mask


class InotifyFile(AnonFile):
    """An inotify instance (struct fsnotify_group): its watches and its queue of events."""

    _ino = 0

    def __init__(self, k: Kernel, flags: int) -> None:
        super().__init__("anon_inode:inotify", O_RDONLY | flags)
        self.k = k
        self.watches: dict[int, Watch] = {}
        self.next_wd = 1
        self.events: deque[bytes] = deque()
        self.queued = 0
        self.overflowed = False
        self.wq = WaitQueue("inotify")
        InotifyFile._ino += 1
        self.ino = 0x30000 + InotifyFile._ino

    def queue(self, wd: int, mask: int, cookie: int, name: bytes) -> None:
        """Queue an event unless it repeats the last one unread (inotify_merge), or IN_Q_OVERFLOW once when
        max_queued_events are waiting."""
        if name:
            padded = len(name) + 1
            padded += -padded % EVENT_HEADER.size
            raw = EVENT_HEADER.pack(wd, mask, cookie, padded) + name + bytes(padded - len(name))
        else:
            raw = EVENT_HEADER.pack(wd, mask, cookie, 0)
        if self.events and self.events[-1] == raw:
            return
        if self.queued >= self.k.sysctl_int("fs/inotify/max_queued_events"):
            if not self.overflowed:
                self.overflowed = True
                self.events.append(EVENT_HEADER.pack(-1, IN_Q_OVERFLOW, 0, 0))
            return
        self.events.append(raw)
        self.queued += 1
        self.k.sched.wake_up(self.wq, key=POLLIN | POLLRDNORM)

    def read(self, n: int) -> bytes | None:
        """Whole events that fit in n bytes (inotify_read): EINVAL when even the first does not."""
        if not self.events:
            return None
        out = bytearray()
        while self.events and len(out) + len(self.events[0]) <= n:
            ev = self.events.popleft()
            if struct.unpack_from("<I", ev, 4)[0] == IN_Q_OVERFLOW:
                self.overflowed = False
            else:
                self.queued -= 1
            out += ev
        if not out:
            raise KernelError(E.EINVAL)
        return bytes(out)

    def poll(self) -> int:
        return POLLIN | POLLRDNORM if self.events else 0

    def waitqueue(self):
        return self.wq

    def pending_bytes(self) -> int:
        return sum(len(e) for e in self.events)

    def stat(self) -> dict[str, int]:
        from .eventfd import _anon_stat

        return _anon_stat(self.ino)

    def fdinfo(self) -> str:
        lines = []
        for w in self.watches.values():
            mask = w.mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)  # inotify_mark_user_mask
            lines.append(f"inotify wd:{w.wd:x} ino:{w.key[1]:x} sdev:{w.key[0]:x} mask:{mask:x} ignored_mask:0 "
                         "fhandle-bytes:8 fhandle-type:1 f_handle:0\n")
        return "".join(lines)

    def release(self) -> None:
        for w in list(self.watches.values()):
            self.k.fsnotify.remove_watch(w, notify=False)
        self.watches.clear()


class Fsnotify:
    """Every watch of the model by inode, and the event reports of the file operations (fsnotify)."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.marks: dict[tuple[int, int], list[Watch]] = {}
        self.cookie = 0

    def __bool__(self) -> bool:
        return bool(self.marks)

    # ---- watches ---------------------------------------------------------------------------------------------

    def add_watch(self, group: InotifyFile, host_path: str, mask: int) -> int:
        """inotify_add_watch: a new watch, or the inode's existing one changed (IN_MASK_ADD ors the mask in,
        IN_MASK_CREATE makes an existing one EEXIST); ENOTDIR for IN_ONLYDIR on another kind of file."""
        try:
            st = os.stat(host_path) if not mask & IN_DONT_FOLLOW else os.lstat(host_path)
        except OSError as e:
            raise KernelError(e.errno or E.ENOENT) from None
        if mask & IN_ONLYDIR and not pystat.S_ISDIR(st.st_mode):
            raise KernelError(E.ENOTDIR)
        key = (st.st_dev, st.st_ino)
        events = mask & (IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT | IN_ONLYDIR | IN_DONT_FOLLOW | FS_RENAME)
        for w in self.marks.get(key, ()):
            if w.group is group:
                if mask & IN_MASK_CREATE:
                    raise KernelError(E.EEXIST)
                w.mask = (w.mask | events) if mask & IN_MASK_ADD else events
                return w.wd
        if len(group.watches) >= self.k.sysctl_int("fs/inotify/max_user_watches"):
            raise KernelError(E.ENOSPC)
        w = Watch(group, group.next_wd, key, events)
        group.next_wd += 1
        group.watches[w.wd] = w
        self.marks.setdefault(key, []).append(w)
        return w.wd

    def remove_watch(self, w: Watch, notify: bool = True) -> None:
        """Drop a watch; its instance reads IN_IGNORED (inotify_freeing_mark)."""
        marks = self.marks.get(w.key, [])
        if w in marks:
            marks.remove(w)
            if not marks:
                del self.marks[w.key]
        w.group.watches.pop(w.wd, None)
        if notify:
            w.group.queue(w.wd, IN_IGNORED, 0, b"")

    # ---- events ----------------------------------------------------------------------------------------------

    def _send(self, key, mask: int, cookie: int = 0, name: bytes = b"", unlinked: bool = False) -> None:
        for w in list(self.marks.get(key, ())):
            if not w.mask & mask & (IN_ALL_EVENTS | FS_RENAME) and mask & (IN_ALL_EVENTS | FS_RENAME):
                continue
            if unlinked and w.mask & IN_EXCL_UNLINK:
                continue  # IN_EXCL_UNLINK: no events for children unlinked from the directory
            w.group.queue(w.wd, mask, cookie, name)
            if w.mask & IN_ONESHOT:
                self.remove_watch(w)

    @staticmethod
    def _key(path: str, follow: bool = True):
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except OSError:
            return None, 0
        return (st.st_dev, st.st_ino), st

    def path_event(self, host_path: str, mask: int, cookie: int = 0, follow: bool = True) -> None:
        """An event on the file at host_path: to its own watches, and with its name to its directory's."""
        key, st = self._key(host_path, follow)
        if key is None:
            return
        if pystat.S_ISDIR(st.st_mode):
            mask |= IN_ISDIR
        parent = self._key(os.path.dirname(host_path) or "/")[0]
        if parent is not None and parent != key:  # the directory hears first (fsnotify_parent), then the inode
            self._send(parent, mask, cookie, os.fsencode(os.path.basename(host_path)))
        self._send(key, mask, cookie)

    def file_event(self, f, mask: int) -> None:
        """An event on an open host file: to its inode's watches, and by the name it was opened under to its
        directory's."""
        fd = getattr(f, "fd", None)
        if fd is None or not self.marks:
            return
        try:
            st = os.fstat(fd)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if pystat.S_ISDIR(st.st_mode):
            mask |= IN_ISDIR
        parent = self._key(os.path.dirname(f.name) or "/")[0]
        if parent is not None and parent != key:  # an unlinked file still reports to its old directory
            self._send(parent, mask, 0, os.fsencode(os.path.basename(f.name)), unlinked=not st.st_nlink)
        self._send(key, mask)

    def closed(self, f) -> None:
        """The open file's last reference went (__fput): IN_CLOSE_WRITE or IN_CLOSE_NOWRITE, and an unlinked
        inode that nothing holds any more is gone (IN_DELETE_SELF)."""
        if not self.marks or getattr(f, "fd", None) is None:
            return
        self.file_event(f, IN_CLOSE_WRITE if f.flags & 3 in (1, 2) else IN_CLOSE_NOWRITE)
        try:
            st = os.fstat(f.fd)
        except OSError:
            return
        if st.st_nlink == 0 and not self._open_elsewhere((st.st_dev, st.st_ino), f):
            self.inode_gone((st.st_dev, st.st_ino))

    def _open_elsewhere(self, key, but=None) -> bool:
        from .locks import _open_modes

        return any(x is not but for x in _open_modes(self.k, key))

    def dir_entry_event(self, parent_key, name: str, mask: int, cookie: int = 0) -> None:
        self._send(parent_key, mask, cookie, os.fsencode(name))

    def before_remove(self, host_path: str):
        """What unlink/rmdir/rename need to report afterwards: the inode, its parent, whether it is a
        directory, and its link count."""
        key, st = self._key(host_path, follow=False)
        parent = self._key(os.path.dirname(host_path) or "/")[0]
        return key, parent, st

    def removed(self, host_path: str, info) -> None:
        """After unlink/rmdir: the inode loses a link (IN_ATTRIB) and, once no name and no open file hold it,
        its watches get IN_DELETE_SELF and IN_IGNORED (fsnotify_inoderemove); then IN_DELETE to the directory."""
        key, parent, st = info
        if key is None:
            return
        is_dir = pystat.S_ISDIR(st.st_mode)
        if not is_dir:
            self._send(key, IN_ATTRIB)  # fsnotify_link_count
        if is_dir or (st.st_nlink <= 1 and not self._open_elsewhere(key)):
            self.inode_gone(key)  # the inode goes before the name's removal is reported (d_delete_notify)
        if parent is not None:
            self._send(parent, IN_DELETE | (IN_ISDIR if is_dir else 0), 0,
                       os.fsencode(os.path.basename(host_path)))

    def inode_gone(self, key) -> None:
        """The inode is gone: IN_DELETE_SELF to the watches that asked for it, IN_IGNORED to all."""
        for w in list(self.marks.get(key, ())):
            if w.mask & IN_DELETE_SELF:
                w.group.queue(w.wd, IN_DELETE_SELF, 0, b"")
            self.remove_watch(w)

    def moved(self, src: str, dst: str, info_src, dst_parent) -> None:
        """After a rename: IN_MOVED_FROM and IN_MOVED_TO sharing a cookie to the two directories, IN_MOVE_SELF
        to the moved inode (fsnotify_move)."""
        key, parent, st = info_src
        if key is None:
            return
        self.cookie += 1
        is_dir = IN_ISDIR if pystat.S_ISDIR(st.st_mode) else 0
        if parent is not None:
            self._send(parent, IN_MOVED_FROM | is_dir, self.cookie, os.fsencode(os.path.basename(src)))
        if dst_parent is not None:
            self._send(dst_parent, IN_MOVED_TO | is_dir, self.cookie, os.fsencode(os.path.basename(dst)))
        if parent is not None and parent == dst_parent:
            self._send(parent, FS_RENAME, 0, os.fsencode(os.path.basename(dst)))
        self._send(key, IN_MOVE_SELF)


# ---- dnotify (fs/notify/dnotify): fcntl(F_NOTIFY) on a directory ----------------------------------------------

DN_ACCESS, DN_MODIFY, DN_CREATE, DN_DELETE, DN_RENAME, DN_ATTRIB, DN_MULTISHOT = (
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x80000000)
# dnotify's event -> the inotify events that raise it (dnotify.c's convert_arg)
DN_TO_IN = {DN_ACCESS: IN_ACCESS, DN_MODIFY: IN_MODIFY, DN_CREATE: IN_CREATE | IN_MOVED_TO,
            DN_DELETE: IN_DELETE | IN_MOVED_FROM, DN_RENAME: FS_RENAME, DN_ATTRIB: IN_ATTRIB}


class DnotifyGroup:
    """The watch of one open directory made by F_NOTIFY: an event in it (or on it) signals the file's owner
    with SIGIO or its F_SETSIG signal, si_fd naming the descriptor; one-shot unless DN_MULTISHOT."""

    def __init__(self, k: Kernel, f, fd: int, mask: int) -> None:
        self.k, self.f, self.fd, self.mask = k, f, fd, mask
        self.watches: dict[int, Watch] = {}
        self.next_wd = 1

    def queue(self, wd: int, mask: int, cookie: int, name: bytes) -> None:
        from .fcntl import POLL_MSG, send_sigio

        if mask & IN_IGNORED:
            return
        send_sigio(self.k, self.f, self.fd, POLL_MSG)
        if not self.mask & DN_MULTISHOT:
            for w in list(self.watches.values()):
                self.k.fsnotify.remove_watch(w, notify=False)


def fcntl_dirnotify(k: Kernel, t, f, fd: int, arg: int) -> int:
    """F_NOTIFY (fcntl_dirnotify): watch an open directory for the DN_* events in arg (0 stops); ENOTDIR for
    another kind of file. The caller becomes the file's owner unless it has one."""
    from .fcntl import fown

    old = getattr(f, "dnotify", None)
    if old is not None:
        for w in list(old.watches.values()):
            k.fsnotify.remove_watch(w, notify=False)
        f.dnotify = None
    name = getattr(f, "name", None)
    if getattr(f, "fd", None) is None or not name or not os.path.isdir(name):
        raise KernelError(E.ENOTDIR)
    events = 0
    for dn, inm in DN_TO_IN.items():
        if arg & dn:
            events |= inm
    if not events:
        return 0
    group = DnotifyGroup(k, f, fd, arg)
    k.fsnotify.add_watch(group, name, events)
    f.dnotify = group
    o = fown(f)
    if not o.pid:
        o.pid = t.tgid
    return 0
