"""The views of a run: --perfetto (trace-event JSON), emu report (HTML + PNG, rendered in headless Chromium),
emu trace -c / -C / -s / -f (strace's summary and options) and --gdb (driven by Debian's gdb)."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import REPO
from kernel_model.kernel import FIRST_PID

STRACE = shutil.which("strace") or "/usr/bin/strace"


def emu(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "emu", *args], cwd=REPO, capture_output=True, timeout=timeout,
                          **kw)


# ---- --perfetto: the trace-event format's rules ------------------------------------------------------------

EPS = 1e-6  # timestamps are microseconds with 3 decimals: sums of two differ from the exact value by less

PHASES = {"X", "B", "E", "i", "I", "C", "M", "s", "t", "f", "b", "e", "n"}


def validate_trace_events(doc) -> list[dict]:
    """Check a JSON trace against the Trace Event Format's rules (the ones ui.perfetto.dev's importer relies on);
    return its events."""
    assert isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list)
    assert doc.get("displayTimeUnit") in (None, "ms", "ns")
    events = doc["traceEvents"]
    stacks: dict[tuple, list] = {}
    flows: dict[tuple, list] = {}
    slices_by_thread: dict[tuple, list] = {}
    for e in events:
        assert e["ph"] in PHASES, e
        assert isinstance(e["name"], str) and e["name"], e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index", "thread_sort_index",
                                 "process_labels"), e
            assert isinstance(e["args"], dict) and e["args"], e
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if "args" in e:
            assert isinstance(e["args"], dict), e
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0, e
            slices_by_thread.setdefault((e["pid"], e["tid"]), []).append(e)
        elif e["ph"] in "BE":
            st = stacks.setdefault((e["pid"], e["tid"]), [])
            if e["ph"] == "B":
                st.append(e)
            else:
                assert st, f"E without B: {e}"
                st.pop()
        elif e["ph"] in "iI":
            assert e.get("s", "t") in ("t", "p", "g"), e
        elif e["ph"] == "C":
            assert e["args"] and all(isinstance(v, (int, float)) for v in e["args"].values()), e
        elif e["ph"] in "stf":
            assert "id" in e and "cat" in e, e
            flows.setdefault((e["cat"], e["id"]), []).append(e)
            if e["ph"] == "f":
                assert e.get("bp") in (None, "e"), e
    assert all(not st for st in stacks.values()), "unclosed B events"
    # complete events on one thread nest properly: each one lies inside the one that is open around it
    for key, sl in slices_by_thread.items():
        open_ends: list[float] = []
        for e in sorted(sl, key=lambda e: (e["ts"], -e["dur"])):
            while open_ends and e["ts"] >= open_ends[-1] - EPS:
                open_ends.pop()
            end = e["ts"] + e["dur"]
            if open_ends:
                assert end <= open_ends[-1] + EPS, f"slice {e} overlaps its enclosing slice on {key}"
            open_ends.append(end)
    # every flow starts with s, ends with f, and each binds to a slice of its thread at its time
    for key, fl in flows.items():
        phases = [e["ph"] for e in sorted(fl, key=lambda e: e["ts"])]
        assert phases[0] == "s" and phases[-1] == "f", (key, phases)
        for e in fl:
            sl = slices_by_thread.get((e["pid"], e["tid"]), [])
            assert any(s["ts"] - EPS <= e["ts"] <= s["ts"] + s["dur"] + EPS for s in sl), \
                f"flow event {e} binds to no slice"
    return events


def test_perfetto_trace_of_cow256_follows_the_format_and_shows_the_fork(asm_build, tmp_path):
    out = tmp_path / "cow256.json"
    p = emu("run", "--perfetto", str(out), os.path.join(asm_build, "cow256"))
    assert p.returncode == 0, p.stderr
    events = validate_trace_events(json.loads(out.read_text()))
    parent, child = FIRST_PID, FIRST_PID + 1
    names = {(e["pid"], e["name"]): e["args"]["name"] for e in events if e["ph"] == "M" and "name" in e["args"]}
    assert names[(parent, "process_name")] == "cow256" and names[(child, "process_name")] == "cow256"
    threads = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert threads[parent] == f"cow256 {parent} (first)" and threads[child] == f"cow256 {child} (fork)"
    # the fork as a slice of the parent with its decoded call, and an arrow to the child
    fork = next(e for e in events if e["ph"] == "X" and e["name"] == "fork")
    assert (fork["pid"], fork["tid"]) == (parent, parent) and fork["args"]["result"] == str(child)
    assert fork["args"]["modelled_cycles"] > 0
    s = next(e for e in events if e["ph"] == "s")
    f = next(e for e in events if e["ph"] == "f" and e["id"] == s["id"])
    assert (s["tid"], f["tid"]) == (parent, child) and s["args"]["flags"] == "SIGCHLD"
    assert fork["ts"] <= s["ts"] <= fork["ts"] + fork["dur"] and f["ts"] >= s["ts"]
    wait = next(e for e in events if e["ph"] == "X" and e["name"] == "wait4")
    assert wait["args"]["args"] == "-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL"
    assert wait["args"]["result"] == str(child)
    # 100 COW copies in the child, 100 reuses in the parent, as instant events with their address
    faults = [e for e in events if e["ph"] == "i" and e["cat"] == "fault"]
    copies = [e for e in faults if e["args"]["kind"] == "cow_copy"]
    reuses = [e for e in faults if e["args"]["kind"] == "cow_reuse"]
    assert len(copies) == 100 and {e["tid"] for e in copies} == {child}
    assert len(reuses) == 100 and {e["tid"] for e in reuses} == {parent}
    assert sorted(int(e["args"]["vaddr"], 16) for e in copies) == [0x804B000 + 4096 * i for i in range(100)]
    # the counters: frames in use, and the COW faults so far
    cow = [e for e in events if e["ph"] == "C" and e["name"] == "copy-on-write faults"]
    assert cow[-1]["args"] == {"copies": 100, "reuses": 100}
    frames = [e["args"]["frames"] for e in events if e["ph"] == "C" and e["name"] == "frames in use"]
    assert max(frames) > 256 + 100  # the 256 pages, the child's 100 copies, page tables and the rest
    # the CPU track: who ran when, back to back on the one modelled CPU
    runs = sorted((e for e in events if e["ph"] == "X" and e["pid"] == 0), key=lambda e: e["ts"])
    assert [r["args"]["pid"] for r in runs] == [parent, child, parent]
    # the same run gives the same file (time is the model's)
    again = tmp_path / "again.json"
    assert emu("run", "--perfetto", str(again), os.path.join(asm_build, "cow256")).returncode == 0
    assert again.read_bytes() == out.read_bytes()


def test_perfetto_vfork_sleep_is_a_slice_inside_the_parents_vfork(cprogs_build, tmp_path):
    out = tmp_path / "vfork.json"
    p = emu("trace", "-o", str(tmp_path / "t.txt"), "--perfetto", str(out), os.path.join(cprogs_build, "vfork_exec"))
    assert p.returncode == 0, p.stderr
    events = validate_trace_events(json.loads(out.read_text()))
    sleeps = [e for e in events if e["ph"] == "X" and e["name"] == "vfork sleep"]
    assert sleeps
    for sl in sleeps:
        vf = next(e for e in events if e["ph"] == "X" and e["name"] == "vfork" and e["tid"] == sl["tid"]
                  and e["ts"] <= sl["ts"] and sl["ts"] + sl["dur"] <= e["ts"] + e["dur"] + EPS)
        child = sl["args"]["child"]
        assert vf["args"]["result"] == str(child)
        # the child's exec comes while the parent sleeps
        execs = [e for e in events if e["name"] == "exec" and e["tid"] == child]
        if execs:
            assert sl["ts"] <= execs[0]["ts"] <= sl["ts"] + sl["dur"] + EPS
        else:  # a child that exits without exec wakes its parent by exiting
            assert any(e["name"] == "exit" and e["tid"] == child for e in events)
    flows = [e for e in events if e["ph"] == "s" and e["name"] == "vfork"]
    assert flows and all(e["args"]["flags"] == "CLONE_VM|CLONE_VFORK|SIGCHLD" for e in flows)


def test_perfetto_of_threads_and_signals(cprogs_build, tmp_path):
    out = tmp_path / "t.json"
    for prog in ("pthreads", "signals"):
        p = emu("run", "--perfetto", str(out), os.path.join(cprogs_build, prog))
        assert p.returncode == 0, p.stderr
        events = validate_trace_events(json.loads(out.read_text()))
        if prog == "pthreads":
            clones = [e for e in events if e["ph"] == "s"]
            assert clones and all("CLONE_THREAD" in e["args"]["flags"] for e in clones)
            tids = {e["tid"] for e in events if e["ph"] == "f"}
            assert all(next(x for x in events if x["ph"] == "f" and x["tid"] == t)["pid"] == FIRST_PID for t in tids)
        else:
            sig = [e for e in events if e["ph"] == "i" and e["cat"] == "signal"]
            assert any(e["args"]["how"] == "handler" for e in sig if "how" in e["args"])


# ---- emu trace -c / -C / -s / -f --------------------------------------------------------------------------

SUMMARY_ROW = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d*)\s+(\S+)$")


def parse_summary(text: str) -> dict[str, tuple[int, int]]:
    """strace -c tables (both of a 64-bit strace's, merged) to {syscall: (calls, errors)}, totals left out."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        m = SUMMARY_ROW.match(line)
        if m and m.group(6) != "total":
            calls, errors = out.get(m.group(6), (0, 0))
            out[m.group(6)] = (calls + int(m.group(4)), errors + int(m.group(5) or 0))
    return out


@pytest.mark.parametrize("name,args", [("hello", []), ("malloc", []),
                                       ("fileio", [os.path.join(REPO, "tests", "cprogs", "data",
                                                                "fileio_input.txt")])])
def test_trace_c_counts_the_calls_and_errors_native_strace_c_counts(cprogs_build, tmp_path, name, args):
    if not os.path.exists(STRACE):
        pytest.fail("strace not found: apt-get install strace", pytrace=False)
    path = os.path.join(cprogs_build, name)
    nat = subprocess.run([STRACE, "-c", "-f", "-o", str(tmp_path / "n.txt"), path, *args], env={},
                         capture_output=True, timeout=120)
    if nat.returncode != 0 and "ptrace" in nat.stderr.decode():
        pytest.skip("strace cannot trace here")
    native = parse_summary((tmp_path / "n.txt").read_text())
    p = emu("trace", "--clear-env", "-c", "-o", str(tmp_path / "e.txt"), path, *args)
    assert p.returncode == nat.returncode
    text = (tmp_path / "e.txt").read_text()
    ours = parse_summary(text)
    # the one known difference (tests/test_trace.py KNOWN_DIFFERENCES): the model has no rseq, glibc goes on
    assert ours.pop("rseq", (1, 1)) == (1, 1) and native.pop("rseq", (1, 0)) == (1, 0)
    assert ours == native
    lines = text.splitlines()
    assert lines[0] == "% time     seconds  usecs/call     calls    errors syscall"
    assert lines[1] == lines[-2] == "------ ----------- ----------- --------- --------- ----------------"
    assert lines[-1].endswith(" total") and int(lines[-1].split()[3]) == sum(c for c, _ in ours.values()) + 1
    times = [float(SUMMARY_ROW.match(x).group(2)) for x in lines[2:-2]]
    assert times == sorted(times, reverse=True) and times[0] > 0  # sorted by modelled time
    assert "(" not in text  # -c alone: no trace lines


def test_trace_C_prints_trace_and_summary_and_s_cuts_strings(cprogs_build, tmp_path):
    path = os.path.join(cprogs_build, "hello")
    p = emu("trace", "-f", "-C", "-s", "5", path)
    assert p.returncode == 0
    err = p.stderr.decode()
    assert re.search(r'^write\(1, "Hello"\.\.\., \d+\) += \d+$', err, re.M), err
    assert "% time     seconds  usecs/call     calls    errors syscall" in err
    assert err.index("write(1,") < err.index("% time")
    q = emu("trace", "-c", "-S", "calls", os.path.join(cprogs_build, "fork_tree"))
    rows = [SUMMARY_ROW.match(x) for x in q.stderr.decode().splitlines()]
    calls = [int(m.group(4)) for m in rows if m and m.group(6) != "total"]
    assert calls == sorted(calls, reverse=True) and calls[0] >= 126


# ---- emu report ----------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_of_cow256_shows_100_copied_and_100_reused_pages(asm_build, tmp_path):
    out = tmp_path / "cow256.html"
    p = emu("report", str(out), os.path.join(asm_build, "cow256"))
    assert p.returncode == 0, p.stderr
    page = out.read_text()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<script src" not in page and "<link" not in page  # self-contained
    # the table of the one fork, and the cells of its page map
    head = re.search(r"<table class=\"totals\"><tr>(.*?)</tr><tr>(.*?)</tr>", page)
    keys = re.findall(r"<th>(.*?)</th>", head.group(1))
    vals = [int(v) for v in re.findall(r"<td>(\d+)</td>", head.group(2))]
    tot = dict(zip(keys, vals, strict=True))
    assert tot["child copied"] == 100 and tot["parent reused"] == 100
    assert tot["parent copied"] == 0 and tot["child reused"] == 0
    assert page.count('class="copied" data-info=') == 100
    assert page.count('class="reused" data-info=') == 100
    copied = re.findall(r'class="copied" data-info="(0x[0-9a-f]+) child: copy-on-write, copied by pid (\d+) at cycle '
                        r'([\d,]+)', page)
    assert len(copied) == 100 and {pid for _, pid, _ in copied} == {str(FIRST_PID + 1)}
    assert sorted(int(a, 16) for a, _, _ in copied) == [0x804B000 + 4096 * i for i in range(100)]
    assert "fork" in page and "SIGCHLD" in page and "== emu statistics ==" in page
    png = tmp_path / "cow256.png"
    from PIL import Image

    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > 500 and img.height > 100
        colours = img.convert("RGB").getcolors(1 << 16)
    counts = {c: n for n, c in colours}
    assert counts[(0xE0, 0x50, 0x3A)] == counts[(0x3A, 0x78, 0xE0)]  # as many copied cells as reused ones


def test_report_renders_in_headless_chromium_without_console_errors(asm_build, cprogs_build, tmp_path):
    if CHROMIUM is None:
        pytest.fail("chromium not found: apt-get install chromium", pytrace=False)
    for prog in (os.path.join(asm_build, "cow256"), os.path.join(cprogs_build, "vfork_exec")):
        name = os.path.basename(prog)
        out = tmp_path / f"{name}.html"
        assert emu("run", "--report", str(out), prog).returncode == 0
        shot = tmp_path / f"{name}-screenshot.png"
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--enable-logging=stderr", "--v=0", "--window-size=1200,1400",
                            f"--screenshot={shot}", f"file://{out}"], capture_output=True, text=True, timeout=120)
        console = [x for x in p.stderr.splitlines() if ":CONSOLE" in x]
        assert p.returncode == 0 and not console, console or p.stderr[-2000:]
        from PIL import Image

        with Image.open(shot) as img:
            assert img.size == (1200, 1400)
            assert len(img.convert("RGB").getcolors(1 << 20)) > 10  # something was drawn


