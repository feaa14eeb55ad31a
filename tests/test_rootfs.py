"""Dynamically linked programs of a real Debian i386 root, built with `emu rootfs`, against `chroot` natively.

The root (minbase plus gawk and python3) is built once into tests/.cache/i386root with mmdebstrap or
debootstrap; without either tool, or without root privileges for chroot, or when the Debian archive cannot be
reached, the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, ".cache", "i386root")
TIMEOUT = 300
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"

PY_SCRIPT = """\
import os, sys, threading, subprocess, multiprocessing
def sq(x):
    return x * x
if __name__ == "__main__":
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b"from the child")
        os._exit(7)
    os.close(w)
    data = os.read(r, 100)
    _, st = os.waitpid(pid, 0)
    print("pipe:", data.decode(), "status", os.WEXITSTATUS(st))
    out = []
    ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print("threads:", sorted(out))
    print("subprocess:", subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout.strip())
    with multiprocessing.Pool(2) as p:
        print("pool:", p.map(sq, range(6)))
"""

CASES = [
    ("ls", ["/bin/ls", "-la", "/etc/apt", "/usr/lib/os-release"]),
    ("dash", ["/bin/sh", "-c", "x=$(echo sub); echo $x; for i in 1 2 3; do echo $i; done | tac; exit 3"]),
    ("bash", ["/bin/bash", "-c", "declare -A m=([a]=1 [b]=2); echo ${#m[@]} ${m[b]}; echo $(( 6 * 7 ))"]),
    ("coreutils", ["/bin/sh", "-c", "sort /etc/passwd | head -3 | cut -d: -f1; md5sum /etc/passwd | cut -c1-8; "
                   "seq 5 | paste -sd+; date -u -d @0 +%F"]),
    ("grep_sed", ["/bin/sh", "-c", "grep -c root /etc/passwd; sed -n '1s/:.*//p' /etc/passwd"]),
    ("gawk", ["/usr/bin/gawk", "-F:", "{n++} END {print n > 0, NF}", "/etc/passwd"]),
    ("findutils", ["/usr/bin/find", "/etc/apt", "-maxdepth", "1", "-name", "*.d"]),
    ("tar_gzip", ["/bin/sh", "-c", "cd /tmp && echo data > tg.txt && tar czf - tg.txt | tar tzvf - | cut -c1-10; "
                  "rm tg.txt"]),
    ("diffutils", ["/bin/sh", "-c", "printf 'a\\nb\\n' > /tmp/d1; printf 'a\\nc\\n' > /tmp/d2; diff /tmp/d1 /tmp/d2; "
                   "echo status $?; rm /tmp/d1 /tmp/d2"]),
    ("python3", ["/usr/bin/python3", "/tmp/emu-test.py"]),
]


@pytest.fixture(scope="module")
def root():
    if os.geteuid() != 0:
        pytest.skip("chroot (the native oracle) needs root")
    if not os.path.isfile(os.path.join(ROOT, "usr", "bin", "python3")):
        if not (shutil.which("mmdebstrap") or shutil.which("debootstrap")):
            pytest.skip("neither mmdebstrap nor debootstrap is installed (apt-get install -y mmdebstrap)")
        shutil.rmtree(ROOT, ignore_errors=True)
        r = subprocess.run([sys.executable, "-m", "emu", "rootfs", ROOT, "--include", "gawk,python3"],
                           capture_output=True, text=True, timeout=1200)
        if r.returncode != 0:
            shutil.rmtree(ROOT, ignore_errors=True)
            pytest.skip(f"emu rootfs could not build the root: {r.stderr.strip().splitlines()[-1:]}")
    with open(os.path.join(ROOT, "tmp", "emu-test.py"), "w") as f:
        f.write(PY_SCRIPT)
    return ROOT


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_debian_program_matches_chroot(root, argv):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"}
    native = subprocess.run([CHROOT, root] + argv, capture_output=True, env=env, timeout=TIMEOUT)
    emulated = subprocess.run([sys.executable, "-m", "emu", "run", "--clear-env", "--env", "PATH=" + env["PATH"],
                               "--env", "LANG=C", "--root", root] + argv, capture_output=True, timeout=TIMEOUT,
                              cwd="/")
    assert (emulated.stdout, emulated.returncode) == (native.stdout, native.returncode), (
        f"native:\n{native.stdout.decode()}\nemulated:\n{emulated.stdout.decode()}\n"
        f"emulator stderr:\n{emulated.stderr.decode()}")


def test_prog_without_a_slash_is_found_on_the_guest_path(root):
    r = subprocess.run([sys.executable, "-m", "emu", "run", "--clear-env", "--env", "PATH=/usr/bin:/bin",
                        "--root", root, "echo", "found"], capture_output=True, text=True, timeout=TIMEOUT)
    assert (r.stdout, r.returncode) == ("found\n", 0), r.stderr
