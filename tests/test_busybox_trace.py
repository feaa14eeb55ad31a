"""`emu trace` of the busybox script corpus against `strace -f` of the native runs: every implemented syscall is
decoded (no raw-hex argument list), and where the two traces make the same call, the decoded arguments and result
match, addresses and pids aside.

The traces are compared per process (paired in pid order, which is creation order in both runs), after folding strace's
`<unfinished ...>` / `<... resumed>` pairs into one line; difflib aligns the two call sequences, and every pair of
aligned lines of the same syscall must be equal, up to the model differences in ALLOWED (each with its reason).
Calls that only one run makes (signals arriving at another moment, a reader that exits sooner, vDSO clock reads
natively) are scheduling, not decoding; the test requires most native lines to find their twin.
"""

import collections
import difflib
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from test_busybox import CASES, bb
from kernel_model.syscalls import SIGNATURES

STRACE = shutil.which("strace") or "/usr/bin/strace"
HEX = re.compile(r"0x[0-9a-f]+")
PID_RESULT = re.compile(r"^(clone|clone3|fork|vfork|wait4|waitpid|getpid|getppid|gettid|set_tid_address|sigreturn|"
                        r"rt_sigreturn|getpgrp|getpgid|setsid|getsid)\((.*)\) = \d+(.*)$")
PID_ARG = re.compile(r"^(kill|tkill|wait4|waitpid|setpgid|getpgid)\(-?\d+")
RAW = re.compile(r"^(\w+)\((0x[0-9a-f]+, ){5}0x[0-9a-f]+\)")

# (syscall, pattern blanked on both lines before comparing, why the model and the host kernel differ there)
ALLOWED = [
    ("rseq", r" = .*$", "restartable sequences are not modelled: -ENOSYS, which glibc accepts"),
    ("set_thread_area", r"\(entry_number=\d+\)", "a 64-bit host gives i386 tasks GDT TLS slots 12..14, i386 "
                                                 "Linux (the model) 6..8"),
    ("statx", r"\|STATX_MNT_ID", "the host kernel (>= 5.8) also fills stx_mnt_id"),
    ("poll", r"revents=[A-Z|]+", "whether a pipe's writer has closed by the time of the poll is scheduling"),
    ("rename", r'[A-Za-z0-9]{6}"', "mkstemp's random suffix"),
    ("openat", r'[A-Za-z0-9]{6}"', "mkstemp's random suffix"),
    ("unlink", r'[A-Za-z0-9]{6}"', "mkstemp's random suffix"),
    ("write", r' = -1 EPIPE.*$| = \d+$', "how much a writer wrote before its reader exited is scheduling"),
    ("wait4", r"\[\{.*\}\]", "which of several children is reaped first is scheduling"),
]


def fold(path):
    """pid -> its trace lines, `<unfinished ...>` joined with its `<... resumed>` part."""
    procs = collections.OrderedDict()
    pending = {}
    for line in open(path, errors="replace").read().splitlines():
        m = re.match(r"^(\d+) +(.*)$", line)
        if not m or "runs in 32 bit mode" in line:
            continue
        pid, text = m.groups()
        if text.endswith(" <unfinished ...>"):
            pending[pid] = text[:-len(" <unfinished ...>")]
            continue
        r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", text)
        if r and pid in pending:
            text = pending.pop(pid) + r.group(1)
        procs.setdefault(pid, []).append(text)
    return collections.OrderedDict(sorted(procs.items(), key=lambda kv: int(kv[0])))


def normalise(line):
    line = HEX.sub("0xADDR", re.sub(r"\s+= ", " = ", line))
    m = PID_RESULT.match(line)
    if m:
        line = f"{m.group(1)}({m.group(2)}) = PID{m.group(3)}"
    line = PID_ARG.sub(lambda m: m.group(1) + "(PID", line)
    line = re.sub(r"si_pid=\d+", "si_pid=PID", line)
    return re.sub(r'getrandom\("[^"]*"', 'getrandom("..."', line)  # random natively, seeded in the model


def same(native, emulated):
    if native == emulated:
        return True
    name = native.split("(")[0]
    return any(sc == name and re.sub(pat, "", native) == re.sub(pat, "", emulated) for sc, pat, _ in ALLOWED)


def traces(busybox, bindir, script, work, tmp):
    """(native, emulated) folded traces of one case, each run in an empty `work` directory."""
    text = bb.expand_script(script, busybox)
    nat, emu = os.path.join(tmp, "native.strace"), os.path.join(tmp, "emu.strace")
    for cmd, env in (
            ([STRACE, "-f", "-o", nat, busybox, "sh", "-c", text], {"PATH": bindir}),
            ([sys.executable, "-m", "emu", "trace", "--clear-env", "--env", f"PATH={bindir}", "-o", emu,
              busybox, "sh", "-c", text], dict(os.environ, PYTHONPATH=REPO))):
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        subprocess.run(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=180)
    return fold(nat), fold(emu)


# Scripts whose syscall sequence is a race even natively: which of nc's two inputs (stdin's end, the peer's
# data) a poll sees first depends on timing, so their traces are not compared line by line.
TRACE_RACES = {"netcat_loopback"}


@pytest.fixture(scope="module")
def compared(busybox_env, tmp_path_factory):  # noqa: F811
    busybox, bindir = busybox_env
    p = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"strace cannot trace here: {p.stderr.strip()}")
    tmp = tmp_path_factory.mktemp("bbtrace")
    results = {}
    for case, script in CASES:
        if case in TRACE_RACES:
            continue
        results[case] = traces(busybox, bindir, script, str(tmp / "work"), str(tmp))
    return results


def test_no_raw_hex_for_implemented_syscalls(compared):
    raw = [(case, line) for case, (_, emu) in compared.items() for lines in emu.values() for line in lines
           if (m := RAW.match(line)) and m.group(1) in SIGNATURES]
    assert raw == [], f"implemented syscalls printed as raw hex: {raw[:5]}"


def test_decoded_arguments_match_native_strace(compared):
    mismatches = []
    matched = total = 0
    for case, (native, emu) in compared.items():
        for nat_lines, emu_lines in zip(native.values(), emu.values(), strict=False):
            a = [normalise(x) for x in nat_lines]
            b = [normalise(x) for x in emu_lines]
            total += len(a)
            for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
                if op == "equal":
                    matched += i2 - i1
                elif op == "replace" and i2 - i1 == j2 - j1:
                    for x, y in zip(a[i1:i2], b[j1:j2], strict=True):
                        if x.split("(")[0] != y.split("(")[0]:
                            continue
                        if same(x, y):
                            matched += 1
                        else:
                            mismatches.append(f"{case}:\n  native: {x}\n  emu:    {y}")
    assert not mismatches, "decoded lines differ:\n" + "\n".join(mismatches[:10])
    # Most of the native trace has its twin; the rest is scheduling (see the module docstring).
    print(f"{matched} of {total} native trace lines have an equal emulated line")
    assert total > 2000 and matched / total > 0.9, f"{matched} of {total} native lines matched"