# ---- --gdb ------------------------------------------------------------------------------------------------

GDB = shutil.which("gdb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb_session(prog: str, commands: list[str], *emu_args) -> tuple[str, subprocess.CompletedProcess]:
    """Run prog under `emu run --gdb PORT` and drive it with `gdb -batch` and these commands; return gdb's
    output and the emulator's result."""
    if GDB is None:
        pytest.fail("gdb not found: apt-get install gdb", pytrace=False)
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "emu", "run", "--gdb", str(port), *emu_args, prog], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = run.stderr.readline()  # the stub listens before it says so
    assert f"waiting for gdb on 127.0.0.1:{port}" in first, first
    args = [GDB, "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        args += ["-ex", c]
    try:
        g = subprocess.run(args + [prog], capture_output=True, text=True, timeout=120)
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
    return g.stdout + g.stderr, subprocess.CompletedProcess(run.args, run.returncode, out, first + err)


CHILD_WRITE = 0x80490CE  # cow256's child: movb $2, 0x804b000(%ecx), its first write after the fork


@pytest.mark.parametrize("path", ["native", "python"])
def test_gdb_breaks_in_the_child_steps_and_reads_each_process_own_memory(asm_build, path):
    prog = os.path.join(asm_build, "cow256")
    text = subprocess.run(["objdump", "-d", prog], capture_output=True, text=True).stdout
    assert f"{CHILD_WRITE:x}:\tc6 81 00 b0 04 08 02 \tmovb   $0x2,0x804b000(%ecx)" in text
    out, run = gdb_session(prog, [
        "info registers eip", f"break *{CHILD_WRITE:#x}", "continue", "info registers eip ecx", "info threads",
        "x/1xb 0x804b000", "stepi", "x/1xb 0x804b000", "stepi", "stepi", "info registers ecx",
        "thread 1", "x/1xb 0x804b000", "thread 2", "delete", "continue"],
        *(["--no-fastpath"] if path == "python" else []))
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)",
                          subprocess.run(["readelf", "-h", prog], capture_output=True, text=True).stdout).group(1), 16)
    assert re.search(rf"^eip +{entry:#x} ", out, re.M), out  # the first stop: before the first instruction
    assert f"[Switching to Thread {FIRST_PID + 1}]" in out
    assert re.search(rf"Thread 2 hit Breakpoint 1, {CHILD_WRITE:#010x} in child \(\)", out), out
    assert re.search(rf"^eip +{CHILD_WRITE:#x} ", out, re.M) and re.search(r"^ecx +0x0 +0$", out, re.M)
    assert re.search(rf"\* 2 +Thread {FIRST_PID + 1} \(cow256 \(fork, on the CPU\)\)", out), out
    assert re.search(rf"  1 +Thread {FIRST_PID} \(cow256 \(first\)\) +0x[0-9a-f]+ in parent \(\)", out), out
    # the child's page before and after its write (the COW copy), then the parent's, still the shared value
    cells = re.findall(r"^0x804b000(?: <arr>)?:\s+(0x[0-9a-f]+)$", out, re.M)
    assert cells == ["0x01", "0x02", "0x01"], out
    assert re.search(r"^ecx +0x1000 +4096$", out, re.M), out
    assert "[Inferior 1 (Remote target) exited normally]" in out
    assert run.returncode == 0 and "child wrote 100 pages" in run.stdout


