"""emu trace against strace -f of the native run, --regs/--disasm, -e fault, and the --events JSONL schema."""

import json
import os
import re
import resource
import shutil
import subprocess
import sys

import pytest

from conftest import CPROGS_DIR, REPO
from kernel_model.kernel import FIRST_PID
from kernel_model.mm import FAULT_NAMES

STRACE = shutil.which("strace") or "/usr/bin/strace"
DATA = os.path.join(CPROGS_DIR, "data", "fileio_input.txt")

# ---- normalisation: minimal and explicit ------------------------------------------------------------------

HEX = re.compile(r"0x[0-9a-f]+")
PID_RESULT = re.compile(r"^(set_tid_address|getpid|gettid|getppid)\((.*)\) += \d+$")
GETRANDOM = re.compile(r'^getrandom\("[^"]*"')

# Lines that differ between the model and the host kernel for a real reason: (syscall, native text after
# normalisation, emulated text after normalisation, why). The test asserts these differences are exactly
# what they are, so any other difference fails.
KNOWN_DIFFERENCES = [
    ("rseq", "rseq(0xADDR, 0xADDR, 0, 0xADDR) = 0",
     "rseq(0xADDR, 0xADDR, 0, 0xADDR) = -1 ENOSYS (Function not implemented)",
     "the kernel model does not implement rseq (glibc carries on without it); the host kernel does"),
    ("set_thread_area", "(entry_number=12)", "(entry_number=6)",
     "a 64-bit host kernel gives 32-bit tasks GDT TLS slots 12..14; an i386 kernel (the model) uses 6..8"),
    ("statx", "stx_mask=STATX_BASIC_STATS|STATX_MNT_ID", "stx_mask=STATX_BASIC_STATS",
     "the host kernel (Linux >= 5.8) also reports STATX_MNT_ID; the model fills the basic stats only"),
]


def normalise(line: str) -> str:
    """Hex values to 0xADDR, pids to PID, getrandom's bytes (random natively, deterministic here) to ...;
    strace's padding before ` = ` collapsed."""
    line = re.sub(r"\s+= ", " = ", line.rstrip("\n"))
    line = HEX.sub("0xADDR", line)
    m = PID_RESULT.match(line)
    if m:
        line = f"{m.group(1)}({m.group(2)}) = PID"
    line = GETRANDOM.sub('getrandom("..."', line)
    return line


def native_trace(path, args, tmp_path):
    out = tmp_path / "native.strace"

    def limits():
        try:  # the model's default RLIMIT_STACK, so ugetrlimit shows the same values
            resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, resource.RLIM_INFINITY))
        except (ValueError, OSError):
            pass

    subprocess.run([STRACE, "-f", "-o", str(out), path, *args], env={}, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, check=False, preexec_fn=limits, timeout=120)
    lines = []
    for raw in out.read_text().splitlines():
        raw = re.sub(r"^\d+ +", "", raw)  # strace -f -o prefixes every line with the pid
        if raw.startswith("[ Process PID=") and "runs in 32 bit mode" in raw:
            continue  # strace's note that a 64-bit tracer sees a 32-bit tracee; not a syscall
        lines.append(raw)
    return lines


def emu_trace(path, args, tmp_path, *extra):
    out = tmp_path / "emu.strace"
    p = subprocess.run([sys.executable, "-m", "emu", "trace", "--clear-env", "-o", str(out), *extra, path, *args],
                       cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert out.exists(), p.stderr.decode()
    return [re.sub(r"^\d+ +", "", raw) for raw in out.read_text().splitlines()], p


@pytest.fixture(scope="module")
def strace_ok():
    if not os.path.exists(STRACE):
        pytest.fail("strace not found: apt-get install strace", pytrace=False)
    p = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"strace cannot trace here (ptrace not permitted?): {p.stderr.strip()}")
    return True


