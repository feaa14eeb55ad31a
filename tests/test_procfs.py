"""The guest's /proc and /dev come from the model (kernel_model.procfs): a guest sees itself, and never the host's
processes, the emulator's memory or a path out of its root."""

import os
import subprocess
import sys

import pytest

from conftest import REPO

BUSYBOX = os.path.join(REPO, "tests", ".cache", "busybox", "root", "bin", "busybox")


def emu(*args, cwd="/tmp", env=None):
    cmd = [sys.executable, "-m", "emu", "run", "--clear-env", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def test_guest_cannot_reach_host_processes_or_emulator_memory(cprogs_build):
    prog = os.path.join(cprogs_build, "procfs_escape")
    # exec: the shell's pid becomes the emulator's, so the guest probes /proc/<the emulator's host pid>
    r = subprocess.run(["sh", "-c", f'exec "{sys.executable}" -m emu run "{prog}" $$'], capture_output=True,
                       text=True, timeout=120, cwd="/tmp")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "mem read own: 64 guest memory"
    assert lines[1] == "mem write own: 16 now written via mem"
    assert lines[2] == "mem read unmapped: -1 Input/output error"
    assert lines[4] == "init mem: No such file or directory"
    host_pid_lines = [x for x in lines if x.startswith("host pid")]
    # the emulator's host pid is not a guest pid here unless it happens to equal one (1000 and up): then what
    # shows is that guest process, never the emulator
    assert all("No such file" in x or "Name:" in x for x in host_pid_lines), host_pid_lines
    assert not any("python" in x or "emu" in x.split(":")[-1] for x in host_pid_lines), host_pid_lines
    assert "root/.. is /: 1 1" in lines
    assert "fd entries: 4, not the guest's: 0" in lines
    assert "maps: own 1, unicorn 0, python 0, 64-bit addresses 0" in lines
    assert lines[-1] == "status: Name:\tprocfs_escape"


def _bb(*argv):
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not fetched (tests/busybox.py fetches it)")
    return emu(BUSYBOX, *argv)


def test_proc_self_fd_of_a_pipe_opens_the_pipe():
    r = _bb("sh", "-c", f"echo through-fd | {BUSYBOX} cat /dev/fd/0; echo again | {BUSYBOX} cat /proc/self/fd/0")
    assert r.stdout == "through-fd\nagain\n", r.stderr


def test_stat_and_diff_through_dev_stdin_of_a_pipe(tmp_path):
    (tmp_path / "same").write_text("line\n")
    r = _bb("sh", "-c", f"echo line | {BUSYBOX} diff /dev/stdin {tmp_path}/same && echo equal;"
            f" echo x | {BUSYBOX} stat -L -c %F /dev/stdin")
    assert r.stdout == "equal\nfifo\n", r.stdout + r.stderr


def test_proc_writable_files_change_the_model():
    r = _bb("sh", "-c", "echo 500 > /proc/self/oom_score_adj; read a < /proc/self/oom_score_adj; echo $a;"
            " echo renamed > /proc/self/comm; read c < /proc/$$/comm; echo $c;"
            " echo 5000 > /proc/self/oom_score_adj || echo refused")
    assert r.stdout.split() == ["500", "renamed", "refused"], r.stderr


def test_proc_pid_files_describe_the_guest():
    r = _bb("sh", "-c", "cat /proc/self/limits; ls /proc/self/ns; readlink /proc/self/exe; cat /proc/self/mountinfo")
    out = r.stdout
    assert "Max core file size        0                    unlimited            bytes" in out
    assert "Max open files            1024                 1048576              files" in out
    for ns in ("ipc", "mnt", "net", "pid", "user", "uts"):
        assert f"\n{ns}\n" in out
    assert BUSYBOX in out
    assert "/ /proc rw,nosuid,nodev,noexec,relatime" in out
    r = _bb("od", "-An", "-tx4", "-N16", "/proc/self/auxv")
    # ARCH_DLINFO first, as on Linux: AT_SYSINFO (__kernel_vsyscall), AT_SYSINFO_EHDR (the vDSO's image)
    assert r.stdout.split() == ["00000020", "ffffd220", "00000021", "ffffd000"]


def test_unknown_proc_paths_are_enoent():
    r = _bb("sh", "-c", "cat /proc/self/kpagecount /proc/kcore /proc/1/mem /proc/sys/kernel/nonexistent 2>&1 | wc -l;"
            " ls /proc/self/kpagecount 2>&1")
    assert r.stdout.splitlines()[0].strip() == "4"
    assert "No such file" in r.stdout


def test_busybox_tools_show_the_model():
    r = _bb("sh", "-c", f"{BUSYBOX} sleep 5 & {BUSYBOX} ps -o pid,ppid,comm; kill $!")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[0] == ["PID", "PPID", "COMMAND"]
    assert ["1000", "999", "busybox"] in rows[1:]  # the first process, whose parent is the shell that started it
    assert all(int(row[0]) >= 1000 for row in rows[1:]), rows  # guest processes only, never the host's
    r = emu("--mem", "64M", BUSYBOX, "free")
    mem = r.stdout.splitlines()[1].split()
    assert mem[0] == "Mem:" and mem[1] == str(64 * 1024), r.stdout  # the frame pool, in KiB
    top = emu(BUSYBOX, "top", "-bn1").stdout
    assert "Load average: 0.00 0.00 0.00 1/1 1000" in top and "busybox top -bn1" in top
    assert "up" in emu(BUSYBOX, "uptime").stdout
    assert emu(BUSYBOX, "nproc").stdout == "1\n"  # the model's one CPU
    native_id = subprocess.run([BUSYBOX, "id"], capture_output=True, text=True).stdout
    assert emu(BUSYBOX, "id").stdout == native_id