def test_gdb_catch_syscall_stops_at_int80_entry_and_return(asm_build):
    prog = os.path.join(asm_build, "hello")
    out, run = gdb_session(prog, ["catch syscall write", "continue", "info registers eax ebx edx orig_eax",
                                  "x/s $ecx", "continue", "info registers eax", "continue"])
    assert "Catchpoint 1 (syscall 'write' [4])" in out
    assert re.search(r"Catchpoint 1 \(call to syscall write\), 0x[0-9a-f]+ in _start \(\)", out), out
    # at the entry stop, as under ptrace: eax is -ENOSYS, the number is in orig_eax; the buffer is readable
    assert re.search(r"^eax +0xffffffda +-38$", out, re.M) and re.search(r"^orig_eax +0x4 +4$", out, re.M)
    assert re.search(r"^ebx +0x1 +1$", out, re.M) and re.search(r"^edx +0x14 +20$", out, re.M)
    assert re.search(r'"Hello from i386 asm\\n"', out), out
    assert re.search(r"Catchpoint 1 \(returned from syscall write\)", out) and re.search(r"^eax +0x14 +20$", out,
                                                                                          re.M)
    assert "[Inferior 1 (Remote target) exited normally]" in out
    assert run.returncode == 0 and run.stdout == "Hello from i386 asm\n"


