"""Building the guests and running one guest command under each runner: native, qemu-i386, the emulator.

Every guest prints one `RESULT key=value ...` line whose `ns` is measured by the guest itself with
clock_gettime(CLOCK_MONOTONIC) around its timed section, so start-up is excluded the same way for every runner.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GUEST_DIR = Path(__file__).resolve().parent / "guests"
BUILD_DIR = GUEST_DIR / "build"


class BenchError(RuntimeError):
    """A guest failed or printed no RESULT line."""


def build_guests() -> None:
    """make -C benchmarks/guests (gcc -m32 -static -O2)."""
    r = subprocess.run(["make", "-s", "-C", str(GUEST_DIR)], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"building the guests failed:\n{r.stdout}{r.stderr}")


def parse_result(text: str) -> dict:
    """The key=value pairs of the first `RESULT` line (integers where they parse)."""
    for line in text.splitlines():
        if line.startswith("RESULT "):
            out: dict = {}
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                try:
                    out[k] = int(v)
                except ValueError:
                    out[k] = v
            return out
    raise BenchError(f"no RESULT line in guest output: {text[-500:]!r}")


@dataclass
class Outcome:
    """One guest run: its RESULT fields, host wall seconds of the whole run, emulator statistics."""

    result: dict
    wall: float
    stats: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """The guest's own timed section, in seconds."""
        return self.result["ns"] / 1e9


class Runner:
    """Runs a guest (argv[0] is a name in guests/build) and returns an Outcome."""

    name = "?"
    max_wall = 2.0  # planning: most host seconds one measurement may take

    def run(self, argv: list[str]) -> Outcome:
        raise NotImplementedError


class NativeRunner(Runner):
    name = "native"

    def command(self, argv: list[str]) -> list[str]:
        return [str(BUILD_DIR / argv[0])] + argv[1:]

    def run(self, argv: list[str]) -> Outcome:
        t0 = time.perf_counter()
        r = subprocess.run(self.command(argv), capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError(f"{self.name} {' '.join(argv)}: exit status {r.returncode}: {r.stderr.strip()}")
        return Outcome(parse_result(r.stdout), wall)


class QemuRunner(NativeRunner):
    name = "qemu"

    def __init__(self, qemu: str) -> None:
        self.qemu = qemu

    def command(self, argv: list[str]) -> list[str]:
        return [self.qemu] + super().command(argv)


def find_qemu() -> str | None:
    """The qemu-i386 executable, or None."""
    return shutil.which("qemu-i386")


class EmuRunner(Runner):
    """The emulator in this process: emu.machine.Machine, statistics from emu.stats.collect_stats."""

    name = "emu"
    max_wall = 6.0

    def __init__(self, mem: int | None = None) -> None:
        self.mem = mem

    def run(self, argv: list[str]) -> Outcome:
        text, status, stats, wall = self.run_text(argv)
        if status != 0:
            raise BenchError(f"emu {' '.join(argv)}: exit status {status}: {text[-300:]!r}")
        return Outcome(parse_result(text), wall, stats)

    def run_text(self, argv: list[str], **machine) -> tuple[str, int, dict, float]:
        """Run the guest in a fresh Machine (machine: more Machine options); its stdout, exit status, statistics and
        the host seconds of Machine.run."""
        from emu.machine import Machine
        from emu.stats import collect_stats

        kwargs = {"mem": self.mem} if self.mem else {}
        with tempfile.TemporaryFile() as out:
            null = os.open(os.devnull, os.O_RDONLY)
            try:
                m = Machine(stdio=(null, out.fileno(), 2), **kwargs, **machine)
                t0 = time.perf_counter()
                status = m.run([str(BUILD_DIR / argv[0])] + argv[1:], env=[])
                wall = time.perf_counter() - t0
                stats = collect_stats(m)
            finally:
                os.close(null)
            out.seek(0)
            text = out.read().decode(errors="replace")
        del m
        gc.collect()
        return text, status, stats, wall


def plan(target_s: float, rate: float, units: float, overhead_s: float, max_wall: float) -> int:
    """How many repetitions give a timed section of about target_s at `rate` units/s, `units` per repetition,
    keeping the whole run under max_wall host seconds (each repetition also costs overhead_s untimed)."""
    per_rep = units / rate
    reps = target_s / per_rep
    reps = min(reps, max_wall / (per_rep + overhead_s))
    return max(1, int(reps))


def measure(runner: Runner, make_argv, units: float, est_rate: float, est_overhead: float = 0.0,
            target_s: float = 0.4, min_s: float = 0.15, reps: int | None = None) -> tuple[Outcome, int]:
    """Run make_argv(reps) with reps planned from an estimated rate; when the timed section came out shorter
    than min_s and the wall budget allows, plan again from the measured rate and run once more."""
    if reps is None:
        reps = plan(target_s, est_rate, units, est_overhead, runner.max_wall)
    out = runner.run(make_argv(reps))
    if out.seconds < min_s:
        rate = units * reps / max(out.seconds, 1e-9)
        overhead = max(0.0, out.wall - out.seconds) / reps
        again = plan(target_s, rate, units, overhead, runner.max_wall)
        if again >= 1.5 * reps:
            out = runner.run(make_argv(again))
            out.extra["replanned_from"] = reps
            reps = again
    return out, reps
