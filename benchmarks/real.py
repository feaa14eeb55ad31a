"""Real programs, whole runs in host seconds: Debian's static bash computing fib N through $(...) (a fork per
call), and busybox sorting 100,000 lines, gzipping and gunzipping 2 MiB, and starting up (`true`), each one
process tree that qemu-i386 emulates entirely (none of them execs, which under qemu-user would run the new program
natively on this host); and a gzip | gunzip | wc pipeline of 8 MiB, which execs (its qemu figure is mostly native).
Natively, under qemu-i386 and under the emulator (`python -m emu run`, start-up included); the outputs must be the
same bytes."""

from __future__ import annotations

import hashlib
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIB = ("fib() { if [ $1 -lt 2 ]; then echo $1; else echo $(( $(fib $(($1-1))) + $(fib $(($1-2))) )); fi; }; "
       "fib N")


def _fetcher():
    spec = importlib.util.spec_from_file_location("busybox_fetch", REPO / "tests" / "busybox.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def programs() -> tuple[str, str]:
    """(busybox, bash-static): Debian's static i386 packages, fetched with apt into tests/.cache when missing."""
    f = _fetcher()
    busybox = f.get_busybox()
    bash = f.get_static_package("bash-static:i386", "bin/bash-static", REPO / "tests" / ".cache" / "bash-static")
    return busybox, bash


def inputs(work: Path) -> dict[str, Path]:
    """The input files, the same bytes on every run (seeded)."""
    rng = random.Random(0)
    lines = work / "lines.txt"
    lines.write_text("".join(f"{rng.getrandbits(48):012x} {rng.choice(('alpha', 'beta', 'gamma'))}\n"
                             for _ in range(100_000)))
    data = work / "data.bin"
    words = [f"{rng.getrandbits(20):x}" for _ in range(4096)]
    text = " ".join(rng.choice(words) for _ in range(400_000)).encode()[:2 << 20]  # compressible, 2 MiB
    data.write_bytes(text)
    gz = work / "data.gz"
    gz.write_bytes(subprocess.run(["gzip", "-c", str(data)], capture_output=True, check=True).stdout)
    data8 = work / "data8.bin"
    data8.write_bytes(text * 4)  # 8 MiB
    return {"lines": lines, "data": data, "gz": gz, "data8": data8}


# The pipeline's shell execs its three programs: under qemu-user (no binfmt_misc registration here) an exec'd i386
# program runs natively on this host, so its qemu figure is not an emulation and the row is left out of the target.
EXECS = "gzip | gunzip pipeline, 8 MiB (execs)"


def cases(busybox: str, bash: str, files: dict[str, Path], fib_n: int) -> list[tuple[str, list[str]]]:
    pipeline = f"{busybox} gzip -c {files['data8']} | {busybox} gunzip -c | {busybox} wc -c"
    return [
        ("start-up (busybox true)", [busybox, "true"]),
        (f"bash-static fib {fib_n} via $(...)", [bash, "-c", FIB.replace("fib N", f"fib {fib_n}")]),
        ("busybox sort, 100k lines", [busybox, "sort", str(files["lines"])]),
        ("busybox gzip -c, 2 MiB", [busybox, "gzip", "-c", str(files["data"])]),
        ("busybox gunzip -c, 2 MiB", [busybox, "gunzip", "-c", str(files["gz"])]),
        (EXECS, [busybox, "sh", "-c", pipeline]),
    ]


def run_once(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, timeout=900, env={"PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ...: exit status {r.returncode}: {r.stderr[-300:]!r}")
    return wall, hashlib.sha256(r.stdout).hexdigest()


def measure(runners: dict[str, list[str]], argv: list[str]) -> dict:
    """Seconds per runner (median of three for native and qemu, one run for the emulator) and the output digest."""
    out = {}
    for name, prefix in runners.items():
        times, digests = [], set()
        for _ in range(1 if name == "emu" else 3):
            wall, digest = run_once(prefix + argv)
            times.append(wall)
            digests.add(digest)
        times.sort()
        out[name] = {"seconds": times[len(times) // 2], "all": times, "sha256": digests.pop()}
    return out


def run(qemu: str | None, fib_n: int = 12) -> dict:
    busybox, bash = programs()
    runners = {"native": []}
    if qemu:
        runners["qemu"] = [qemu]
    runners["emu"] = [sys.executable, "-m", "emu", "run", "--clear-env", "--env", "PATH=/usr/bin:/bin"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = inputs(Path(tmp))
        for label, argv in cases(busybox, bash, files, fib_n):
            print(f"  {label} ...", flush=True)
            res = measure(runners, argv)
            same = len({r["sha256"] for r in res.values()}) == 1
            rows[label] = {"runners": res, "same_output": same}
    return rows