def test_gdb_kill_ends_the_run_and_exit_codes_reach_gdb(asm_build):
    out, run = gdb_session(os.path.join(asm_build, "hello"), ["kill"])
    assert run.returncode == 137 and run.stdout == ""
    assert "emu: SIGKILL: run stopped, every guest task killed" in run.stderr
    out, run = gdb_session(os.path.join(asm_build, "exitcode"), ["continue"])
    code = run.returncode
    assert code != 0 and f"[Inferior 1 (Remote target) exited with code 0{code:o}]" in out, (code, out)


def test_gdb_port_in_use_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = emu("run", "--gdb", str(port), "/bin/true")
    assert p.returncode == 1 and p.stderr.decode().startswith(f"emu: --gdb {port}: cannot listen")
    assert "Traceback" not in p.stderr.decode()


def test_gdb_attached_run_counts_and_schedules_as_a_run_without_it(cprogs_build, tmp_path):
    prog = os.path.join(cprogs_build, "fork_cow")
    p = emu("run", "--stats-json", str(tmp_path / "plain.json"), prog)
    out, run = gdb_session(prog, ["break *0x8049000", "delete", "continue"], "--stats-json",
                           str(tmp_path / "gdb.json"))
    assert run.returncode == p.returncode and run.stdout == p.stdout.decode()
    plain, under = (json.loads((tmp_path / n).read_text()) for n in ("plain.json", "gdb.json"))
    plain.pop("host")
    under.pop("host")
    assert under == plain  # instructions, cycles, faults, switches: the same