@pytest.mark.parametrize("name,args", [("hello", []), ("exitcode", []), ("malloc", []), ("fileio", [DATA])])
def test_trace_matches_native_strace(cprogs_build, strace_ok, tmp_path, name, args):
    path = os.path.join(cprogs_build, name)
    native = [normalise(x) for x in native_trace(path, args, tmp_path)]
    emu, _ = emu_trace(path, args, tmp_path)
    emu = [normalise(x) for x in emu]
    assert [x.split("(")[0] for x in emu] == [x.split("(")[0] for x in native], "syscall sequences differ"
    seen = set()
    for n, e in zip(native, emu, strict=True):
        if n == e:
            continue
        for sc, nat_text, emu_text, _why in KNOWN_DIFFERENCES:
            if e.startswith(sc + "(") and nat_text in n and emu_text in e and n.replace(nat_text, emu_text) == e:
                seen.add(sc)
                break
        else:
            pytest.fail(f"trace lines differ:\n  native: {n}\n  emu:    {e}")
    assert seen == {"rseq", "set_thread_area", "statx"} & {x.split("(")[0] for x in emu}


def test_regs_and_disasm_of_fork(asm_build, tmp_path):
    lines, p = emu_trace(os.path.join(asm_build, "fork_regs"), [], tmp_path, "--regs", "--disasm", "4")
    assert p.returncode == 0
    text = "\n".join(lines)
    entry = next(x for x in lines if "pt_regs at entry: fork" in x)
    assert "(orig_ax=0x2 = 2)" in entry and " orig_ax=0x00000002 " in entry
    fork_line = next(x for x in lines if x.startswith("fork()"))
    child_pid = int(fork_line.rsplit("= ", 1)[1])
    exit_regs = next(x for x in lines if "pt_regs at exit: fork" in x)
    assert f"returns eax={child_pid:#x} = {child_pid}" in exit_regs
    assert f" ax={child_pid:#010x} " in exit_regs
    child = next(x for x in lines if "pt_regs of the new child: returns from fork" in x)
    assert "with eax=0x0 = 0" in child and " ax=0x00000000 " in child
    # the 4 instructions before the int $0x80 of the fork: the register loads and movl $2, %eax
    i = lines.index(entry)
    dis = lines[i + 1:i + 6]
    assert all("--- disasm 0x" in x for x in dis), dis
    assert "movl $2, %eax" in dis[3] and "int $0x80" in dis[4]
    assert "movl $0xbebebeb, %ebp" in dis[2]
    assert "+++ exited with 3 +++" in text and "+++ exited with 0 +++" in text


def test_fault_trace_cow256(asm_build, tmp_path):
    lines, p = emu_trace(os.path.join(asm_build, "cow256"), [], tmp_path, "-e", "fault")
    assert p.returncode == 0
    pid_lines = [x for x in lines if "page fault cow_copy" in x]
    assert len(pid_lines) == 100
    # -o FILE: every line carries the pid; the child is the first pid plus one
    raw = (tmp_path / "emu.strace").read_text().splitlines()
    assert len([x for x in raw if x.startswith(f"{FIRST_PID + 1} ") and "page fault cow_copy" in x]) == 100
    assert all("at 0x" in x and "movb $2, 0x804b000(%ecx)" in x for x in pid_lines)
    assert len([x for x in raw if x.startswith(f"{FIRST_PID} ") and "page fault cow_reuse" in x]) == 100
    assert any(x.startswith("fork()") for x in lines)


def test_trace_filter_classes(cprogs_build, tmp_path):
    lines, _ = emu_trace(os.path.join(cprogs_build, "fileio"), [DATA], tmp_path, "-e", "trace=%file")
    names = {x.split("(")[0] for x in lines if "(" in x}
    assert names == {"execve", "readlink", "openat", "statx"}
    lines, _ = emu_trace(os.path.join(cprogs_build, "malloc"), [], tmp_path, "-e", "trace=%memory")
    assert {x.split("(")[0] for x in lines if "(" in x} == {"brk", "mprotect", "mmap2", "mremap", "munmap"}


# ---- --events JSONL -----------------------------------------------------------------------------------------

