"""The controlling terminal's job control (drivers/tty/tty_jobctrl.c, tty_io.c), over the host terminal the
emulator was started on.

The guest's terminal is the host's (its line discipline, echo and termios settings are the host kernel's), but
which process group is in the foreground, and which session owns the terminal, are the model's: the first
process's session and group own it at the start. A process of a background group that reads the terminal gets
SIGTTIN, one that changes its settings or (with TOSTOP) writes to it gets SIGTTOU, as tty_check_change and
__tty_check_change decide; a signal it ignores or blocks makes the read EIO and lets the change or write through.
"""

from __future__ import annotations

import fcntl
import struct
import termios
from typing import TYPE_CHECKING

from .abi import SIG, E
from .files import KernelError
from .signal import ERESTARTSYS, sigmask
from .task import SIG_IGN

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCGWINSZ, TIOCSWINSZ = 0x540E, 0x540F, 0x5410, 0x5411, 0x5413, 0x5414
FIONREAD, TIOCNOTTY, TIOCGSID, FIONBIO = 0x541B, 0x5422, 0x5429, 0x5421
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TOSTOP = 0o400


class Tty:
    """The controlling terminal's session and foreground process group (struct tty_struct's session, pgrp)."""

    def __init__(self, sid: int, pgrp: int) -> None:
        self.sid = sid
        self.pgrp = pgrp


def _ignored_or_blocked(t: Task, sig: int) -> bool:
    return bool(t.blocked & sigmask(sig)) or t.sighand.handler(sig) == SIG_IGN


def _is_background(k: Kernel, t: Task) -> bool:
    tty = k.tty
    return tty is not None and t.signal.sid == tty.sid and t.signal.pgid != tty.pgrp


def _orphaned_pgrp(k: Kernel, pgid: int) -> bool:
    """No member has a parent in another group of the same session (is_current_pgrp_orphaned)."""
    for x in k.tasks.values():
        if x.group_leader is x and x.signal is not None and x.signal.pgid == pgid and x.is_alive():
            p = x.real_parent
            if p is not None and p.signal is not None and p.signal.pgid != pgid and p.signal.sid == x.signal.sid:
                return False
    return True


def tty_check_change(k: Kernel, t: Task, sig: int = SIG.SIGTTOU) -> None:
    """A background process may not change the terminal (or read it, sig SIGTTIN): its group gets sig and the
    call restarts after it is continued; EIO if the group is orphaned (or, for reads, if it ignores SIGTTIN)."""
    if not _is_background(k, t):
        return
    if _ignored_or_blocked(t, sig):
        if sig == SIG.SIGTTIN:
            raise KernelError(E.EIO)
        return
    if _orphaned_pgrp(k, t.signal.pgid):
        raise KernelError(E.EIO)
    k.kill_pgrp(t.signal.pgid, sig)
    raise KernelError(ERESTARTSYS)


def check_write(k: Kernel, t: Task, host_fd: int) -> None:
    """With TOSTOP set, a background writer gets SIGTTOU (tty_write's job_control check)."""
    if k.tty is None or not _is_background(k, t):
        return
    try:
        lflag = termios.tcgetattr(host_fd)[3]
    except termios.error:
        return
    if lflag & TOSTOP:
        tty_check_change(k, t, SIG.SIGTTOU)


