"""The benchmarks, their tables, targets (issue 15's, as ratios against peers measured in the same run), JSON and the
COW plot."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from . import bare, real, tlb
from .runners import BenchError, EmuRunner, NativeRunner, QemuRunner, build_guests, find_qemu, measure

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PAGES_SMALL, PAGES_LARGE = 16, 4096
COW_SIZES = (16, 64, 256, 1024, 4096, 16384)
COW_SIZES_QUICK = (16, 256, 4096)
NAMES = ("cow", "fork", "vfork", "getpid", "compute", "tlb", "real")
# Seconds each benchmark took in a full run on the development VM with qemu (the estimate when no earlier run
# recorded its own times in benchmarks/results/latest.json).
DEFAULT_SECONDS = {"cow": 30.0, "fork": 14.0, "vfork": 12.0, "getpid": 5.0, "compute": 10.0, "tlb": 4.0, "real": 35.0}

# First guesses of each runner's rate (units/s) and untimed host seconds per repetition, used only to plan
# iteration counts; a run whose timed section comes out under 0.15 s is planned again from what it measured.
EST = {
    "cow": {"native": (6e5, 5e-4), "qemu": (4e5, 4e-3), "emu": (2e5, 1e-3)},
    "fork": {"native": (2e3, 0), "qemu": (3e2, 0), "emu": (1.5e3, 0)},
    "vfork": {"native": (4e3, 0), "qemu": (4e2, 0), "emu": (5e3, 0)},
    "getpid": {"native": (5e6, 0), "qemu": (3e6, 0), "emu": (1.3e5, 0)},
    "compute": {"native": (7e8, 0), "qemu": (4e8, 0), "emu": (4.5e6, 0)},
}

TARGETS = {
    "cow": "emu COW faults >= 1,000,000/s and >= 2x native Linux (N = 4096)",
    "fork": "emu fork+_exit+waitpid at 16 pages >= 10,000/s and >= 10x qemu-i386",
    "vfork": "emu vfork+_exit+waitpid >= 20,000/s (16 pages)",
    "getpid": "emu syscall(SYS_getpid) >= 500,000/s",
    "compute": "emu compute with exact instruction counts >= 4x bare Unicorn's count= mode on the same code "
               "(timed-section MIPS ratio)",
    "tlb": "TLB fills in the emulator's hooks >= 5,000,000/s",
}
COW_TARGET = 1_000_000


# ---- formatting ------------------------------------------------------------------------------------------------


def fmt(v, digits: int = 3) -> str:
    """A number with a few significant digits and thousands separators; 'n/a' for None."""
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    if v == 0:
        return "0"
    if abs(v) >= 10 ** digits:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def ratio(a, b) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.3g}x"


def table(title: str, headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    sep = "  "
    lines = [title, sep.join(h.rjust(w) for h, w in zip(cells[0], widths, strict=True)),
             sep.join("-" * w for w in widths)]
    lines += [sep.join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else "MET" if ok else "NOT MET"


# ---- helpers over emulator statistics -------------------------------------------------------------------------


def child_tasks(stats: dict, kind: str) -> list[dict]:
    return [t for t in stats["tasks"] if t["kind"] == kind]


def task_cycles(tasks: list[dict]):
    """Sum of the per-task modelled cycles, or None when the stats have no cycle model."""
    vals = [t.get("cycles") for t in tasks]
    if not vals or any(v is None for v in vals):
        return None
    return sum(vals)


def emu_summary(stats: dict) -> dict:
    f = stats["faults"]
    return {"instructions": stats["instructions"], "cycles": stats.get("cycles"), "cow_copy": f.get("cow_copy"),
            "cow_reuse": f.get("cow_reuse"), "zero_fill": f.get("zero_fill"), "file_fill": f.get("file_fill"),
            "clones": stats["clones"], "context_switches": stats["context_switches"], "syscalls": stats["syscalls"]}


# ---- the benchmarks -------------------------------------------------------------------------------------------


class Suite:
    def __init__(self, runners: list, quick: bool) -> None:
        self.runners = runners
        self.quick = quick
        self.names = [r.name for r in runners]
        self.has_qemu = "qemu" in self.names

    def each(self, bench: str, make_argv, units: float, key=None) -> dict:
        """Measure one case under every runner; returns {runner: {...}}."""
        out = {}
        for r in self.runners:
            rate, overhead = EST[bench][r.name]
            if bench == "cow" and r.name == "emu":
                overhead += units * 2e-6  # page-table copy and teardown grow with N
            try:
                o, reps = measure(r, make_argv, units, rate, overhead)
            except BenchError as e:
                print(f"  ! {e}", flush=True)
                out[r.name] = {"error": str(e)}
                continue
            rates = [units * reps / o.seconds]
            if r.name != "emu":  # cheap runners: median of three runs at the same count (hosts are noisy)
                runs = [o] + [r.run(make_argv(reps)) for _ in range(2)]
                runs.sort(key=lambda x: x.seconds)
                rates = [units * reps / x.seconds for x in runs]
                o.result, o.wall = runs[1].result, runs[1].wall
            out[r.name] = {"reps": reps, "result": o.result, "timed_s": o.seconds, "wall_s": o.wall,
                           "rate": units * reps / o.seconds, "rates_all": rates, **o.extra}
            if o.stats is not None:
                out[r.name]["stats"] = o.stats
        return out

    def rates_row(self, label, res: dict) -> list:
        rates = [res.get(n, {}).get("rate") for n in ("native", "qemu", "emu")]
        row = [label, rates[0]]
        if self.has_qemu:
            row.append(rates[1])
        row.append(rates[2])
        row.append(ratio(rates[2], rates[0]))
        if self.has_qemu:
            row.append(ratio(rates[2], rates[1]))
        return row

    def rate_headers(self, first: str, unit: str) -> list[str]:
        h = [first, f"native {unit}"]
        if self.has_qemu:
            h.append(f"qemu {unit}")
        h += [f"emu {unit}", "emu/native"]
        if self.has_qemu:
            h.append("emu/qemu")
        return h

    def reps_note(self, res_by_case: dict) -> str:
        parts = []
        for case, res in res_by_case.items():
            parts.append(f"{case}: " + ", ".join(
                f"{n} {res[n]['reps']:,} ({res[n]['timed_s']:.2f} s)" for n in self.names if "reps" in res.get(n, {})))
        return "  repetitions (timed seconds) per runner -- " + "; ".join(parts)

    # 1 -------------------------------------------------------------------------------------------------------
    def cow(self) -> dict:
        sizes = COW_SIZES_QUICK if self.quick else COW_SIZES
        cases = {}
        for n in sizes:
            print(f"  cow N={n} ...", flush=True)
            cases[n] = self.each("cow", lambda reps, n=n: ["cow", str(n), str(reps)], n)
        rows = [self.rates_row(n, c) for n, c in cases.items()]
        print(table("\n== 1. COW fault rate: child writes one byte in each of N pages after fork "
                    "(faults/s, host time of the child's write loop) ==",
                    self.rate_headers("N", "faults/s"), rows))
        print(self.reps_note(cases))
        erows = []
        derived = {}
        for n, c in cases.items():
            e = c.get("emu", {})
            st = e.get("stats")
            if not st:
                continue
            kids = child_tasks(st, "fork")
            reps = e["reps"]
            copies = sum(t["faults"]["cow_copy"] for t in kids)
            reuses = sum(t["faults"]["cow_reuse"] for t in kids)
            insns = sum(t["instructions"] for t in kids)
            faults = sum(sum(v for k, v in t["faults"].items() if k != "minor") for t in kids)
            cyc = task_cycles(kids)
            d = {"reps": reps, "child_cow_copy": copies, "child_cow_reuse": reuses, "child_instructions": insns,
                 "run_cow_copy": st["faults"]["cow_copy"], "run_cow_reuse": st["faults"]["cow_reuse"],
                 "run_zero_fill": st["faults"]["zero_fill"],
                 "faults_per_kinsn": 1000 * faults / insns if insns else None,
                 "child_cycles": cyc, "cycles_per_fault": cyc / (n * reps) if cyc is not None else None,
                 "run_cycles": st.get("cycles")}
            derived[n] = d
            erows.append([n, reps, copies, reuses, n * reps, st["faults"]["zero_fill"], insns,
                          d["faults_per_kinsn"], st.get("cycles"), d["cycles_per_fault"],
                          met(e["rate"] >= COW_TARGET)])
        print(table("  emulator model figures (children = the forked tasks; a child also copies its stack and libc "
                    "data pages outside the timed loop)",
                    ["N", "reps", "child cow_copy", "child cow_reuse", "expected N*reps", "run zero_fill",
                     "child insns", "faults/1k insns", "run cycles", "cycles/fault", ">=1M/s"], erows))
        e4096 = cases.get(4096, {}).get("emu", {}).get("rate")
        n4096 = cases.get(4096, {}).get("native", {}).get("rate")
        ok = None if e4096 is None else e4096 >= COW_TARGET and (n4096 is None or e4096 >= 2 * n4096)
        return {"cases": cases, "emu_model": derived,
                "target": {"text": TARGETS["cow"], "value": e4096, "vs_native": None if not n4096 or not e4096
                           else e4096 / n4096, "met": ok}}

    # 2, 3 ------------------------------------------------------------------------------------------------------
    def forkloop(self, which: str) -> dict:
        cases = {}
        for pages in (PAGES_SMALL, PAGES_LARGE):
            print(f"  {which} pages={pages} ...", flush=True)
            cases[pages] = self.each(which, lambda reps, p=pages: ["forkloop", which, str(p), str(reps)], 1)
        num = 2 if which == "fork" else 3
        print(table(f"\n== {num}. {which}+_exit+waitpid loop with N pages resident (loops/s, host time of the "
                    "whole loop) ==", self.rate_headers("pages", "loops/s"),
                    [self.rates_row(p, c) for p, c in cases.items()]))
        print(self.reps_note(cases))
        for n in self.names:
            a, b = (cases[p].get(n, {}).get("rate") for p in (PAGES_SMALL, PAGES_LARGE))
            print(f"  {n}: rate at {PAGES_LARGE} pages / rate at {PAGES_SMALL} pages = {ratio(b, a)}")
        erows = []
        for p, c in cases.items():
            st = c.get("emu", {}).get("stats")
            if st:
                kids = child_tasks(st, which)
                cyc = task_cycles(kids)
                loops = c["emu"]["reps"]
                erows.append([p, loops, len(kids), st["instructions"], st["faults"]["cow_copy"],
                              st["faults"]["cow_reuse"], st["faults"]["zero_fill"], st["context_switches"],
                              st.get("cycles"), cyc / loops if cyc is not None else None])
        print(table("  emulator model figures (whole run)",
                    ["pages", "loops", "children", "insns", "cow_copy", "cow_reuse", "zero_fill", "switches",
                     "run cycles", "child cycles/loop"], erows))
        emu16 = cases[PAGES_SMALL].get("emu", {}).get("rate")
        emu4k = cases[PAGES_LARGE].get("emu", {}).get("rate")
        q16 = cases[PAGES_SMALL].get("qemu", {}).get("rate")
        if which == "fork":
            ok = None if emu16 is None else emu16 >= 10_000 and (q16 is None or emu16 >= 10 * q16)
            tgt = {"text": TARGETS["fork"], "value": emu16, "vs_qemu": None if not q16 or not emu16 else emu16 / q16,
                   "met": ok}
        else:
            r = None if not emu16 or emu4k is None else emu4k / emu16
            ok = None if emu16 is None else emu16 >= 20_000
            tgt = {"text": TARGETS["vfork"], "value": emu16, "ratio_4096_16": r, "met": ok}
        return {"cases": cases, "target": tgt}

    # 4 ---------------------------------------------------------------------------------------------------------
    def getpid(self) -> dict:
        print("  getpid ...", flush=True)
        res = self.each("getpid", lambda reps: ["getpid", str(reps)], 1)
        print(table("\n== 4. syscall(SYS_getpid) round trip (calls/s, host time of the loop) ==",
                    self.rate_headers("", "calls/s"), [self.rates_row("getpid", res)]))
        print(self.reps_note({"getpid": res}))
        st = res.get("emu", {}).get("stats")
        if st:
            calls = res["emu"]["reps"]
            print(f"  emulator: {st['syscalls']:,} syscalls, {st['instructions']:,} instructions "
                  f"({st['instructions'] / calls:.1f} per call), run cycles {fmt(st.get('cycles'))}")
        v = res.get("emu", {}).get("rate")
        return {"cases": {"getpid": res},
                "target": {"text": TARGETS["getpid"], "value": v, "met": None if v is None else v >= 500_000}}

    # 5 ---------------------------------------------------------------------------------------------------------
    def real(self) -> dict:
        """Real programs, whole runs: the issue-15 target is every row but start-up faster than qemu-i386."""
        print("  real programs ...", flush=True)
        qemu = next((r.qemu for r in self.runners if r.name == "qemu"), None)
        try:
            rows = real.run(qemu)
        except Exception as e:  # the packages cannot be fetched here, or a program failed
            print(f"  ! real programs: {e}", flush=True)
            return {"error": str(e), "target": {"met": None, "text": "real programs faster than qemu-i386",
                                                "value": None}}
        names = [n for n in ("native", "qemu", "emu") if n in next(iter(rows.values()))["runners"]]
        headers = ["program"] + [f"{n} s" for n in names] + ["emu/native"] + (["emu/qemu"] if "qemu" in names
                                                                               else []) + ["same output"]
        table_rows, worst = [], None
        for label, row in rows.items():
            s = {n: row["runners"][n]["seconds"] for n in names}
            cells = [label] + [s[n] for n in names] + [ratio(s["emu"], s["native"])]
            if "qemu" in s:
                cells.append(ratio(s["emu"], s["qemu"]))
                if not label.startswith("start-up") and label != real.EXECS:
                    worst = max(worst or 0, s["emu"] / s["qemu"])
            cells.append("yes" if row["same_output"] else "NO")
            table_rows.append(cells)
        print(table("\n== 7. real programs: whole runs, host seconds (start-up included; lower is better) ==",
                    headers, table_rows))
        print("  native and qemu: median of three runs; emu: one run of `python -m emu run`; the pipeline execs, and "
              "qemu-user runs an exec'd i386 program natively here, so its qemu figure is not in the target")
        return {"rows": rows, "target": {"met": None if worst is None else worst < 1.0,
                                         "text": "every real program faster under emu than qemu-i386 "
                                                 "(largest emu/qemu time ratio)", "value": worst}}

    def compute(self) -> dict:
        print("  compute ...", flush=True)
        res = self.each("compute", lambda reps: ["compute", str(reps)], 1)
        for r in res.values():
            if "result" in r:
                r["timed_mips"] = r["result"]["insns"] / r["timed_s"] / 1e6
        rows = [[n, r["reps"], f"{r['result']['checksum']:#010x}", r["timed_s"], r["rate"], r["timed_mips"]]
                for n, r in res.items() if "result" in r]
        emu = res.get("emu", {})
        st = emu.get("stats")
        whole = None
        if st:
            whole = st["instructions"] / emu["wall_s"] / 1e6
            emu["whole_run_mips"] = whole
            emu["stats_instructions"] = st["instructions"]
        print("  bare Unicorn ...", flush=True)
        plain = bare.scaled(bare.run_plain)
        sliced = bare.scaled(bare.run_sliced)
        print(table("\n== 5. compute: 15-instruction loop over a 64 KiB array (compute_kernel.S) ==",
                    ["runner", "iterations", "checksum", "timed s", "iterations/s", "timed-section MIPS"], rows))
        print(f"  emulator whole-run MIPS (exact: stats instructions {fmt(st['instructions']) if st else 'n/a'} / "
              f"host seconds of Machine.run {emu.get('wall_s', 0):.3f}): {fmt(whole)}   "
              f"run cycles {fmt(st.get('cycles') if st else None)}")
        nat = res.get("native", {}).get("timed_mips")
        q = res.get("qemu", {}).get("timed_mips")
        em = emu.get("timed_mips")
        print(f"  timed-section MIPS ratios: emu/native {ratio(em, nat)}"
              + (f", emu/qemu {ratio(em, q)}" if self.has_qemu else ""))
        print(table("  bare Unicorn, the same kernel bytes, uc.mem_map memory, no hooks",
                    ["mode", "iterations", "instructions", "counted", "seconds", "MIPS"],
                    [["emu_start, no count", plain["iters"], plain["insns"], "-", plain["seconds"], plain["mips"]],
                     [f"count={bare.SLICE:,} slices", sliced["iters"], sliced["insns"], sliced["counted"],
                      sliced["seconds"], sliced["mips"]]]))
        print(f"  cost of exact counting: sliced/plain = {sliced['mips'] / plain['mips']:.3g}x; "
              f"emu timed-section / bare sliced = {ratio(em, sliced['mips'])}; "
              f"emu whole-run / bare plain = {ratio(whole, plain['mips'])}")
        if sliced["counted"] != sliced["insns"]:
            print(f"  ! Unicorn counted {sliced['counted']:,} instructions, expected {sliced['insns']:,}")
        vs_count = None if em is None else em / sliced["mips"]
        return {"cases": {"compute": res}, "bare_unicorn": {"plain": plain, "sliced": sliced},
                "target": {"text": TARGETS["compute"], "value": vs_count,
                           "met": None if vs_count is None else vs_count >= 4}}

    def tlb(self) -> dict:
        print("  TLB fills ...", flush=True)
        runs = [tlb.run(True), tlb.run(False)]
        rows = [[r["path"], r.get("pages"), r.get("rounds"), r.get("fills"), r.get("seconds"), r.get("rate")]
                for r in runs if "error" not in r]
        print(table(f"\n== 6. TLB fills: bare Unicorn with the emulator's TLB-fill hook, the TLB flushed before "
                    f"each round over {tlb.PAGES} resident pages (fills/s) ==",
                    ["hook", "pages", "rounds", "fills", "seconds", "fills/s"], rows))
        for r in runs:
            if "error" in r:
                print(f"  native hook not measured: {r['error']}")
        v = runs[0].get("rate")
        if v and runs[1].get("rate"):
            print(f"  native / Python hook = {v / runs[1]['rate']:.3g}x")
        return {"runs": runs, "target": {"text": TARGETS["tlb"], "value": v,
                                         "met": None if v is None else v >= 5_000_000}}


# ---- plot, json, main -----------------------------------------------------------------------------------------


def plot_cow(cow: dict, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is missing: no COW sweep plot (pip install matplotlib to get one)"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in ("native", "qemu", "emu"):
        pts = [(n, c[name]["rate"]) for n, c in cow["cases"].items() if c.get(name, {}).get("rate")]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.axhline(COW_TARGET, color="grey", linestyle="--", linewidth=1, label="target 1M/s")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("pages written by the child (N)")
    ax.set_ylabel("COW faults per second (host time)")
    ax.set_title("Copy-on-write fault rate after fork")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"COW sweep plot: {path}"


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    return o


class Progress:
    """A line per benchmark: which step of how many, how long it should take and how long is left, from the
    times the last run recorded (or DEFAULT_SECONDS), scaled to this run as the steps finish."""

    def __init__(self, steps: list[str], quick: bool, previous: Path) -> None:
        self.steps = steps
        self.est = dict(DEFAULT_SECONDS)
        self.source = "defaults measured on the development VM"
        try:
            doc = json.loads(previous.read_text())
            seen = {k: v["seconds"] for k, v in doc.get("benchmarks", {}).items()
                    if isinstance(v, dict) and isinstance(v.get("seconds"), (int, float))}
            if seen and doc.get("quick") == quick:
                self.est.update(seen)
                self.source = f"the times of the run of {doc.get('created', '?')} ({previous.name})"
        except (OSError, ValueError):
            pass
        self.done: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self.started = 0.0

    def total(self) -> float:
        return sum(self.est[s] for s in self.steps)

    def _scale(self) -> float:
        """How much slower (>1) or faster this run is than the estimate, from the steps done so far."""
        if not self.done:
            return 1.0
        return sum(self.done.values()) / sum(self.est[s] for s in self.done)

    def begin(self, name: str) -> None:
        self.started = time.perf_counter()
        n = len(self.done) + 1
        left = sum(self.est[s] for s in self.steps if s not in self.done) * self._scale()
        bar = "#" * len(self.done) + "." * (len(self.steps) - len(self.done))
        print(f"\n[{bar}] step {n}/{len(self.steps)}: {name}, about {self.est[name] * self._scale():.0f} s "
              f"(about {left:.0f} s left; {time.perf_counter() - self.t0:.0f} s so far)", flush=True)

    def end(self, name: str) -> float:
        took = time.perf_counter() - self.started
        self.done[name] = took
        return took


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="Emulator vs native vs qemu-i386.")
    p.add_argument("--quick", action="store_true", help="COW sweep at N = 16, 256, 4096 only")
    p.add_argument("--only", choices=NAMES, action="append", help="run only this benchmark (repeatable)")
    p.add_argument("--no-qemu", action="store_true", help="skip the qemu-i386 column")
    p.add_argument("--json", metavar="PATH", help="where to write all figures "
                   "(default benchmarks/results/latest.json)")
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    build_guests()
    runners = [NativeRunner()]
    qemu = None if args.no_qemu else find_qemu()
    if args.no_qemu:
        print("qemu-i386 column skipped (--no-qemu)")
    elif qemu is None:
        print("qemu-i386 not installed")
    else:
        runners.append(QemuRunner(qemu))
    runners.append(EmuRunner())
    suite = Suite(runners, args.quick)
    print(f"runners: {', '.join(r.name for r in runners)}; rates are units / guest-measured seconds "
          "(clock_gettime(CLOCK_MONOTONIC) around the timed section); repetitions are chosen per runner "
          "for a ~0.4 s timed section (fewer when fork cost would make the run too long)", flush=True)
    selected = args.only or list(NAMES)
    steps = [n for n in NAMES if n in selected]
    progress = Progress(steps, args.quick, Path(args.json) if args.json else RESULTS_DIR / "latest.json")
    print(f"{len(steps)} benchmarks, about {progress.total():.0f} s in all (estimate from {progress.source}"
          f"{'' if suite.has_qemu else '; without qemu it is shorter'})", flush=True)
    results: dict = {}
    for name in steps:
        progress.begin(name)
        results[name] = suite.forkloop(name) if name in ("fork", "vfork") else getattr(suite, name)()
        results[name]["seconds"] = progress.end(name)
    print("\n== targets (goals for the emulator, not assertions) ==")
    for r in results.values():
        t = r["target"]
        extra = ""
        if "vs_qemu" in t and t["vs_qemu"] is not None:
            extra = f", {t['vs_qemu']:.3g}x qemu"
        if t.get("vs_native") is not None:
            extra = f", {t['vs_native']:.3g}x native"
        print(f"  {met(t['met']):>7}  {t['text']}: measured {fmt(t['value'])}{extra}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if "cow" in results:
        print(plot_cow(results["cow"], RESULTS_DIR / "cow_sweep.png"))
    doc = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick,
           "runners": [r.name for r in runners], "host": platform.platform(), "python": platform.python_version(),
           "total_seconds": time.perf_counter() - t_start, "benchmarks": results}
    path = Path(args.json) if args.json else RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(doc), indent=1, sort_keys=True) + "\n")
    print(f"all figures: {path}  (total {time.perf_counter() - t_start:.0f} s)")
    return 0
