"""The native fast path (emu/_fastpath.c) against the Python path it stands in for.

The Python hooks are the reference: every end-to-end program (guest_asm, tests/cprogs, the busybox scripts) runs
once on each path under `emu trace`, and the guest's output, exit status, emulator messages, the trace (syscalls
and faults), the --events stream and the --stats-json figures must be identical. Only the statistics' "host" entry
may differ: which path ran, and the misses of Unicorn's TLB, which QEMU resizes on the host's clock. Runs use
--virtual-time, so that nothing in them depends on the host's clock.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ASM_BUILD, CPROGS_BUILD, CPROGS_DIR, REPO
from test_e2e import ASM_EXTRA, ASM_PROGS, C_CASES, MODEL_ONLY

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
    assert "fast path       off, Python hooks (EMU_NO_FASTPATH is set)" in p.stderr, p.stderr


def _run(tmp_path, tag, cmd_tail, env, cwd):
    """One `emu trace` run; returns everything it produced, the statistics without their path entry."""
    trace, events, stats = (tmp_path / f"{tag}.{x}" for x in ("trace", "events", "json"))
    options = ["--no-fastpath"] if tag == "python" else []
    cmd = [sys.executable, "-m", "emu", "trace", "--virtual-time", "--clear-env", "-e", "trace=all,fault",
           "-o", str(trace), "--events", str(events), "--stats-json", str(stats), *options]
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    p = subprocess.run(cmd + cmd_tail, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       timeout=TIMEOUT)
    st = json.loads(stats.read_text()) if stats.exists() and stats.stat().st_size else None
    path = st.pop("host")["fastpath"] if st else None  # host figures: the path, Unicorn's TLB misses
    return {"stdout": p.stdout, "status": p.returncode, "stderr": p.stderr,
            "trace": trace.read_text(errors="replace") if trace.exists() else None,
            "events": events.read_text() if events.exists() else None, "stats": st}, path


def _first_difference(a, b):
    for key in a:
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


def _compare_paths(tmp_path, cmd_tail, env, cwd):
    lib, reason = fastpath.load()
    if lib is None:
        pytest.skip(f"no native fast path to compare: {reason}")
    fast, fast_path = _run(tmp_path, "native", cmd_tail, env, cwd)
    slow, slow_path = _run(tmp_path, "python", cmd_tail, env, cwd)
    assert fast_path is not None and fast_path["path"] == "native", fast["stderr"]
    assert slow_path == {"path": "python", "reason": "--no-fastpath"}, slow_path
    assert b"Traceback" not in fast["stderr"] + slow["stderr"], (fast["stderr"] + slow["stderr"]).decode()
    diff = _first_difference(fast, slow)
    assert diff is None, diff


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_both_paths_give_the_same_run(asm_build, cprogs_build, tmp_path, case):
    _, prog, args, env, cwd = case
    if cwd == "/tmp":
        cwd = str(tmp_path)
    if cwd == CPROGS_DIR:
        cwd = CPROGS_DIR
    _compare_paths(tmp_path, [prog, *args], env, cwd)


@pytest.fixture(scope="module")
def busybox_env():
    try:
        busybox = bb.get_busybox()
    except bb.BusyboxUnavailable as e:
        pytest.skip(str(e))
    return busybox, bb.make_applet_dir(busybox)


@pytest.mark.parametrize("script", [c[1] for c in BUSYBOX_CASES], ids=[f"busybox-{c[0]}" for c in BUSYBOX_CASES])
def test_both_paths_give_the_same_busybox_run(busybox_env, tmp_path, script):
    busybox, bindir = busybox_env
    work = tmp_path / "work"
    results = []
    for tag in ("native", "python"):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        results.append(_run(tmp_path, tag, [busybox, "sh", "-c", bb.expand_script(script, busybox)],
                            {"PATH": bindir}, str(work)))
    (fast, fast_path), (slow, _) = results
    if fastpath.load()[0] is None:
        pytest.skip("no native fast path to compare")
    assert fast_path["path"] == "native"
    diff = _first_difference(fast, slow)
    assert diff is None, diff
