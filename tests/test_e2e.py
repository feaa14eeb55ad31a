"""End-to-end tests: guest programs run under `python -m emu run` must match a native run.

The machine executes i386 code natively, so a native run of each static program is the
oracle: stdout bytes and exit status must be identical.  Both sides get an empty guest
environment (native: env={}; emulator: --clear-env, while the emulator process itself keeps
the normal environment so Python can start).
"""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ASM_BUILD, ASM_DIR, CPROGS_BUILD, CPROGS_DIR, REPO, load_native

TIMEOUT = 120
native = load_native()


def _asm_progs():
    """PROGS from guest_asm/Makefile (continuation lines joined)."""
    with open(os.path.join(ASM_DIR, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^PROGS\s*:?=\s*(.*)$", text, re.M)
    assert m, "no PROGS line in guest_asm/Makefile"
    return m.group(1).split()


ASM_PROGS = _asm_progs()

# (id, program name, args, extra guest env, cwd)
C_CASES = [
    ("hello", "hello", [], {}, REPO),
    ("exitcode", "exitcode", [], {}, REPO),
    ("malloc", "malloc", [], {}, REPO),
    ("args_env", "args_env", ["one", "two words", ""], {"EMU_TEST_VAR": "hello world=1"}, REPO),
    ("fileio", "fileio", ["data/fileio_input.txt"], {}, CPROGS_DIR),
    ("fork_cow", "fork_cow", [], {}, REPO),
    ("vfork_exec", "vfork_exec", [], {}, REPO),
    ("fork_tree", "fork_tree", [], {}, REPO),
    ("pthreads", "pthreads", [], {}, REPO),
    ("raw_clone", "raw_clone", [], {}, REPO),
    ("fork_exit_loop", "fork_exit_loop", [], {}, REPO),
    ("raw_clone_signals", "raw_clone", ["signals"], {}, REPO),
    ("signals", "signals", [], {}, REPO),
    ("sigchld_pipe", "sigchld_pipe", [], {}, REPO),
    ("stopcont", "stopcont", [], {}, REPO),
    ("thread_exec", "thread_exec", [], {}, REPO),
    ("fpsig", "fpsig", [], {}, REPO),
    ("pollselect", "pollselect", [], {}, REPO),
    ("nx", "nx", [], {}, REPO),
    ("fpu_init", "fpu_init", [], {}, REPO),
    ("fpu_init_sse", "fpu_init_sse", [], {}, REPO),
    ("shared_mappings", "shared_mappings", [], {}, "/tmp"),
    ("sysv_ipc", "sysv_ipc", [], {}, REPO),
    ("fpstate_edit", "fpstate_edit", [], {}, REPO),
    ("no_restorer", "no_restorer", [], {}, REPO),
    ("guard_regions", "guard_regions", [], {}, REPO),
    ("getrusage_times", "getrusage_times", [], {}, REPO),
    ("clocks", "clocks", [], {}, REPO),
    ("waitsig", "waitsig", [], {}, REPO),
    ("reaper", "reaper", [], {}, REPO),
    ("pagemap", "pagemap", [], {}, REPO),
    ("fifo", "fifo", [], {}, REPO),
    ("locks", "locks", [], {}, REPO),
    ("creds", "creds", [], {}, "/tmp"),
    ("ldt", "ldt", [], {}, REPO),
    ("sched_prio", "sched_prio", [], {}, REPO),
    ("flock_falloc", "flock_falloc", [], {}, REPO),
    ("eventfds", "eventfds", [], {}, REPO),
    ("signalfd", "signalfd", [], {}, REPO),
    ("sockets", "sockets", [], {}, REPO),
    ("sigio_lease", "sigio_lease", [], {}, REPO),
    ("cputimers", "cputimers", [], {}, REPO),
    ("inotify", "inotify", [], {}, REPO),
    ("prctl_more", "prctl_more", [], {}, REPO),
    ("pidfd", "pidfd", [], {}, REPO),
    ("dynamic", "dynamic", [], {}, REPO),
]

# Programs whose native run changes the host (a /proc/sys write): run only under the emulator, compared with
# the output of a native run recorded once (after which the host's setting was restored).
MODEL_ONLY = [
    ("sysctl_write", "1 0\n1 0\n1 0\n0 28\nmsgmni 3\nbad write close -1 errno 22\n"),
]
C_BY_ID = {c[0]: c for c in C_CASES}
# Programs whose timers must keep pace with the guest's own progress: on the host's clock a 200 us interval
# timer fires after every emulated slice (the emulator is slower than the host), and the handler is all that runs.
VIRTUAL_TIME = {"fpsig"}

ASM_EXTRA = [("vfork_order_exec", "vfork_order", ["exec"])]


def run_emu(prog, args=(), env=None, cwd=REPO, options=(), timeout=TIMEOUT):
    """Run PROG under `python -m emu run --clear-env`; returns the CompletedProcess (bytes)."""
    cmd = [sys.executable, "-m", "emu", "run", "--clear-env"]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    cmd += list(options)
    cmd += [prog, *args]
    return subprocess.run(cmd, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=cwd, timeout=timeout)


def run_native_in(prog, args=(), env=None, cwd=REPO):
    """Native run with an empty (or the given) environment, in cwd: (stdout, status 128+N on signal)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return native.run_native(prog, list(args), env=dict(env or {}), timeout=TIMEOUT)
    finally:
        os.chdir(old)


def _first_diff(a: bytes, b: bytes) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else b"<missing>"
        y = lb[i] if i < len(lb) else b"<missing>"
        if x != y:
            return f"line {i + 1}: native {x!r} vs emu {y!r}"
    return "(same lines; trailing newline differs)"


def compare(prog, args=(), env=None, cwd=REPO, options=()):
    """Assert the emulator run equals the native run (stdout bytes and exit status)."""
    want_out, want_rc = run_native_in(prog, args, env, cwd)
    p = run_emu(prog, args, env, cwd, options)
    err = p.stderr.decode(errors="replace")
    assert p.stdout == want_out, (f"stdout differs: {_first_diff(want_out, p.stdout)}\n"
                                  f"native:\n{want_out.decode(errors='replace')}\n"
                                  f"emu:\n{p.stdout.decode(errors='replace')}\nemu stderr:\n{err}")
    assert p.returncode == want_rc, f"exit status: native {want_rc}, emu {p.returncode}\nemu stderr:\n{err}"
    assert "Traceback" not in err, err


# ---------------------------------------------------------------- native vs emulator

@pytest.mark.parametrize("name", ASM_PROGS)
def test_asm_matches_native(asm_build, name):
    compare(os.path.join(asm_build, name))


@pytest.mark.parametrize(("name", "args"), [(c[1], c[2]) for c in ASM_EXTRA], ids=[c[0] for c in ASM_EXTRA])
def test_asm_args_matches_native(asm_build, name, args):
    compare(os.path.join(asm_build, name), args)


@pytest.mark.parametrize(("name", "want"), MODEL_ONLY, ids=[c[0] for c in MODEL_ONLY])
def test_c_model_only(cprogs_build, name, want):
    p = run_emu(os.path.join(cprogs_build, name))
    assert p.stdout.decode() == want and p.returncode == 0, p.stderr.decode()


@pytest.mark.parametrize("case", C_CASES, ids=[c[0] for c in C_CASES])
def test_c_matches_native(cprogs_build, case):
    cid, name, args, env, cwd = case
    compare(os.path.join(cprogs_build, name), args, env, cwd,
            options=["--virtual-time"] if cid in VIRTUAL_TIME else [])


QUANTUM_ASM = ["fork_regs", "vfork_order", "clone_stack", "cow", "cow256", "clone_thread"]
QUANTUM_C = ["fork_cow", "vfork_exec", "fork_tree", "raw_clone", "fork_exit_loop", "args_env", "signals",
             "sigchld_pipe", "stopcont", "thread_exec", "pollselect"]
# pthreads takes ~80 s at --quantum 37 (near the timeout), so only the 1000 slice runs it.
QUANTUM_CASES = ([(q, "asm", n) for q in (1000, 37) for n in QUANTUM_ASM]
                 + [(q, "c", n) for q in (1000, 37) for n in QUANTUM_C]
                 + [(1000, "c", "pthreads")])


@pytest.mark.parametrize(("quantum", "kind", "name"), QUANTUM_CASES,
                         ids=[f"{n}-q{q}" for q, _, n in QUANTUM_CASES])
def test_small_quantum_matches_native(request, quantum, kind, name):
    opts = ["--quantum", str(quantum)]
    if kind == "asm":
        request.getfixturevalue("asm_build")
        compare(os.path.join(ASM_BUILD, name), options=opts)
    else:
        request.getfixturevalue("cprogs_build")
        _, prog, args, env, cwd = C_BY_ID[name]
        compare(os.path.join(CPROGS_BUILD, prog), args, env, cwd, options=opts)


# ---------------------------------------------------------------- statistics

def _stats_json(tmp_path, prog, args=(), options=(), name="stats.json"):
    out = tmp_path / name
    p = run_emu(prog, args, options=["--stats-json", str(out), *options])
    assert "Traceback" not in p.stderr.decode(errors="replace"), p.stderr.decode(errors="replace")
    assert out.exists(), f"--stats-json wrote nothing; stderr:\n{p.stderr.decode(errors='replace')}"
    return p, out


def test_cow256_fault_accounting(asm_build, tmp_path):
    p, out = _stats_json(tmp_path, os.path.join(asm_build, "cow256"))
    assert p.returncode == 0, p.stdout + p.stderr
    st = json.loads(out.read_text())
    by_kind = {}
    for t in st["tasks"]:
        by_kind.setdefault(t["kind"], []).append(t)
    assert len(by_kind.get("first", [])) == 1 and len(by_kind.get("fork", [])) == 1, st["tasks"]
    parent, child = by_kind["first"][0], by_kind["fork"][0]
    figures = {"parent": parent["faults"], "child": child["faults"]}
    assert (child["faults"]["cow_copy"], child["faults"]["cow_reuse"]) == (100, 0), figures
    assert (parent["faults"]["cow_reuse"], parent["faults"]["cow_copy"]) == (100, 0), figures


@pytest.mark.parametrize("name", ["pthreads", "fork_tree"])
def test_deterministic(cprogs_build, tmp_path, name):
    prog = os.path.join(cprogs_build, name)
    p1, j1 = _stats_json(tmp_path, prog, name="run1.json")
    p2, j2 = _stats_json(tmp_path, prog, name="run2.json")
    assert p1.stdout == p2.stdout, _first_diff(p1.stdout, p2.stdout)
    assert p1.returncode == p2.returncode
    # "host" holds the figures that depend on the host (Unicorn's TLB misses: QEMU resizes its TLB on the host clock)
    a, b = (json.dumps({k: v for k, v in json.loads(j.read_text()).items() if k != "host"}, indent=1, sort_keys=True)
            for j in (j1, j2))
    if a != b:
        diff = [f"{x!r} != {y!r}" for x, y in zip(a.splitlines(), b.splitlines(), strict=False) if x != y]
        pytest.fail("stats JSON differs between two runs: " + "; ".join(diff[:5]))


def test_stats_summary_fork_regs(asm_build):
    p = run_emu(os.path.join(asm_build, "fork_regs"), options=["--stats"])
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, err
    assert "fork 1" in err, err
    assert "Traceback" not in err, err


# ---------------------------------------------------------------- bad input and guest faults

def _assert_one_emu_line(p):
    err = p.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emu: "), repr(err)
    assert p.returncode == 1, (p.returncode, err)


@pytest.mark.parametrize("kind", ["x86_64_elf", "text_file", "missing"])
def test_bad_program(tmp_path, kind):
    if kind == "x86_64_elf":
        prog = "/bin/ls"
    elif kind == "text_file":
        readme = os.path.join(REPO, "README.md")
        if os.path.exists(readme):
            prog = readme
        else:
            prog = str(tmp_path / "notes.txt")
            with open(prog, "w") as f:
                f.write("this is not an ELF file\n" * 10)
    else:
        prog = str(tmp_path / "does-not-exist")
    _assert_one_emu_line(run_emu(prog))


def test_guest_sigsegv(toolchain, tmp_path):
    src = tmp_path / "segv.c"
    src.write_text("int main(){ *(volatile int*)0 = 1; return 0; }\n")
    prog = str(tmp_path / "segv")
    subprocess.run(["gcc", "-m32", "-static", "-o", prog, str(src)], check=True)
    want_out, want_rc = run_native_in(prog)
    assert want_rc == 139
    p = run_emu(prog)
    err = p.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    assert p.stdout == want_out
    assert p.returncode == 139, (p.returncode, err)
    emu_lines = [ln for ln in err.splitlines() if ln.startswith("emu:")]
    assert len(emu_lines) == 1, repr(err)
    assert "0x00000000" in emu_lines[0], emu_lines[0]