INT = int
COMMON = {"event": str, "pid": INT, "tgid": INT, "insns": INT, "cycle": INT}
REGS = "regs"
SCHEMA = {
    "syscall_enter": {"nr": INT, "name": str, "args": list, "regs": REGS},
    "syscall_block": {"nr": INT, "name": str, "wait_channel": str},
    "syscall_exit": {"nr": INT, "name": str, "result": INT, "regs": REGS},
    "clone": {"child": INT, "child_tgid": INT, "flags": INT, "flags_str": str, "kind": str, "child_regs": REGS},
    "exec": {"path": str},
    "exit": {"status": INT, "code": (INT, type(None)), "signal": (str, type(None)), "core": bool,
             "cycles_by_source": dict},
    "schedule_in": {"prev": (INT, type(None))},
    "schedule_out": {"next": INT, "state": str},
    "fault": {"kind": str, "vaddr": INT, "old_frame": (INT, type(None)), "new_frame": INT, "eip": INT},
    "vfork_sleep": {"child": INT},
    "vfork_wake": {"child": INT},
}
PT_REGS = ["bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs", "orig_ax", "ip", "cs", "flags", "sp",
           "ss"]
FAULT_KINDS = set(FAULT_NAMES)  # every kind the model counts (page-cache pages mapped again are "shared")


def check_event(obj):
    """Validate one --events object against the schema in README.md (Tracing); return its event name."""
    assert isinstance(obj, dict)
    ev = obj.get("event")
    assert ev in SCHEMA, f"unknown event {ev!r}"
    fields = dict(COMMON, **SCHEMA[ev])
    assert set(obj) == set(fields), f"{ev}: fields {sorted(obj)} != {sorted(fields)}"
    for key, typ in fields.items():
        v = obj[key]
        if typ == REGS:
            assert isinstance(v, dict) and list(v) == PT_REGS, f"{ev}.{key}: not a pt_regs object"
            assert all(isinstance(r, int) and not isinstance(r, bool) and 0 <= r < 1 << 32 for r in v.values())
        else:
            assert isinstance(v, typ), f"{ev}.{key}={v!r} is not {typ}"
            if typ is INT:
                assert not isinstance(v, bool)
    assert obj["pid"] > 0 and obj["insns"] >= 0 and obj["cycle"] >= 0
    if ev == "syscall_enter":
        assert len(obj["args"]) == 6 and all(isinstance(a, int) for a in obj["args"])
        assert obj["regs"]["orig_ax"] == obj["nr"]
    if ev == "fault":
        assert obj["kind"] in FAULT_KINDS
    return ev


@pytest.mark.parametrize("cmd", ["run", "trace"])
def test_events_jsonl_schema(asm_build, tmp_path, cmd):
    ev_file = tmp_path / "ev.jsonl"
    extra = ["-o", str(tmp_path / "t.txt")] if cmd == "trace" else []
    p = subprocess.run([sys.executable, "-m", "emu", cmd, "--clear-env", "--events", str(ev_file), *extra,
                        os.path.join(asm_build, "cow256")], cwd=REPO, capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    kinds = {}
    last_insns: dict[int, int] = {}
    for raw in ev_file.read_text().splitlines():
        obj = json.loads(raw)
        ev = check_event(obj)
        kinds[ev] = kinds.get(ev, 0) + 1
        if ev == "fault":
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        assert obj["insns"] >= last_insns.get(obj["pid"], 0), "a task's instruction count went backwards"
        last_insns[obj["pid"]] = obj["insns"]
    assert kinds["clone"] == 1 and kinds["exit"] == 2
    assert kinds["cow_copy"] == 100 and kinds["cow_reuse"] == 100 and kinds["zero_fill"] >= 256
    assert kinds["syscall_enter"] == kinds["syscall_exit"]
    assert kinds["schedule_in"] >= 3 and kinds["syscall_block"] >= 1


def test_events_vfork(asm_build, tmp_path):
    ev_file = tmp_path / "ev.jsonl"
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--clear-env", "--events", str(ev_file),
                        os.path.join(asm_build, "vfork_order")], cwd=REPO, capture_output=True, timeout=300)
    assert p.returncode == 0
    evs = [json.loads(x) for x in ev_file.read_text().splitlines()]
    assert all(check_event(e) for e in evs)
    names = [e["event"] for e in evs]
    assert "vfork_sleep" in names and "vfork_wake" in names and "exec" in names
    clone = next(e for e in evs if e["event"] == "clone")
    assert clone["flags_str"] == "CLONE_VM|CLONE_VFORK|SIGCHLD" and clone["kind"] == "vfork"