def tty_ioctl(k: Kernel, t: Task, host_fd: int, cmd: int, arg: int) -> int:
    """The terminal ioctls: termios and window size pass to the host terminal, job control is the model's."""
    tty = k.tty
    if cmd == TCGETS:
        iflag, oflag, cflag, lflag, _is, _os, cc = termios.tcgetattr(host_fd)
        ccb = bytes(c if isinstance(c, int) else c[0] for c in cc)[:19].ljust(19, b"\0")
        k.put_bytes(t, arg, struct.pack("<IIIIB", iflag, oflag, cflag, lflag, 0) + ccb)
        return 0
    if cmd in (TCSETS, TCSETSW, TCSETSF):
        raw = k.get_bytes(t, arg, 36)
        tty_check_change(k, t)
        iflag, oflag, cflag, lflag, _line = struct.unpack_from("<IIIIB", raw)
        old = termios.tcgetattr(host_fd)
        cc = list(old[6])
        for i in range(min(len(cc), 19)):
            cc[i] = raw[17 + i] if isinstance(cc[i], int) else bytes([raw[17 + i]])
        when = {TCSETS: termios.TCSANOW, TCSETSW: termios.TCSADRAIN, TCSETSF: termios.TCSAFLUSH}[cmd]
        termios.tcsetattr(host_fd, when, [iflag, oflag, cflag, lflag, old[4], old[5], cc])
        return 0
    if cmd == TIOCGWINSZ:
        k.put_bytes(t, arg, fcntl.ioctl(host_fd, termios.TIOCGWINSZ, bytes(8)))
        return 0
    if cmd == TIOCSWINSZ:
        fcntl.ioctl(host_fd, termios.TIOCSWINSZ, k.get_bytes(t, arg, 8))
        return 0
    if cmd in (FIONREAD, TIOCOUTQ):
        k.put_bytes(t, arg, fcntl.ioctl(host_fd, cmd, bytes(4)))
        return 0
    if cmd == TIOCGPGRP:
        if tty is None or t.signal.sid != tty.sid:
            raise KernelError(E.ENOTTY)  # "not the controlling terminal of the caller"
        k.put_u32(t, arg, tty.pgrp)
        return 0
    if cmd == TIOCSPGRP:
        pgrp = struct.unpack("<i", k.get_bytes(t, arg, 4))[0]
        if tty is None or t.signal.sid != tty.sid:
            raise KernelError(E.ENOTTY)
        tty_check_change(k, t)
        if pgrp < 0:
            raise KernelError(E.EINVAL)
        if not any(x.signal is not None and x.signal.pgid == pgrp and x.is_alive() for x in k.tasks.values()):
            raise KernelError(E.ESRCH)
        if not any(x.signal is not None and x.signal.pgid == pgrp and x.signal.sid == tty.sid
                   for x in k.tasks.values()):
            raise KernelError(E.EPERM)
        tty.pgrp = pgrp
        return 0
    if cmd == TIOCGSID:
        if tty is None or t.signal.sid != tty.sid:
            raise KernelError(E.ENOTTY)
        k.put_u32(t, arg, tty.sid)
        return 0
    if cmd == TIOCSCTTY:
        leader = t.signal.sid == t.tgid
        if not leader or (tty is not None and tty.sid == t.signal.sid):
            if tty is not None and tty.sid == t.signal.sid:
                return 0
            raise KernelError(E.EPERM)
        if tty is not None and tty.sid != t.signal.sid and not arg:
            raise KernelError(E.EPERM)  # the terminal is another session's; stealing needs arg 1 and root
        k.tty = Tty(t.signal.sid, t.signal.pgid)
        return 0
    if cmd == TIOCNOTTY:
        if tty is None or t.signal.sid != tty.sid:
            raise KernelError(E.ENOTTY)
        if t.signal.sid == t.tgid:  # disassociate_ctty: the session leader gives it up, its fg group hangs up
            k.kill_pgrp(tty.pgrp, SIG.SIGHUP)
            k.kill_pgrp(tty.pgrp, SIG.SIGCONT)
            k.tty = None
        return 0
    if cmd in (TCSBRK, TCXONC, TCFLSH):
        fcntl.ioctl(host_fd, cmd, arg)
        return 0
    raise KernelError(E.ENOTTY)


# What a key on the host terminal sends to the foreground process group (the host kernel sends it to the
# emulator, which is the host terminal's foreground process): ^C, ^\, ^Z, and a window size change.
TERMINAL_SIGNALS = (SIG.SIGINT, SIG.SIGQUIT, SIG.SIGTSTP, SIG.SIGWINCH)


def forward_terminal_signal(k: Kernel, sig: int) -> None:
    """A terminal-generated signal reaches the guest's foreground process group, as isig() would send it."""
    if k.tty is not None:
        k.kill_pgrp(k.tty.pgrp, sig)
