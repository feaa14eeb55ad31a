"""Command line: `emu run PROG [ARGS...]`, `emu trace [options] PROG [ARGS...]` and `emu demo`."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys

from .cpu import HostSignal
from .elf import ElfError


MAX_MEM = 4 << 30


def _open_output(path: str, what: str, buffering: int = -1):
    """An output file named on the command line, or SystemExit with one line saying why it cannot be written."""
    try:
        return open(path, "w", buffering=buffering)
    except OSError as e:
        raise SystemExit(f"emu: {what} {path}: {e.strerror}") from None


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib")
    mult = units.get(t[-1:], 1)
    num = t[:-1] if t[-1:] in units else t
    try:
        value = int(num) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256M)") from None
    if value < 1 << 20:
        raise argparse.ArgumentTypeError("guest memory must be at least 1M")
    if value > MAX_MEM:
        raise argparse.ArgumentTypeError("guest memory is at most 4G: the model's physical memory is what a 32-bit "
                                         "page table can name (each process can map at most 3G of it)")
    return value


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="emu", description="Run i386 Linux programs on Unicorn with a Python model "
                                "of the Linux kernel's process creation.")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run a static i386 Linux program")
    add_run_options(run)
    run.add_argument("prog", help="path of a static i386 ELF executable")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    trace = sub.add_parser(
        "trace", help="run a program and write an strace -f style trace of its syscalls",
        description="Run a program like `emu run` and write a trace in strace's format (as strace -f: children "
        "and threads are followed). The guest's own output goes where `emu run` sends it.")
    add_run_options(trace)
    add_trace_options(trace)
    trace.add_argument("prog", help="path of a static i386 ELF executable")
    trace.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    report = sub.add_parser(
        "report", help="run a program and write an HTML report of its process creation and page sharing",
        description="Run a program like `emu run` and write one self-contained HTML page: the process tree with "
        "clone kinds and flags, a per-task timeline, for each fork a page map of every VMA (pages that stayed "
        "shared, were copied or were reused, and when) and the --stats totals; the page maps also go to "
        "OUT.png (OUT with .png for .html).")
    report.add_argument("out", metavar="OUT.html", help="the HTML file to write")
    add_run_options(report)
    report.add_argument("prog", help="path of a static i386 ELF executable")
    report.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    rootfs = sub.add_parser(
        "rootfs", help="build an i386 Debian root (mmdebstrap/debootstrap) for --root",
        description="Build an i386 Debian root with Debian's tooling (mmdebstrap, or debootstrap): the minbase "
        "variant (Essential packages: dash, bash, coreutils, grep, sed, findutils, tar, gzip, diffutils, apt) plus "
        "the packages --include names, from the Debian archive the host's apt uses.")
    rootfs.add_argument("dir", help="where to build it (must not exist, or be empty)")
    rootfs.add_argument("--include", action="append", default=[], metavar="PKG[,PKG...]",
                        help="more packages (e.g. gawk,python3); repeatable")
    rootfs.add_argument("--suite", default="bookworm", help="Debian suite (default bookworm)")
    rootfs.add_argument("--variant", default="minbase", help="mmdebstrap/debootstrap variant (default minbase)")
    rootfs.add_argument("--mirror", default=None, help="archive URL (default: the host's apt sources)")
    cal = sub.add_parser(
        "calibrate", help="measure this host natively and write a cost model for --cost-model",
        description="Build emu/calibrate/calibrate.c with gcc -m32 -static, run it natively, and write the cost "
        "model it measured: instruction latencies, cache, TLB and memory latencies, the misprediction penalty, "
        "rep-string rates and the kernel events' prices, in core cycles, over the defaults' other entries.")
    cal.add_argument("-o", dest="output", metavar="FILE", help="write the JSON there (default stdout)")
    cal.add_argument("--quick", action="store_true", help="one run with fewer repetitions (a few seconds; the default "
                     "keeps each figure's lowest of three runs)")
    demo = sub.add_parser("demo", help="run built-in guests that fork, vfork and clone, with statistics")
    demo.add_argument("--quantum", type=_positive, default=None, help="instructions per time slice")
    demo.add_argument("--report", metavar="DIR", default=None,
                      help="also write each guest's `emu report` page (NAME.html, NAME.png) into DIR")
    return p


def add_run_options(run: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run a program."""
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="set a guest environment variable")
    run.add_argument("--clear-env", action="store_true", help="start the guest with an empty environment")
    run.add_argument("--mem", type=_size, default=None, help="guest physical memory (default 512M)")
    run.add_argument("--quantum", type=_positive, default=None,
                     help="guest instructions per scheduler time slice (default 100000)")
    run.add_argument("--max-tasks", type=_positive, default=None, help="most live tasks; fork fails with EAGAIN")
    run.add_argument("--max-insns", type=_positive, default=None,
                     help="stop the run (every task killed, exit status 137) after this many guest instructions")
    run.add_argument("--root", metavar="DIR", default="/",
                     help="the guest's file system root (default /); paths never escape it, and PROG is looked "
                     "up inside it")
    run.add_argument("--kernel-config", action="store_true",
                     help="show the host kernel's build configuration as /proc/config.gz (reading it takes an i386 "
                     "zcat, so it is off by default: under --root / the host's x86-64 one cannot run)")
    run.add_argument("--bind", action="append", default=[], metavar="HOST[:GUEST]",
                     help="show the host directory HOST at GUEST (default the same path) inside --root; repeatable")
    run.add_argument("--pid", type=_positive, default=None, metavar="N",
                     help="pid of the first guest process (default 1000; its parent is N-1, init is 1)")
    run.add_argument("--cost-model", metavar="FILE",
                     help="the cost model to price with: a document written by `emu calibrate` (or a JSON object of "
                     "event prices); default emu/costs/default.json, which says which machine it describes")
    run.add_argument("--cycle-model", choices=("pipeline", "core", "flat"), default="core",
                     help="core (default): dependency chains, ports, branch prediction and rep strings, priced in "
                     "the native block hook, loads at L1 latency; pipeline: the same with the cache and TLB model "
                     "watching every data access (slower); flat: instructions x cpi")
    run.add_argument("--cycle-sample", type=_positive, default=1, metavar="N",
                     help="price one time slice in N in detail, with the memory model watching its accesses, and "
                     "charge the other slices' blocks their mean cost from those: faster, less exact (a phase "
                     "shorter than N slices may never be seen in detail); default 1, every slice in detail")
    run.add_argument("--cpuid", choices=("host", "unicorn"), default="host",
                     help="what CPUID tells the guest: host (default) is this host's vendor, family, model and "
                     "the features both it and Unicorn implement; unicorn is Unicorn's own answer")
    run.add_argument("--virtual-time", action="store_true",
                     help="every clock, sleep and timer runs on the model's clock, not the host's: timing inside "
                     "the guest repeats exactly and idle sleeps take no host time")
    run.add_argument("--no-fastpath", action="store_true",
                     help="run the Python hooks instead of the native fast path (emu/_fastpath.c): the reference "
                     "implementation, same results, slower; EMU_NO_FASTPATH=1 does the same")
    run.add_argument("--stats", action="store_true", help="print a statistics summary on stderr at exit")
    run.add_argument("--stats-json", metavar="FILE", help="write the statistics as JSON to FILE")
    run.add_argument("--events", metavar="FILE", help="write every kernel event as one JSON object per line "
                     "(syscalls with pt_regs, clone, exec, exit, schedule, faults, vfork; see README, Tracing)")
    run.add_argument("--perfetto", metavar="FILE.json",
                     help="write a timeline in the Chrome/Perfetto trace-event JSON format (open it in "
                     "ui.perfetto.dev): a track per task, syscalls, faults, signals, fork arrows, counters; "
                     "time on the model's cycle clock")
    if run.prog != "emu report":
        run.add_argument("--report", metavar="OUT.html",
                         help="write the HTML report of `emu report` (and its page-map PNG) for this run")
    run.add_argument("--gdb", metavar="PORT", type=_port, default=None,
                     help="wait for gdb on 127.0.0.1:PORT before the first instruction and serve the gdb remote "
                     "protocol: breakpoints, stepping, registers and memory of the task on the CPU, catch syscall")


