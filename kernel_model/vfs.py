"""Path resolution (fs/namei.c) for a guest whose file system is a host directory, chroot-style.

The guest's ``/`` is the host directory ``root``; resolution never leaves it.  Like Linux's ``link_path_walk`` the
walk goes one component at a time: the current position is kept as a list of canonical guest components (no
symlinks, no dots), each looked up with ``os.lstat`` on the host, so ``..`` is simply "drop the last component" and
is clamped at the guest root, an absolute symlink body restarts at the guest root, and a relative body continues
from the directory holding the link.  The host's own symlink resolution (``os.path.realpath``, or the kernel
following a link inside a host path) is never relied upon, so no host path outside ``root`` is ever touched,
except that ``root`` itself may be a host symlink.

Linux behaviour mirrored here:

* an empty path is ``ENOENT``; a path of ``PATH_MAX`` (4096) bytes or more is ``ENAMETOOLONG`` (``getname``);
  a component longer than ``NAME_MAX`` (255) bytes is ``ENAMETOOLONG`` when the walk reaches it;
* before each lookup in a directory (including ``.`` and ``..``) that directory must be searchable
  (``may_lookup``); skipped for root, who has ``CAP_DAC_READ_SEARCH``;
* a non-final component that is not a directory (after following symlinks) is ``ENOTDIR``;
* a trailing slash on the final component forces it to be followed and to be a directory (``LOOKUP_FOLLOW |
  LOOKUP_DIRECTORY`` in ``lookup_last``), so ``file/`` is ``ENOTDIR``;
* at most ``MAXSYMLINKS`` (40) symlinks are followed in one resolution; the 41st is ``ELOOP``;
* a symlink that is the final component is followed only with ``follow_last``, and the final component of its
  body then becomes the final component of the whole walk (so a dangling link with ``allow_missing_last``
  names the target to create, as ``open(O_CREAT)`` does).
"""

from __future__ import annotations

import os
import posixpath
import stat as pystat

from .abi import E
from .files import KernelError

PATH_MAX = 4096  # include/uapi/linux/limits.h, counting the terminating NUL
NAME_MAX = 255
MAXSYMLINKS = 40  # include/linux/namei.h


def _fs_str(p: str | bytes | os.PathLike) -> str:
    """A path as str (bytes decoded with os.fsdecode); cut at the first NUL, as a C string would be."""
    s = os.fsdecode(p)
    nul = s.find("\0")
    return s if nul < 0 else s[:nul]


def _split(path: str) -> list[tuple[str, bool]]:
    """The components of ``path`` in order, each with whether a slash follows it; empty components dropped."""
    out: list[tuple[str, bool]] = []
    pieces = path.split("/")
    for i, name in enumerate(pieces):
        if name:
            out.append((name, i + 1 < len(pieces)))
    return out


def _guest_parts(path: str) -> list[str]:
    """Lexically normalised components of a guest absolute path (``..`` clamped at the root)."""
    parts: list[str] = []
    for name in path.split("/"):
        if not name or name == ".":
            continue
        if name == "..":
            if parts:
                parts.pop()
        else:
            parts.append(name)
    return parts


