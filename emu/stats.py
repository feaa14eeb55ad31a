"""The --stats summary and its JSON form."""

from __future__ import annotations


def collect_stats(machine) -> dict:
    """Counters of a finished run: creation, exits, switches, faults, frames, and per-task figures."""
    k = machine.kernel
    cpu = machine.cpu
    cost = cpu.cost
    tasks = []
    by_event: dict[str, int] = {}
    for t in sorted(k.all_tasks(), key=lambda t: t.pid):
        breakdown = cpu.cycles_by_source(t)
        for key, c in breakdown.items():
            by_event[key] = by_event.get(key, 0) + c
        tasks.append({"pid": t.pid, "tgid": t.tgid, "comm": t.comm, "kind": t.kind,
                      "instructions": t.insns, "cycles": cpu.cycles(t), "cycles_by_event": breakdown,
                      "syscalls": t.syscalls, "switches_in": t.switches,
                      "fork_ptes_copied": t.fork_ptes, "faults": t.acct.as_dict(),
                      "exit_status": t.exit_code})
    return {
        "clones": dict(k.stats.clones),
        "execs": k.stats.execs,
        "exits": k.stats.exits,
        "context_switches": k.sched.switches,
        "syscalls": k.stats.syscalls,
        "unimplemented_syscalls": dict(k.stats.enosys),
        "faults": k.fault_totals(),
        "frames": {"total": k.pool.nframes, "peak_used": k.pool.peak_used, "in_use_at_exit": k.pool.used},
        "tlb_flushes": cpu.tlb_flushes,
        "translation_flushes": cpu.tb_flushes,
        "instructions": sum(t["instructions"] for t in tasks),
        "cycles": sum(t["cycles"] for t in tasks),
        "cycles_by_event": by_event,
        "cost_model": cost.describe(),
        "cycle_model": cycle_model_stats(cpu),
        "cpuid": {"mode": cpu.cpuid.mode, "answered": cpu.cpuid.calls, **({"reason": cpu.cpuid.reason}
                                                                          if cpu.cpuid.reason else {})},
        "rdtsc_emulated": cpu.rdtsc_count,
        "virtual_ns": k.sched.clock_ns,
        "tasks": tasks,
        # figures that depend on the host, not on the guest and the options: they vary between two runs
        "host": {"fastpath": fastpath_stats(cpu),
                 # blocks the cycle model summarized: when does not change a price, but it differs between the
                 # paths (count= mode enters blocks it then stops before),
                 # and the memory hook's calls (loads, stores): the Python path gets a handful more (9 of 108 M in
                 # a cputimers run, in a slice ending in sigreturn on the vDSO trampoline; cause not found yet),
                 # while the cache and TLB misses and the cycles are the same
                 "cycle_model": {k: cpu.cm.counters()[k] for k in HOST_COUNTERS} if cpu.cm is not None else {},
                 # misses of Unicorn's TLB, which QEMU resizes on the host's clock
                 "tlb_fills": {str(t.pid): t.tlb_fills for t in sorted(k.all_tasks(), key=lambda t: t.pid)}},
    }


HOST_COUNTERS = ("summarized", "loads", "stores")


def cycle_model_stats(cpu) -> dict:
    """Which cycle model ran, the machine its table describes, and its predictor and cache counts."""
    cost = cpu.cost
    out = {"model": cpu.cycle_model, "machine": cost.machine}
    if cpu.cm is None:
        out["reason"] = cpu.cycle_model_reason
        return out
    out["memory_model"] = cpu.cm.memory
    out["sample"] = cpu.cm.sample
    out.update({k: v for k, v in cpu.cm.counters().items() if k not in HOST_COUNTERS})
    if cpu.cm.table.unknown:
        out["unknown_mnemonics"] = dict(sorted(cpu.cm.table.unknown.items()))
    return out


def fastpath_stats(cpu) -> dict:
    """Which hooks ran: the native fast path (with what it served) or the Python path (and why)."""
    fast = cpu.fast
    if fast is None:
        return {"path": "python", "reason": cpu.fast_reason, "counting": "count="}
    st = fast.st
    out = {"path": "native", "tlb_fills": sum(t.tlb_fills for t in cpu.k.all_tasks()),
           "faults_served": st.native_faults, "handed_to_python": st.python_fills,
           "counting": "blocks" if cpu.block_counting else "count="}
    if cpu.block_counting:
        out.update(blocks_run=st.blocks_run, blocks_decoded=st.blocks_decoded, blocks_known=st.blocks_used)
    return out


def format_stats(st: dict) -> str:
    """A human-readable summary for stderr."""
    c = st["clones"]
    f = st["faults"]
    lines = [
        "== emu statistics ==",
        f"tasks created   fork {c.get('fork', 0)}  vfork {c.get('vfork', 0)}  thread {c.get('thread', 0)}  "
        f"clone(CLONE_VM) {c.get('clone_vm', 0)}",
        f"execs {st['execs']}  exits {st['exits']}  context switches {st['context_switches']}  "
        f"syscalls {st['syscalls']}",
        f"page faults     zero-fill {f['zero_fill']}  file {f['file_fill']}  cow copies {f['cow_copy']}  "
        f"cow reuses {f['cow_reuse']}  shared {f.get('shared', 0)}  file cow {f.get('file_cow', 0)}",
        f"frames          peak {st['frames']['peak_used']}  in use at exit {st['frames']['in_use_at_exit']}  "
        f"(of {st['frames']['total']})",
        f"instructions    {st['instructions']}  modelled cycles {st['cycles']}  ("
        + ", ".join(f"{k} {v}" for k, v in st["cycles_by_event"].items() if v) + ")",
        f"{'pid':>5} {'kind':>8} {'comm':<16}{'insns':>12} {'cycles':>12} {'syscalls':>9} {'zero':>6} {'copy':>6}"
        f" {'reuse':>6} {'status':>7}",
    ]
    for t in st["tasks"]:
        tf = t["faults"]
        lines.append(f"{t['pid']:>5} {t['kind']:>8} {t['comm']:<16}{t['instructions']:>12} {t['cycles']:>12} "
                     f"{t['syscalls']:>9} {tf['zero_fill']:>6} {tf['cow_copy']:>6} {tf['cow_reuse']:>6} "
                     f"{t['exit_status']:>#7x}")
    fp = st["host"]["fastpath"]
    if fp["path"] == "native":
        counting = (f"instructions counted by a block hook ({fp['blocks_run']} blocks run, {fp['blocks_known']} "
                    "decoded)" if fp["counting"] == "blocks" else "instructions counted by count= (fault observers)")
        lines.append(f"fast path       native (emu/_fastpath.c): {fp['tlb_fills']} TLB fills, {fp['faults_served']} "
                     f"faults served in C, {fp['handed_to_python']} misses handed to Python; {counting}")
    else:
        lines.append(f"fast path       off, Python hooks, instructions counted by count= ({fp['reason']})")
    if st["unimplemented_syscalls"]:
        lines.append("unimplemented syscalls called: " + ", ".join(
            f"{n} x{c}" for n, c in sorted(st["unimplemented_syscalls"].items())))
    return "\n".join(lines)