def rsp(sock, payload: str) -> str:
    """Send one packet (no-ack mode) and return the reply's payload."""
    data = payload.encode()
    sock.sendall(b"$" + data + b"#" + b"%02x" % (sum(data) & 0xFF))
    return rsp_read(sock)


def rsp_read(sock) -> str:
    buf = b""
    while True:
        m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", buf)
        if m:
            return m.group(1).decode()
        chunk = sock.recv(65536)
        assert chunk, "the stub closed the connection"
        buf += chunk


def test_gdb_protocol_ctrl_c_register_write_and_refused_memory_write(toolchain, tmp_path):
    src = tmp_path / "spin.s"
    src.write_text(".globl _start\n_start:\n  movl $7, %ebx\n1: incl %eax\n  jmp 1b\n")
    subprocess.run(["as", "--32", "-o", str(tmp_path / "spin.o"), str(src)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-static", "-o", str(tmp_path / "spin"), str(tmp_path / "spin.o")],
                   check=True)
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "emu", "run", "--gdb", str(port), str(tmp_path / "spin")],
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "waiting for gdb" in run.stderr.readline()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"+")
            assert rsp(s, "QStartNoAckMode") == "OK"
            features = rsp(s, "qSupported:multiprocess+;swbreak+")
            assert "qXfer:features:read+" in features and "QCatchSyscalls+" in features
            xml = rsp(s, "qXfer:features:read:target.xml:0,3fff")
            assert xml.startswith("l") and "org.gnu.gdb.i386.core" in xml and "orig_eax" in xml
            stop = rsp(s, "?")
            assert stop == f"T05thread:{FIRST_PID:x};"
            regs = rsp(s, "g")
            assert len(regs) == 2 * (16 * 4 + 8 * 10 + 8 * 4 + 4)
            eip = int.from_bytes(bytes.fromhex(regs[8 * 8:9 * 8]), "little")
            assert rsp(s, "m%x,5" % eip) == "bb07000000"  # movl $7, %ebx
            assert rsp(s, "M%x,1:90" % eip).startswith("E")
            s.sendall(b"$c#63")  # run: the guest spins until gdb's Ctrl-C
            time.sleep(0.5)
            s.sendall(b"\x03")
            stop = rsp_read(s)
            assert stop == f"T02thread:{FIRST_PID:x};"
            assert rsp(s, "p3") == "07000000"  # ebx
            assert rsp(s, "P0=2a000000") == "OK"
            assert rsp(s, "p0") == "2a000000"  # eax written
            s.sendall(b"$k#6b")
        run.wait(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 137


@pytest.mark.parametrize("prog", ["fork_cow", "vfork_exec", "pthreads"])
def test_perfetto_and_report_are_the_same_on_the_native_and_the_python_path(cprogs_build, tmp_path, prog):
    path = os.path.join(cprogs_build, prog)
    files = {}
    for mode in ("native", "python"):
        extra = ["--no-fastpath"] if mode == "python" else []
        p = emu("run", *extra, "--perfetto", str(tmp_path / f"{mode}.json"), "--report", str(tmp_path / f"{mode}.html"),
                path)
        assert p.returncode == 0, p.stderr
        files[mode] = [(tmp_path / f"{mode}{ext}").read_bytes() for ext in (".json", ".png")]
        # the report's totals hold the host-dependent fast-path line; the rest must match
        html = (tmp_path / f"{mode}.html").read_text()
        files[mode].append(re.sub(r"fast path .*", "", html))
    assert files["native"] == files["python"]