class Vfs:
    """The guest's view of the host file system: guest path ``/`` is host directory ``root``."""

    def __init__(self, root: str | bytes | os.PathLike = "/") -> None:
        r = os.path.abspath(_fs_str(root))
        if r.startswith("//"):
            r = "/" + r.lstrip("/")
        if not os.path.isdir(r):
            raise ValueError(f"vfs root {r!r} is not a directory")
        self.root: str = r
        real = os.path.realpath(r)
        # Extra prefixes accepted by guest_path (host paths that reached root via its own host-side symlinks).
        self._roots = (r,) if real == r else (r, real)
        #: Whether directory components must be searchable (os.access X_OK); off for root, as for Linux's
        #: CAP_DAC_READ_SEARCH.  Public so that callers and tests can change it.
        self.check_search: bool = os.geteuid() != 0
        #: The walking task's own search check (host dir -> may it be searched), or None: a guest without
        #: CAP_DAC_READ_SEARCH needs x permission on every directory of the path (may_lookup), judged by its
        #: own credentials, not the emulator's.
        self.search_check = None
        #: Mounted directories: guest path components -> the host directory shown there instead (the guest's
        #: own /dev/shm, say). The mount point need not exist under root.
        self.mounts: dict[tuple[str, ...], str] = {}
        #: host path of a symlink -> whether it is a magic link that the walk stops at instead of following
        self.magic_link = None
        #: mount point -> called with the path's remaining components when a walk enters it (procfs fills itself)
        self.mount_hooks: dict[tuple[str, ...], object] = {}

    def mount(self, guest_dir: str, host_dir: str) -> None:
        """Show host directory host_dir at guest path guest_dir (a bind mount)."""
        self.mounts[tuple(_guest_parts(guest_dir))] = os.path.abspath(host_dir)

    # ---------------------------------------------------------------- helpers

    def _host(self, parts: list[str]) -> str:
        if not parts:
            return self.root
        for n in range(len(parts), 0, -1):  # the deepest mount on the way
            base = self.mounts.get(tuple(parts[:n])) if self.mounts else None
            if base is not None:
                return base + "".join("/" + p for p in parts[n:])
        rel = "/".join(parts)
        return "/" + rel if self.root == "/" else self.root + "/" + rel

    def _walk(self, cwd: str | bytes | os.PathLike, path: str | bytes | os.PathLike, follow_last: bool,
              allow_missing_last: bool) -> tuple[list[str], str]:
        """Resolve ``path``; return (canonical guest components, host path)."""
        p = _fs_str(path)
        if not p:
            raise KernelError(E.ENOENT, "empty path")
        if len(os.fsencode(p)) >= PATH_MAX:
            raise KernelError(E.ENAMETOOLONG, "path too long")
        parts: list[str] = [] if p.startswith("/") else _guest_parts("/" + _fs_str(cwd))
        hosts: list[str] = [self.root]
        for i in range(len(parts)):
            hosts.append(self._host(parts[: i + 1]))
        todo = _split(p)
        todo.reverse()
        if self.mount_hooks and parts and (parts[0],) in self.mount_hooks:  # a cwd inside /proc
            self.mount_hooks[(parts[0],)](parts[1:] + [n for n, _ in reversed(todo)])
        links = 0
        must_dir = False
        check = self.check_search
        guest_check = self.search_check
        while todo:
            name, slash = todo.pop()
            last = not todo
            here = hosts[-1]
            if check and not os.access(here, os.X_OK):
                if not os.path.lexists(here):  # e.g. a cwd that has been removed
                    raise KernelError(E.ENOENT, f"no such directory {here!r}")
                raise KernelError(E.EACCES, f"search permission denied on {here!r}")
            if guest_check is not None and not guest_check(here):
                raise KernelError(E.EACCES, f"search permission denied on {here!r}")
            if last and slash:
                must_dir = True
            if name == ".":
                continue
            if name == "..":
                if parts:
                    parts.pop()
                    hosts.pop()
                continue
            if len(os.fsencode(name)) > NAME_MAX:
                raise KernelError(E.ENAMETOOLONG, "component too long")
            host = "/" + name if here == "/" else here + "/" + name
            if self.mounts:
                key = (*parts, name)
                host = self.mounts.get(key, host)
                hook = self.mount_hooks.get(key) if self.mount_hooks else None
                if hook is not None:
                    hook([n for n, _ in reversed(todo)])  # the file system fills itself before the lookup
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                if last and allow_missing_last:
                    parts.append(name)
                    hosts.append(host)
                    break
                raise KernelError(E.ENOENT, f"no such file {host!r}") from None
            except OSError as e:
                raise KernelError(e.errno or E.ENOENT, str(e)) from None
            mode = st.st_mode
            if pystat.S_ISLNK(mode) and (not last or follow_last or must_dir) and self.magic_link is not None \
                    and self.magic_link(host):
                # A magic link (/proc/PID/fd/N of a pipe): the walk ends at the link; opening it opens the file
                if not last:
                    raise KernelError(E.ENOTDIR, f"not a directory: {host!r}")
                parts.append(name)
                hosts.append(host)
                continue
            if pystat.S_ISLNK(mode) and (not last or follow_last or must_dir):
                links += 1
                if links > MAXSYMLINKS:
                    raise KernelError(E.ELOOP, "too many levels of symbolic links")
                try:
                    body = os.readlink(host)
                except OSError as e:
                    raise KernelError(e.errno or E.ENOENT, str(e)) from None
                if not body:
                    raise KernelError(E.ENOENT, "empty symlink")
                if body.startswith("/"):
                    del parts[:]
                    del hosts[1:]
                expansion = _split(body)
                expansion.reverse()
                todo.extend(expansion)
                continue
            if not pystat.S_ISDIR(mode) and (not last or must_dir):
                raise KernelError(E.ENOTDIR, f"not a directory: {host!r}")
            parts.append(name)
            hosts.append(host)
        return parts, hosts[-1]

    # ---------------------------------------------------------------- API

    def resolve(self, cwd: str | bytes, path: str | bytes, follow_last: bool = True,
                allow_missing_last: bool = False) -> str:
        """Guest path -> host path, resolved against guest cwd ``cwd`` (a canonical guest absolute path).

        Raises KernelError with ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG or EACCES as Linux's path walk would.  With
        ``allow_missing_last`` the final component need not exist (its parent must); the returned host path then
        names it.  A trailing slash is accepted on a missing final component (``mkdir("new/")``); callers for
        which that is an error (``open(O_CREAT)`` gives EISDIR) check the path themselves.
        """
        return self._walk(cwd, path, follow_last, allow_missing_last)[1]

    def resolve_guest(self, cwd: str | bytes, path: str | bytes, follow_last: bool = True) -> str:
        """Like resolve, but return the canonical guest absolute path (for chdir and getcwd).

        The caller checks the kind of the result (chdir of a non-directory is ENOTDIR).
        """
        parts = self._walk(cwd, path, follow_last, False)[0]
        return "/" + "/".join(parts)

    def guest_path(self, host_path: str | bytes) -> str:
        """Host path under root -> guest absolute path (``/`` for root itself); ValueError if outside root.

        Purely lexical (``.``/``..`` normalised, no symlinks followed).
        """
        hp = _fs_str(host_path)
        if not hp.startswith("/"):
            raise ValueError(f"host path {hp!r} is not absolute")
        hp = "/" + posixpath.normpath(hp).lstrip("/")
        for parts, base in self.mounts.items():
            if hp == base or hp.startswith(base + "/"):
                return "/" + "/".join(parts) + hp[len(base):]
        for r in self._roots:
            if r == "/":
                return hp
            if hp == r:
                return "/"
            if hp.startswith(r + "/"):
                return hp[len(r):]
        raise ValueError(f"host path {hp!r} is outside the guest root {self.root!r}")