def add_trace_options(p: argparse.ArgumentParser) -> None:
    """Options of `emu trace`."""
    p.add_argument("-o", dest="output", metavar="FILE",
                   help="write the trace to FILE (default stderr); as with strace -f -o, every line then "
                   "starts with the pid")
    p.add_argument("-e", dest="exprs", action="append", default=[], metavar="EXPR",
                   help="trace=NAME,... with strace's classes (%%process, %%memory, %%file, %%signal, %%desc, %%ipc, "
                   "%%network, %%creds, %%clock, %%pure, %%stat, ...; from each syscall's signature) and `fault`; "
                   "`-e fault` adds page-fault lines "
                   "(zero-fill, file fill, copy-on-write copy and reuse) to the trace. Repeatable")
    p.add_argument("--pids", choices=("guest", "real"), default="guest",
                   help="pids to print: `guest` (the model's, the first process is 1000 unless --pid). Guest tasks are "
                   "not host "
                   "processes and have no host pids, so `real` prints the same guest pids; it is accepted so "
                   "strace-comparison scripts can ask for it")
    p.add_argument("-c", dest="summary_only", action="store_true",
                   help="count calls, errors and modelled time per syscall and print strace -c's table at the "
                   "end instead of the trace")
    p.add_argument("-C", dest="summary", action="store_true", help="like -c, but print the trace too")
    p.add_argument("-S", dest="sortby", choices=("time", "calls", "errors", "name", "nothing"), default="time",
                   help="sort -c's table by this column (default time)")
    p.add_argument("-f", dest="follow", action="store_true",
                   help="follow children and threads: accepted for strace's sake; every task is always traced")
    p.add_argument("-s", dest="strsize", type=_nonnegative, default=32, metavar="N",
                   help="show at most N bytes of each string or buffer (default 32)")
    p.add_argument("--regs", action="store_true",
                   help="print struct pt_regs (17 fields, i386 order) at each syscall entry and exit, and a new "
                   "child's at clone")
    p.add_argument("--disasm", type=_nonnegative, default=0, metavar="N",
                   help="disassemble the N instructions before each int $0x80 (decoded forward from candidate "
                   "start addresses; the decoding that lands exactly on the int wins)")


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= v <= 65535:
        raise argparse.ArgumentTypeError("a TCP port is 1..65535")
    return v


