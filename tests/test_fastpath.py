"""The native fast path (emu/_fastpath.c) against the Python path it stands in for.

The Python hooks are the reference: every end-to-end program (guest_asm, tests/cprogs, the busybox scripts) runs
on each path under `emu trace`, and the guest's output, exit status, emulator messages, the trace, the --events
stream and the --stats-json figures must be identical. Only the statistics' "host" entry may differ: which path
ran, and the misses of Unicorn's TLB, which QEMU resizes on the host's clock. Runs use --virtual-time, so that
nothing in them depends on the host's clock but the times of the files a guest creates on the host, which are masked
where a guest reads them back.

Each program runs twice on each path: tracing syscalls only, where the native path counts instructions with its
block hook (the Python path with Unicorn's count= mode), and tracing faults too with --events, where every fault's
eip and instruction count is reported and both paths count with count= mode.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ASM_BUILD, CPROGS_BUILD, REPO
from test_e2e import ASM_EXTRA, ASM_PROGS, C_CASES, MODEL_ONLY, QUANTUM_CASES

from emu import fastpath

_spec = importlib.util.spec_from_file_location("busybox_helper_fp", os.path.join(REPO, "tests", "busybox.py"))
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)

TIMEOUT = 300

# (id, program, args, guest env, cwd)
CASES = ([(f"asm-{n}", os.path.join(ASM_BUILD, n), [], {}, REPO) for n in ASM_PROGS]
         + [(f"asm-{c[0]}", os.path.join(ASM_BUILD, c[1]), c[2], {}, REPO) for c in ASM_EXTRA]
         + [(f"c-{c[0]}", os.path.join(CPROGS_BUILD, c[1]), c[2], c[3], c[4]) for c in C_CASES]
         + [(f"c-{c[0]}", os.path.join(CPROGS_BUILD, c[0]), [], {}, REPO) for c in MODEL_ONLY])
BUSYBOX_CASES = bb.load_cases()
# the CPU exceptions of tests/hostile (a trap in the middle of a block, rdtsc, in/out, int $n, ud2, ...)
HOSTILE = ["traps", "inregs", "raised"]


def test_the_native_fast_path_is_built_where_a_compiler_is():
    lib, reason = fastpath.load()
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine: the package runs its Python path")
    assert lib is not None, reason


def test_stats_say_which_path_ran(asm_build):
    prog = os.path.join(ASM_BUILD, "hello")
    for options, want in (([], "fast path       native"), (["--no-fastpath"], "fast path       off, Python hooks")):
        p = subprocess.run([sys.executable, "-m", "emu", "run", "--stats", *options, prog], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert p.returncode == 0 and want in p.stderr, p.stderr
    env = dict(os.environ, EMU_NO_FASTPATH="1")
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--stats", prog], capture_output=True, text=True,
                       timeout=TIMEOUT, env=env)
    assert "fast path       off, Python hooks, instructions counted by count= (EMU_NO_FASTPATH is set)" in p.stderr, \
        p.stderr


def _run(tmp_path, tag, cmd_tail, env, cwd, faults, extra=()):
    """One `emu trace` run; returns everything it produced, the statistics without their host entry, and that."""
    trace, events, stats = (tmp_path / f"{tag}{faults}.{x}" for x in ("trace", "events", "json"))
    options = ["--no-fastpath"] if tag == "python" else []
    if faults:
        options += ["-e", "trace=all,fault", "--events", str(events)]
    cmd = [sys.executable, "-m", "emu", "trace", "--virtual-time", "--clear-env", "-o", str(trace),
           "--stats-json", str(stats), *options, *extra]
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    p = subprocess.run(cmd + cmd_tail, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       timeout=TIMEOUT)
    st = json.loads(stats.read_text()) if stats.exists() and stats.stat().st_size else None
    path = st.pop("host") if st else None  # host figures: the path, Unicorn's TLB misses
    return {"stdout": p.stdout, "status": p.returncode, "stderr": p.stderr,
            "trace": trace.read_text(errors="replace") if trace.exists() else None,
            "events": events.read_text() if events.exists() else None, "stats": st}, path


def _nested_difference(x, y, where=""):
    """The first path at which two JSON values differ, with both values."""
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if x.get(k) != y.get(k):
                return _nested_difference(x.get(k), y.get(k), f"{where}.{k}")
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y, strict=True)):
            if p != q:
                return _nested_difference(p, q, f"{where}[{i}]")
    return f"{where}: native path {x!r:.300}, Python path {y!r:.300}"


_NUMBER = re.compile(r"(?<![\w.])\d{9,10}(?![\w.])")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d{4})?")


def _host_times_out(text: str) -> str:
    """Files a guest creates get their times from the host's clock, so a guest that reads them back (stat) sees
    values that differ between two runs a second apart: numbers within a day of now, and timestamps, are masked."""
    now = time.time()
    text = _NUMBER.sub(lambda m: "<host time>" if abs(int(m.group()) - now) < 86400 else m.group(), text)
    return _STAMP.sub("<host time>", text)


def _first_difference(a, b):
    a = {k: _host_times_out(v) if isinstance(v, str) else v for k, v in a.items()}
    b = {k: _host_times_out(v) if isinstance(v, str) else v for k, v in b.items()}
    for key in a:
        if isinstance(a[key], dict) and a[key] != b[key]:
            return key + _nested_difference(a[key], b[key])
        if a[key] != b[key]:
            x, y = a[key], b[key]
            if isinstance(x, (str, bytes)) and isinstance(y, (str, bytes)):
                xs, ys = x.splitlines(), y.splitlines()
                for i in range(max(len(xs), len(ys))):
                    lx = xs[i] if i < len(xs) else "<missing>"
                    ly = ys[i] if i < len(ys) else "<missing>"
                    if lx != ly:
                        return f"{key} line {i + 1}: native path {lx!r}, Python path {ly!r}"
            return f"{key}: native path {x!r:.500}, Python path {y!r:.500}"
    return None


def _check(fast, fast_host, slow, slow_host, faults):
    assert fast_host is not None and fast_host["fastpath"]["path"] == "native", fast["stderr"]
    assert fast_host["fastpath"]["counting"] == ("count=" if faults else "blocks"), fast_host
    assert slow_host["fastpath"] == {"path": "python", "reason": "--no-fastpath", "counting": "count="}, slow_host
    assert b"Traceback" not in fast["stderr"] + slow["stderr"], (fast["stderr"] + slow["stderr"]).decode()
    diff = _first_difference(fast, slow)
    assert diff is None, ("with fault events: " if faults else "counting by blocks: ") + diff


def _compare_paths(tmp_path, cmd_tail, env, cwd, fresh=None, extra=()):
    lib, reason = fastpath.load()
    if lib is None:
        pytest.skip(f"no native fast path to compare: {reason}")
    for faults in (False, True):
        runs = []
        for tag in ("native", "python"):
            if fresh is not None:
                fresh()
            runs.append(_run(tmp_path, tag, cmd_tail, env, cwd, faults, extra))
        (fast, fast_host), (slow, slow_host) = runs
        _check(fast, fast_host, slow, slow_host, faults)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_both_paths_give_the_same_run(asm_build, cprogs_build, tmp_path, case):
    _, prog, args, env, cwd = case
    if cwd == "/tmp":
        cwd = str(tmp_path)  # a private directory for the programs that create files there
    _compare_paths(tmp_path, [prog, *args], env, cwd)


@pytest.mark.parametrize(("quantum", "kind", "name"), QUANTUM_CASES, ids=[f"{n}-q{q}" for q, _, n in QUANTUM_CASES])
def test_both_paths_preempt_at_the_same_instruction(asm_build, cprogs_build, tmp_path, quantum, kind, name):
    # tiny slices: nearly every slice ends inside a translated block, which the block counter must finish exactly
    prog = os.path.join(ASM_BUILD if kind == "asm" else CPROGS_BUILD, name)
    _compare_paths(tmp_path, [prog], {}, REPO, extra=["--quantum", str(quantum)])


@pytest.mark.parametrize("name", HOSTILE)
def test_both_paths_count_cpu_exceptions_alike(toolchain, tmp_path, name):
    prog = tmp_path / name
    subprocess.run(["gcc", "-m32", "-static", "-O0", "-o", str(prog), os.path.join(REPO, "tests", "hostile",
                                                                                  name + ".c")], check=True)
    _compare_paths(tmp_path, [str(prog)], {}, str(tmp_path))


@pytest.mark.parametrize("script", [c[1] for c in BUSYBOX_CASES], ids=[f"busybox-{c[0]}" for c in BUSYBOX_CASES])
def test_both_paths_give_the_same_busybox_run(busybox_env, tmp_path, script):
    busybox, bindir = busybox_env
    work = tmp_path / "work"

    def fresh():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

    fresh()
    _compare_paths(tmp_path, [busybox, "sh", "-c", bb.expand_script(script, busybox)], {"PATH": bindir}, str(work),
                   fresh)
