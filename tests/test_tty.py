"""An interactive shell on a terminal (kernel_model.tty): busybox sh under a pty gets its prompt, runs commands,
keeps job control (a background reader of the terminal is stopped by SIGTTIN) and exits with its status."""

import fcntl
import os
import select
import subprocess
import sys
import termios
import time

import pytest

from conftest import REPO

BUSYBOX = os.path.join(REPO, "tests", ".cache", "busybox", "root", "bin", "busybox")


class Pty:
    """The emulator on the slave side of a new pty, as its controlling terminal."""

    def __init__(self, argv, tmp):
        self.master, slave = os.openpty()

        def ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.p = subprocess.Popen([sys.executable, "-m", "emu", "run", "--clear-env", "--env", "PS1=prompt$ ",
                                   "--env", f"PATH={tmp}", *argv], stdin=slave, stdout=slave, stderr=slave,
                                  preexec_fn=ctty, cwd=tmp)
        os.close(slave)
        self.out = b""

    def expect(self, token: bytes, timeout=60) -> bool:
        end = time.time() + timeout
        while token not in self.out and time.time() < end:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    break
        return token in self.out

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")


def test_interactive_busybox_shell_on_a_pty(tmp_path):
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not fetched (tests/busybox.py fetches it)")
    for applet in ("sh", "cat", "sleep"):
        os.symlink(BUSYBOX, tmp_path / applet)
    t = Pty([BUSYBOX, "sh", "-i"], str(tmp_path))
    try:
        assert t.expect(b"prompt$ "), t.out
        t.send("echo hel''lo $((6*7))")
        assert t.expect(b"hello 42\r\n"), t.out  # the output, not the echoed command line
        t.send("cat & sleep 0.3; jobs; kill -9 %1; echo fin''ished")
        assert t.expect(b"finished\r\n"), t.out
        assert b"Stopped (tty input)" in t.out  # SIGTTIN: cat's group is not the terminal's foreground group
        # ^C: the host terminal signals the emulator, which hands SIGINT to the guest's foreground group
        t.send("sleep 30; echo not re''ached")
        time.sleep(1.5)
        start = time.time()
        os.write(t.master, b"\x03")
        assert t.expect(b"^C\r\nprompt$ ", timeout=20), t.out
        assert time.time() - start < 20 and b"not reached\r\n" not in t.out
        t.send("exit 3")
        assert t.p.wait(60) == 3
    finally:
        if t.p.poll() is None:
            t.p.kill()
        os.close(t.master)