def test_signal_lines_match_native_strace(cprogs_build, strace_ok, tmp_path):
    # Every --- SIGxxx {siginfo} --- line of a program that kills, faults, raises, alarms and reaps children,
    # in order, as strace -f prints them for the native run (pids normalised).
    prog = os.path.join(cprogs_build, "signals")

    def signal_lines(lines):
        return [re.sub(r"si_pid=\d+", "si_pid=PID", x) for x in lines if x.startswith("--- SIG")]

    native = signal_lines(native_trace(prog, [], tmp_path))
    emulated = signal_lines(emu_trace(prog, [], tmp_path)[0])
    assert len(native) >= 8
    assert emulated == native


def test_syscall_decoding_matches_native_strace(cprogs_build, strace_ok, tmp_path):
    # One direct call of each decoded syscall form (file attributes, links, renames, sendfile offsets, prctl,
    # getdents64, pipes, poll/ppoll/select/pselect6 with their results, old and new signal calls, timers,
    # sigreturn's frame mask), each run in an empty directory at the same path: every line as strace prints it.
    prog = os.path.join(cprogs_build, "syscall_decode")
    work = tmp_path / "work"

    def fresh():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

    fresh()
    out = tmp_path / "native.strace"
    subprocess.run([STRACE, "-f", "-o", str(out), prog], env={}, cwd=work, stdout=subprocess.PIPE, timeout=120)
    native = [normalise(re.sub(r"^\d+ +", "", x)) for x in out.read_text().splitlines()
              if "runs in 32 bit mode" not in x]
    fresh()
    eout = tmp_path / "emu.strace"
    subprocess.run([sys.executable, "-m", "emu", "trace", "--clear-env", "-o", str(eout), prog], cwd=work,
                   env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE, timeout=300)
    emu = [normalise(re.sub(r"^\d+ +", "", x)) for x in eout.read_text().splitlines()]
    assert [x.split("(")[0] for x in emu] == [x.split("(")[0] for x in native], "syscall sequences differ"
    model_differences = {  # the model's state differs from the host kernel's, not the decoding
        "execve": r"/\* \d+ vars \*/",  # the native run's environment is empty, the guest gets --clear-env's
        "getitimer": r"tv_usec=\d+}}\)",  # native time passed between setitimer and getitimer
        "statfs64": r"f_(bfree|bavail|ffree)=\d+",  # the host file system's free space changed between runs
    }
    for n, e in zip(native, emu, strict=True):
        if n == e:
            continue
        name = e.split("(")[0]
        if name in model_differences and re.sub(model_differences[name], "X", n) == re.sub(
                model_differences[name], "X", e):
            continue
        if any(e.startswith(sc + "(") and nat in n and emu_text in e and n.replace(nat, emu_text) == e
               for sc, nat, emu_text, _ in KNOWN_DIFFERENCES):
            continue
        pytest.fail(f"trace lines differ:\n  native: {n}\n  emu:    {e}")


@pytest.mark.parametrize("cls", ["%desc", "%signal", "%process", "%clock", "%creds", "%pure", "%%stat", "%fstat"])
def test_trace_classes_select_what_strace_selects(cprogs_build, strace_ok, tmp_path, cls):
    # The classes come from the signatures; strace's own selection on the native run is the reference.
    prog = os.path.join(cprogs_build, "syscall_decode")
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "native.strace"
    subprocess.run([STRACE, "-f", "-o", str(out), "-e", f"trace={cls}", prog], env={}, cwd=work,
                   stdout=subprocess.PIPE, timeout=120)
    native = {re.sub(r"^\d+ +", "", x).split("(")[0] for x in out.read_text().splitlines() if "(" in x}
    shutil.rmtree(work)
    work.mkdir()
    eout = tmp_path / "emu.strace"
    subprocess.run([sys.executable, "-m", "emu", "trace", "--clear-env", "-o", str(eout), "-e", f"trace={cls}", prog],
                   cwd=work, env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE, timeout=300)
    emu = {re.sub(r"^\d+ +", "", x).split("(")[0] for x in eout.read_text().splitlines() if "(" in x}
    native.discard("[ Process PID=")
    assert emu == native
