"""Limits and bad input end cleanly: --max-tasks, --max-insns, --mem exhaustion, --root confinement."""

import os
import subprocess
import sys

import pytest

FORK_BOMB = r"""
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int made = 0, eagain = 0;
    for (int i = 0; i < 100; i++) {
        pid_t p = fork();
        if (p == 0) { pause(); _exit(0); }
        if (p < 0) { eagain += errno == EAGAIN; break; }
        made++;
    }
    printf("made %d children, then EAGAIN %d\n", made, eagain);
    return 0;
}
"""

MEM_HOG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
int main(void) {
    size_t n = 64u << 20;
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { puts("mmap failed"); return 1; }
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    puts("touched everything");
    return 0;
}
"""


def build(tmp_path, name, src):
    c = tmp_path / f"{name}.c"
    c.write_text(src)
    out = tmp_path / name
    subprocess.run(["gcc", "-m32", "-static", "-O1", "-o", str(out), str(c)], check=True)
    return str(out)


def emu(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "emu", "run", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_fork_beyond_max_tasks_fails_with_eagain_and_the_run_ends(tmp_path, toolchain):
    prog = build(tmp_path, "bomb", FORK_BOMB)
    r = emu("--max-tasks", "8", "--max-insns", "50000000", prog)
    assert "made 7 children, then EAGAIN 1" in r.stdout
    assert "Traceback" not in r.stderr


def test_max_insns_stops_an_endless_guest_with_a_message(asm_build, tmp_path):
    src = tmp_path / "loop.s"
    src.write_text(".globl _start\n_start: jmp _start\n")
    subprocess.run(["as", "--32", "-o", str(tmp_path / "loop.o"), str(src)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-o", str(tmp_path / "loop"), str(tmp_path / "loop.o")], check=True)
    r = emu("--max-insns", "100000", str(tmp_path / "loop"))
    assert r.returncode == 137
    msg = r.stderr.strip()
    assert msg.startswith("emu: instruction limit of 100000 reached at eip 0x") and msg.endswith(
        "; every task is killed"), msg


def test_exhausted_frame_pool_kills_the_faulting_task_not_the_emulator(tmp_path, toolchain):
    prog = build(tmp_path, "hog", MEM_HOG)
    r = emu("--mem", "16M", prog)
    assert r.returncode == 128 + 9
    assert "out of memory during a page fault" in r.stderr and "Traceback" not in r.stderr
    assert emu("--mem", "256M", prog).stdout == "touched everything\n"


@pytest.mark.parametrize("path", ["/etc/hostname", "/../../etc/hostname", "/link/hostname"])
def test_guest_paths_never_escape_the_root(tmp_path, cprogs_build, path):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    os.symlink("/etc", root / "link")
    (root / "etc" / "hostname").write_text("inside-the-root\n")
    prog = root / "bin" / "fileio"
    prog.write_bytes(open(os.path.join(cprogs_build, "fileio"), "rb").read())
    prog.chmod(0o755)
    r = emu("--root", str(root), "/bin/fileio", path)
    assert "size 16 " in r.stdout, r.stdout + r.stderr


def test_missing_root_is_one_line_and_exit_1(asm_build):
    r = emu("--root", "/no/such/dir", os.path.join(asm_build, "hello"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and r.stderr.startswith("emu: --root")
