"""`emu calibrate`: measure this host natively and write the cost model a run loads with --cost-model.

The measurements are emu/calibrate/calibrate.c, built with `gcc -m32 -static -O2` and run natively (this kind of
machine runs i386 code): instruction latencies the table needs, cache, TLB and memory latencies, the branch
misprediction penalty, rep-string rates, and the kernel events' prices (syscall, zero fill, COW copy and reuse,
fork per resident page, context switch), all in core cycles (see cycles.h). The document it writes has every
entry of emu/costs/default.json: the measured ones say how and where they were measured, the others keep their
own sources.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile

from .costmodel import DEFAULT_FILE, FORMAT, CostModel

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibrate")

# calibrate.c's line -> (section, key, what it measured)
MEASURED = {
    "frequency_ghz": ("costs", "frequency_ghz", "core clock: TSC rate x core cycles per tick (dependent-add chain)"),
    "syscall": ("costs", "syscall", "glibc syscall(SYS_getpid) round trip (the vDSO's fast entry)"),
    "syscall_int80": ("costs", "syscall_int80", "int $0x80 getpid round trip, less the fast entry's"),
    "clone_task": ("costs", "clone_task", "vfork+_exit+waitpid, less three syscalls and two context switches"),
    "fork_mm": ("costs", "fork_mm", "fork+_exit+waitpid with 16 pages, less the vfork loop, 16 PTE copies and the "
                                    "child's two COW copies (stack, data)"),
    "zero_fill": ("costs", "zero_fill", "first write to each of 4,096 fresh anonymous pages"),
    "cow_copy": ("costs", "cow_copy", "a child's first write to each of 4,096 pages shared after fork"),
    "cow_reuse": ("costs", "cow_reuse", "the parent's first write to each page after its child exited"),
    "fork_pte": ("costs", "fork_pte", "fork+exit+wait cost growth from 16 to 16,384 resident pages, per page"),
    "context_switch": ("costs", "context_switch", "pipe ping-pong on one CPU: (round trip - 4 syscalls) / 2"),
    "load_latency": ("core", "load_latency", "pointer chase over 16 KiB (L1)"),
    "l2_latency": ("core", "l2_latency", "pointer chase over 128 KiB (L2, within the L1 TLB)"),
    "l3_latency": ("core", "l3_latency", "pointer chase over 2 MiB, less the L2 TLB's latency and the L2 hits "
                                         "the model's L2 (pseudo-random replacement) has on that chase"),
    "l3_kib": ("core", "l3_kib", "the largest chase size whose latency stays below the L3's and memory's mean"),
    "memory_latency": ("core", "memory_latency", "pointer chase over 32 MiB, less a page walk"),
    "tlb2_latency": ("core", "tlb2_latency", "one line per page over 256 pages, less the L1 latency"),
    "walk_latency": ("core", "walk_latency", "one line per page over 8,192 pages, less the L2 latency"),
    "mispredict": ("core", "mispredict", "a loop branching on each of 64 KiB of random bytes, less the same loop "
                                         "over zeros, per misprediction (half of them), less the load latency "
                                         "the branch's condition waits for (the model adds that wait itself)"),
    "store_forward": ("core", "store_forward", "store then load of one address, chained"),
    "rep_movs_bytes_per_cycle": ("core", "rep_movs_bytes_per_cycle", "rep movsb of 4,096 bytes less 16 bytes"),
    "rep_stos_bytes_per_cycle": ("core", "rep_stos_bytes_per_cycle", "rep stosb of 4,096 bytes less 16 bytes"),
    "rep_start": ("core", "rep_start", "rep movsb and rep stosb of 16 bytes"),
}
# instruction latencies: calibrate.c's line -> the mnemonics it stands for
LATENCIES = {
    "imul": ("imul",),
    "div": ("div", "idiv"),
    "addpd": ("addpd", "addps", "addsd", "addss", "subpd", "subps", "subsd", "subss"),
    "mulpd": ("mulpd", "mulps", "mulsd", "mulss"),
}
# event prices not measured on their own: (key, equal to, why)
DERIVED = (("file_fill", "zero_fill", "assumed equal to a zero-fill fault (a page-cache hit is not measured)"),
           ("wp_shared", "cow_reuse", "assumed equal to a reuse fault: the PTE is made writable in place"),
           ("minor", "cow_reuse", "assumed equal to a reuse fault"),
           ("shared", "cow_reuse", "assumed equal to a reuse fault: a resident page-cache page is mapped"),
           ("file_cow", "cow_copy", "assumed equal to a COW copy fault: the page-cache page is copied"))
# plausible ranges: a figure outside one means the measurement went wrong
RANGES = {"frequency_ghz": (0.2, 10), "syscall": (20, 1e6), "syscall_int80": (0, 1e6), "clone_task": (0, 1e7),
          "fork_mm": (0, 1e7), "zero_fill": (100, 1e6), "cow_copy": (100, 1e6),
          "cow_reuse": (50, 1e6), "fork_pte": (0.1, 1e5), "context_switch": (50, 1e7),
          "load_latency": (1, 20), "l2_latency": (3, 100), "l3_latency": (5, 2000), "memory_latency": (20, 5000),
          "l3_kib": (256, 1 << 20), "tlb2_latency": (0, 200), "walk_latency": (0, 2000),
          "mispredict": (1, 200), "mispredict_loaded": (2, 200), "store_forward": (0, 50),
          "rep_movs_bytes_per_cycle": (0.5, 256),
          "rep_stos_bytes_per_cycle": (0.5, 256), "rep_start": (0, 2000), "imul": (1, 20), "div": (2, 200),
          "addpd": (1, 20), "mulpd": (1, 20), "add": (0.8, 1.25)}


class CalibrationError(Exception):
    """One line for the user."""


def build(workdir: str) -> str:
    """Build the calibration guest; its path."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise CalibrationError("needs gcc with i386 support to build its guest (Debian: apt-get install gcc-multilib)")
    out = os.path.join(workdir, "calibrate")
    p = subprocess.run([gcc, "-m32", "-static", "-O2", "-I", HERE, "-o", out, os.path.join(HERE, "calibrate.c")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        first = (p.stderr.strip().splitlines() or ["gcc failed"])[-1]
        raise CalibrationError(f"could not build the calibration guest with gcc -m32 -static ({first}); "
                               "Debian: apt-get install gcc-multilib")
    return out


def measure(quick: bool = False, runs: int = 3) -> dict[str, float]:
    """Run the calibration guest natively `runs` times; each figure is its lowest (a shared machine's noise only
    ever adds time), the core's frequency its highest."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="emu-calibrate-") as d:
        exe = build(d)
        for _ in range(runs):
            for name, value in _run_once(exe, quick).items():
                if name not in out:
                    out[name] = value
                elif name in ("frequency_ghz", "tsc_ghz", "ticks_per_cycle") or name.endswith("bytes_per_cycle"):
                    out[name] = max(out[name], value)
                else:
                    out[name] = min(out[name], value)
    return out


def _run_once(exe: str, quick: bool) -> dict[str, float]:
    try:
        p = subprocess.run([exe, "quick" if quick else "full"], capture_output=True, text=True, timeout=600)
    except OSError as e:
        raise CalibrationError(f"this host cannot run the i386 calibration guest ({e.strerror})") from None
    except subprocess.TimeoutExpired:
        raise CalibrationError("the calibration guest did not finish in 10 minutes") from None
    if p.returncode != 0:
        raise CalibrationError(f"the calibration guest failed (status {p.returncode}): {p.stderr.strip()[:200]}")
    out = {}
    for line in p.stdout.splitlines():
        name, _, value = line.partition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            raise CalibrationError(f"unexpected line from the calibration guest: {line!r}") from None
    return out


def host_machine() -> dict:
    """The host processor, from its CPUID (vendor, family, model, stepping, brand) and the kernel."""
    from . import fastpath as fp
    from .cpuid import HostCpuid

    lib, _ = fp.load(any_use=True)
    h = HostCpuid(lib)
    out = {"kernel": platform.release(), "measured": datetime.date.today().isoformat()}
    if h.ok:
        eax = h.get(1)[0]
        fam = (eax >> 8) & 0xF
        model = (eax >> 4) & 0xF
        if fam == 0xF:
            fam += (eax >> 20) & 0xFF
        if fam in (6, 0xF) or fam > 0xF:
            model |= ((eax >> 16) & 0xF) << 4
        brand = b"".join(w.to_bytes(4, "little") for leaf in (0x80000002, 0x80000003, 0x80000004)
                         for w in h.get(leaf)).rstrip(b"\0").decode("latin-1").strip()
        out.update(vendor=h.vendor(), family=fam, model=model, stepping=eax & 0xF, name=brand)
    return out


def random_replacement_hits(ways: int, lines: int, cache_lines: int) -> float:
    """The hit fraction of a random cyclic chase over `lines` in a cache of `cache_lines` with pseudo-random
    replacement (the model's L2 and L3), by simulation of one set's share."""
    import random

    sets = max(1, cache_lines // ways // 64)
    n = lines * sets * ways // cache_lines
    rnd = random.Random(1)
    order = list(range(n))
    rnd.shuffle(order)
    tags = [[None] * ways for _ in range(sets)]
    hits = total = 0
    for step in range(6 * n):
        line = order[step % n]
        t = tags[line % sets]
        if line in t:
            hits += step >= 2 * n
        else:
            t[rnd.randrange(ways)] = line
        total += step >= 2 * n
    return hits / total


def derive(figures: dict[str, float], core: dict) -> dict[str, float]:
    """The figures that come from others: the L3's latency and size, the misprediction penalty."""
    out = dict(figures)
    if "chase_2048_kib" in figures and "l2_latency" in figures:
        l2_kib = core["l2_kib"]["value"]
        f = random_replacement_hits(int(core["l2_ways"]["value"]), 2048 * 16, int(l2_kib) * 16)
        out["l2_hits_at_2_mib"] = round(f, 4)
        l3 = (figures["chase_2048_kib"] - f * figures["l2_latency"]) / (1 - f)
        out["l3_latency"] = l3
        cut = (l3 + figures["memory_latency"]) / 2
        size = 1024
        for kib in (2048, 3072, 4096, 6144, 8192, 16384):
            if figures.get(f"chase_{kib}_kib", cut) >= cut:
                break
            size = kib
        out["l3_kib"] = size
    if "mispredict_loaded" in figures:
        out["mispredict"] = max(1.0, figures["mispredict_loaded"] - figures.get("load_latency", 4))
    return out


def document(figures: dict[str, float], machine: dict) -> dict:
    """The cost-model document of these figures over the defaults."""
    with open(DEFAULT_FILE) as f:
        base = json.load(f)
    where = (f"measured by emu calibrate on {machine.get('name', 'this host')} ({machine.get('vendor', '?')} family "
             f"{machine.get('family', 0):#x} model {machine.get('model', 0):#x}), {machine['measured']}")
    figures = derive(figures, base["core"])
    doc = {"format": FORMAT, "describes": f"{machine.get('name', 'this host')}, Linux {machine['kernel']}, "
                                          f"{where}",
           "machine": machine, "costs": dict(base["costs"]), "core": dict(base["core"]),
           "instructions": dict(base["instructions"]), "measured": figures}
    for name, (section, key, what) in MEASURED.items():
        if name in figures:
            value = figures[name]
            if key == "l3_kib":
                value = int(value)
            else:
                value = round(value, 3)
            doc[section][key] = {"value": value, "source": f"{where}: {what}"}
    for key, like, why in DERIVED:
        doc["costs"][key] = {"value": doc["costs"][like]["value"], "source": why}
    for name, mnemonics in LATENCIES.items():
        if name in figures:
            for m in mnemonics:
                ent = dict(doc["instructions"].get(m, {"port": "alu", "uops": 1}))
                ent["lat"] = round(figures[name], 2)
                ent["source"] = f"{where}: a dependent chain of {name}"
                doc["instructions"][m] = ent
    return doc


def validate(doc: dict, path: str = "cost model") -> list[str]:
    """What is wrong with a cost-model document ([]: it loads and every measured figure is plausible)."""
    problems = []
    try:
        CostModel.from_document(doc, path)
    except ValueError as e:
        problems.append(str(e))
    for name, value in (doc.get("measured") or {}).items():
        lo, hi = RANGES.get(name, (None, None))
        if lo is not None and not lo <= value <= hi:
            problems.append(f"{name} = {value} is outside the plausible range [{lo}, {hi}]")
    for key in ("vendor", "family", "model", "measured"):
        if key not in (doc.get("machine") or {}):
            problems.append(f"machine.{key} is missing: the document must say which machine it describes")
    return problems


def calibrate(out: str | None, quick: bool = False) -> int:
    """`emu calibrate`: measure, check, write (stdout without -o); the exit status."""
    import sys

    try:
        figures = measure(quick, runs=1 if quick else 3)
    except CalibrationError as e:
        print(f"emu calibrate: {e}", file=sys.stderr)
        return 1
    doc = document(figures, host_machine())
    problems = validate(doc)
    text = json.dumps(doc, indent=1) + "\n"
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    for p in problems:
        print(f"emu calibrate: {p}", file=sys.stderr)
    if not problems:
        print(f"emu calibrate: {len(figures)} figures measured on {doc['machine'].get('name', 'this host')}"
              + (f", written to {out}" if out else ""), file=sys.stderr)
    return 1 if problems else 0
