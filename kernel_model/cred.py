"""Task credentials (include/linux/cred.h, kernel/cred.c) and the permission checks that use them
(fs/namei.c generic_permission, kernel/signal.c check_kill_permission, security/commoncap.c).

A Cred is never changed in place: fork shares the parent's, and a set*id call installs a new one
(prepare_creds + commit_creds), so a child's identity stays its own once either side changes.

The first process gets the emulator's own identity (uid, gid, supplementary groups and capability sets), as
a native run of the same user would. The host files under --root are still opened with the emulator's host
permissions; on top of those, a task without CAP_DAC_OVERRIDE is checked against each file's owner, group
and mode bits as Linux would check it, so a guest that drops root cannot open another user's mode-600 file.
"""

from __future__ import annotations

import os
import stat as pystat
from dataclasses import dataclass, replace

CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_KILL, CAP_SETGID, CAP_SETUID = 0, 1, 2, 3, 5, 6, 7
CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_RAWIO, CAP_SYS_ADMIN, CAP_SYS_RESOURCE = 14, 15, 17, 21, 24
# The capabilities a uid change away from root clears from the effective set, and (when no uid is 0 any more)
# from the permitted set (cap_emulate_setxuid); the fs-uid change clears only the file-system ones.
CAP_FS_MASK = (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_FOWNER) | \
    (1 << 4) | (1 << 9) | (1 << 27) | (1 << 32)  # FSETID, LINUX_IMMUTABLE, MKNOD, MAC_OVERRIDE


@dataclass(frozen=True)
class Cred:
    """struct cred: the real, effective, saved and file-system ids, the groups and the capability sets."""

    uid: int
    euid: int
    suid: int
    fsuid: int
    gid: int
    egid: int
    sgid: int
    fsgid: int
    groups: tuple[int, ...] = ()
    cap_effective: int = 0
    cap_permitted: int = 0
    cap_inheritable: int = 0
    cap_bset: int = (1 << 41) - 1  # the bounding set: every capability to CAP_LAST_CAP (40) until dropped
    cap_ambient: int = 0
    securebits: int = 0

    def capable(self, cap: int) -> bool:
        """The capability is in the effective set (ns_capable in the one user namespace)."""
        return bool(self.cap_effective >> cap & 1)

    def in_group(self, gid: int) -> bool:
        """in_group_p: the fs gid or a supplementary group."""
        return gid == self.fsgid or gid in self.groups

    def change(self, **fields) -> Cred:
        """A new Cred with some fields changed (prepare_creds + the change)."""
        return replace(self, **fields)


def initial_cred(uid: int, gid: int, groups: list[int], caps: tuple[int, int, int]) -> Cred:
    """The first process's credentials."""
    return Cred(uid, uid, uid, uid, gid, gid, gid, gid, tuple(groups), *caps)


SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED = 1 << 4, 1 << 5


def fix_setuid(old: Cred, new: Cred) -> Cred:
    """cap_task_fix_setuid: leaving uid 0 for good drops the permitted and effective sets; leaving euid 0
    drops the effective set; coming back to euid 0 restores it from the permitted set; fsuid moves the
    file-system capabilities."""
    eff, prm = new.cap_effective, new.cap_permitted
    if 0 in (old.uid, old.euid, old.suid) and 0 not in (new.uid, new.euid, new.suid):
        eff = 0
        if not new.securebits & SECBIT_KEEP_CAPS:  # PR_SET_KEEPCAPS keeps the permitted set
            prm = 0
    if old.euid == 0 and new.euid != 0:
        eff = 0
    if old.euid != 0 and new.euid == 0:
        eff = prm
    if old.fsuid == 0 and new.fsuid != 0:
        eff &= ~CAP_FS_MASK
    elif old.fsuid != 0 and new.fsuid == 0:
        eff |= prm & CAP_FS_MASK
    return new.change(cap_effective=eff, cap_permitted=prm)


MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4


def generic_permission(cred: Cred, st: os.stat_result, mask: int) -> bool:
    """May cred access a file with this stat for mask (MAY_READ/WRITE/EXEC) (generic_permission): the owner's,
    group's or others' bits, then CAP_DAC_OVERRIDE (execute only when some x bit is set, or a directory) and
    CAP_DAC_READ_SEARCH (read, and search of directories)."""
    mode = st.st_mode
    if cred.fsuid == st.st_uid:
        bits = mode >> 6
    elif cred.in_group(st.st_gid):
        bits = mode >> 3
    else:
        bits = mode
    if mask & ~bits & 7 == 0:
        return True
    isdir = pystat.S_ISDIR(mode)
    if cred.capable(CAP_DAC_OVERRIDE):
        if not mask & MAY_EXEC or isdir or mode & 0o111:
            return True
    if cred.capable(CAP_DAC_READ_SEARCH):
        if mask == MAY_READ or (isdir and not mask & MAY_WRITE):
            return True
    return False


def may_signal(sender: Cred, target: Cred) -> bool:
    """check_kill_permission's kill_ok_by_cred: the sender's real or effective uid is the target's real or
    saved uid, or the sender has CAP_KILL."""
    return (sender.euid in (target.suid, target.uid) or sender.uid in (target.suid, target.uid)
            or sender.capable(CAP_KILL))


def check_file(cred: Cred, host_path: str, mask: int) -> None:
    """EACCES unless cred may access the existing file at host_path for mask (inode_permission). A task with
    CAP_DAC_OVERRIDE is let through here except for exec without any x bit; the host's own permission check
    (the emulator's) still follows when the file is opened."""
    from .abi import E
    from .files import KernelError

    try:
        st = os.stat(host_path)
    except OSError:
        return  # the caller's own open or exec reports a missing file
    if not generic_permission(cred, st, mask):
        raise KernelError(E.EACCES)


def may_search(cred: Cred, host_dir: str) -> bool:
    """May cred look up names in the directory (x permission, may_lookup)."""
    try:
        st = os.stat(host_dir)
    except OSError:
        return True  # the walk reports a missing directory itself
    return generic_permission(cred, st, MAY_EXEC)


def check_create(cred: Cred, host_path: str) -> None:
    """Creating a name needs write and search permission on the directory that will hold it (may_create)."""
    check_file(cred, os.path.dirname(host_path) or "/", MAY_WRITE | MAY_EXEC)


CAP_FSETID = 4


def own_new_file(cred: Cred, host_path: str) -> None:
    """A new file belongs to the creator's fs uid, and to its fs gid unless the directory is set-group-ID, whose
    group it then takes (inode_init_owner, as is a subdirectory's S_ISGID); a non-directory keeps S_ISGID only
    when its creator is in that group or has CAP_FSETID. The emulator's host identity is used only when they are
    the same."""
    try:
        st = os.lstat(host_path)
        parent = os.stat(os.path.dirname(host_path) or "/")
    except OSError:
        return
    gid = parent.st_gid if parent.st_mode & pystat.S_ISGID else cred.fsgid
    mode = pystat.S_IMODE(st.st_mode)
    is_dir = pystat.S_ISDIR(st.st_mode)
    if not is_dir and mode & pystat.S_ISGID and not cred.in_group(gid) and not cred.capable(CAP_FSETID):
        mode &= ~pystat.S_ISGID
    if (st.st_uid, st.st_gid) != (cred.fsuid, gid):
        try:
            os.lchown(host_path, cred.fsuid, gid)
        except OSError:
            return
    if not pystat.S_ISLNK(st.st_mode):
        try:
            if pystat.S_IMODE(os.lstat(host_path).st_mode) != mode:
                os.chmod(host_path, mode)  # chown cleared the set-ID bits; put back what the creation made
        except OSError:
            pass