def _nonnegative(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return v


def guest_env(args) -> list[str]:
    """The environment the guest starts with."""
    env = {} if args.clear_env else dict(os.environ)
    for kv in args.env:
        if "=" not in kv:
            raise SystemExit(f"emu: --env wants K=V, got {kv!r}")
        key, value = kv.split("=", 1)
        env[key] = value
    return [f"{key}={value}" for key, value in env.items()]


def cmd_run(args) -> int:
    """emu run: the guest's exit status becomes ours."""
    from kernel_model.kernel import FIRST_PID, DEFAULT_MAX_TASKS, DEFAULT_MEM
    from kernel_model.sched import DEFAULT_QUANTUM

    from .machine import Machine
    from .stats import collect_stats, format_stats

    from .costmodel import CostModel

    env = guest_env(args)
    cost = None
    if args.cost_model:
        try:
            cost = CostModel.from_file(args.cost_model)
        except ValueError as e:
            print(f"emu: cost model {e}", file=sys.stderr)
            return 1
    sys.stdout.flush()
    if args.pid is not None and not 2 <= args.pid < 32768:
        print(f"emu: --pid {args.pid}: must be in 2..32767 (1 is init)", file=sys.stderr)
        return 1
    if not os.path.isdir(args.root):
        print(f"emu: --root {args.root}: not a directory", file=sys.stderr)
        return 1
    binds = []
    for spec in args.bind:
        host, _, guest = spec.partition(":")
        if not os.path.isdir(host):
            print(f"emu: --bind {spec}: {host} is not a directory", file=sys.stderr)
            return 1
        binds.append((guest or host, os.path.abspath(host)))
    try:
        m = Machine(mem=args.mem or DEFAULT_MEM, quantum=args.quantum or DEFAULT_QUANTUM,
                    max_tasks=args.max_tasks or DEFAULT_MAX_TASKS, cost=cost, virtual_time=args.virtual_time,
                    root=args.root, max_insns=args.max_insns, first_pid=args.pid or FIRST_PID,
                    fastpath=not args.no_fastpath, cycle_model=args.cycle_model, cpuid=args.cpuid,
                    cycle_sample=args.cycle_sample)
    except MemoryError:
        print(f"emu: cannot get {(args.mem or DEFAULT_MEM) >> 20} MiB of host memory for --mem", file=sys.stderr)
        return 1
    _RUNNING[:] = [m]
    for guest, host in binds:
        m.kernel.vfs.mount(guest, host)  # a bind mount: the guest's paths under GUEST are HOST's
    m.kernel.show_config = args.kernel_config
    argv = [args.prog] + list(args.args)
    closers = []
    # every output file is opened before the guest runs, so a bad path is one line and no run is lost
    stats_out = _open_output(args.stats_json, "--stats-json") if args.stats_json else None
    report_path = args.out if args.cmd == "report" else getattr(args, "report", None)
    perfetto_out = _open_output(args.perfetto, "--perfetto") if args.perfetto else None
    report_out = png_path = None
    if report_path:
        report_out = _open_output(report_path, "report")
        png_path = os.path.splitext(report_path)[0] + ".png"
        _open_output(png_path, "report image").close()
    recorder = tracer = None
    if perfetto_out is not None or report_out is not None:
        from .timeline import Recorder

        recorder = Recorder(m, strsize=getattr(args, "strsize", 32))
    summary_out = None
    try:
        if args.events:
            from .events import EventStream

            ev = _open_output(args.events, "--events")
            closers.append(ev)
            EventStream(m, ev)
        if getattr(args, "cmd", "run") == "trace":
            from .trace import Tracer, open_output, parse_filter

            try:
                names, faults = parse_filter(args.exprs)
            except ValueError as e:
                print(f"emu trace: {e}", file=sys.stderr)
                return 1
            out = _open_output(args.output, "-o", buffering=1) if args.output else open_output(None)
            if args.output:
                closers.append(out)
            if args.summary_only or args.summary:
                summary_out = out
            lines = out
            if args.summary_only:
                from .trace import Discard

                lines = Discard()
            tracer = Tracer(m, lines, names=names, faults=faults, regs=args.regs, disasm=args.disasm,
                            pids=args.pids, file_mode=bool(args.output), argv=argv, strsize=args.strsize)
        stub = None
        if args.gdb is not None:
            from .gdbstub import GdbStub

            stub = GdbStub(m, args.gdb)
            stub.wait_for_gdb()
        status = m.run(argv, env)
        if stub is not None:
            stub.finish(status)
        if summary_out is not None:
            from .trace import format_summary

            summary_out.write(format_summary(tracer.summary, m.cpu.cost.frequency_ghz, args.sortby))
            summary_out.flush()
    finally:
        for f in closers:
            f.close()
        if recorder is not None:
            recorder.finish()
            if perfetto_out is not None:
                from .perfetto import write_perfetto

                with perfetto_out:
                    write_perfetto(recorder, perfetto_out)
    if report_out is not None:
        from .report import write_report

        with report_out:
            write_report(recorder, collect_stats(m), report_out, png_path, argv)
    if args.stats or args.stats_json:
        st = collect_stats(m)
        if args.stats:
            print(format_stats(st), file=sys.stderr, flush=True)
        if stats_out is not None:
            with stats_out:
                json.dump(st, stats_out, indent=2, sort_keys=True)
                stats_out.write("\n")
    return status


class _SafeStderr:
    """The emulator's own stderr: a guest chooses names that appear in its messages (a command name, a path), so
    control characters are shown escaped, never sent to the terminal. The guest's own writes to fd 2 do not pass
    through here."""

    def __init__(self, stream) -> None:
        self._stream = stream

    _CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab and newline

    def write(self, text: str) -> int:
        return self._stream.write(self._CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


_RUNNING: list = []  # the Machine being run, for the signal handler


def _terminate(signo, _frame):
    """SIGINT, SIGTERM or SIGHUP to the emulator ends the run. Inside the CPU (a hook callback may be about to run)
    raising is unsafe, so the CPU is asked to stop and raises HostSignal after its slice; elsewhere (a sleep, the
    model) it is raised here."""
    cpu = _RUNNING[0].cpu if _RUNNING else None
    if cpu is not None and cpu.in_slice:
        cpu.host_signal = signo
        cpu.uc.emu_stop()
        return
    raise HostSignal(signo)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `emu` command: one line and a non-zero status for anything that goes wrong."""
    args = build_parser().parse_args(argv)
    if not isinstance(sys.stderr, _SafeStderr):
        sys.stderr = _SafeStderr(sys.stderr)
    previous = {signo: signal.signal(signo, _terminate) for signo in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        if args.cmd in ("run", "trace", "report"):
            return cmd_run(args)
        if args.cmd == "rootfs":
            from .rootfs import build_rootfs

            return build_rootfs(args.dir, args.include, args.suite, args.variant, args.mirror)
        if args.cmd == "calibrate":
            from .calibration import calibrate

            return calibrate(args.output, quick=args.quick)
        if args.cmd == "demo":
            from .demo import run_demo

            return run_demo(quantum=args.quantum, report_dir=args.report)
    except ElfError as e:
        print(f"emu: {e}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, HostSignal) as e:
        # the guest's tasks live in this process: ending it ends every one of them
        signo = e.signo if isinstance(e, HostSignal) else signal.SIGINT
        print(f"emu: {signal.Signals(signo).name}: run stopped, every guest task killed", file=sys.stderr)
        return 128 + signo
    except Exception as e:  # a bug in the emulator, not in the guest: one line, the traceback on request
        if os.environ.get("EMU_DEBUG"):
            raise
        where = "".join(f" ({n})" for n in getattr(e, "__notes__", ()))
        print(f"emu: internal error: {type(e).__name__}: {e}{where}; EMU_DEBUG=1 shows the traceback",
              file=sys.stderr)
        return 70  # EX_SOFTWARE
    finally:
        # The run is over: a signal during teardown (the run directory's atexit cleanup) gets the handler from
        # before, Python's KeyboardInterrupt as the default action, instead of raising into a cleanup callback.
        for signo, handler in previous.items():
            signal.signal(signo, signal.SIG_DFL if handler is signal.default_int_handler else handler)
    return 2


if __name__ == "__main__":
    sys.exit(main())
