"""`--perfetto FILE.json`: a run as a Chrome trace-event JSON file, which ui.perfetto.dev and chrome://tracing open.

The "JSON trace event format" (Trace Event Format, Google): an object with a `traceEvents` array. Here:

* one process track per guest process (pid = its tgid) and one thread track per task (tid = its pid), named
  with `M` metadata events;
* syscalls as complete slices (`X`) with the decoded arguments and the result, as `emu trace` prints them;
  a vfork parent's sleep as a slice nested in its vfork;
* page faults, signals, execs and exits as thread-scoped instant events (`i`, `s: "t"`) with their kind and
  address;
* fork, vfork and clone as flow arrows (`s` in the parent's clone slice, `f` with `bp: "e"` on the child's
  `ret_from_fork`);
* a "CPU 0" process (pid 0) whose one thread shows which task ran when, and counters (`C`) of the frames in
  use and the copy-on-write faults so far.

Timestamps are microseconds of the model's global cycle clock (emu/timeline.py) at the cost model's frequency,
rounded to nanoseconds, so the same run gives the same file.
"""

from __future__ import annotations

import json

from .timeline import Recorder

CPU_PID = 0  # the pseudo process holding the CPU track and the counters (Linux's pid 0 is the idle task)


def trace_events(rec: Recorder) -> list[dict]:
    """The run's events in the trace-event format, sorted by time."""
    us = rec.us
    ev: list[dict] = []
    tgids = {}
    for t in rec.tasks.values():
        tgids.setdefault(t.tgid, t)
    ev.append({"ph": "M", "name": "process_name", "pid": CPU_PID, "tid": 0, "args": {"name": "CPU 0 (modelled)"}})
    ev.append({"ph": "M", "name": "process_sort_index", "pid": CPU_PID, "tid": 0, "args": {"sort_index": -1}})
    ev.append({"ph": "M", "name": "thread_name", "pid": CPU_PID, "tid": 0, "args": {"name": "running task"}})
    for tgid, t in sorted(tgids.items()):
        leader = rec.tasks.get(tgid, t)
        ev.append({"ph": "M", "name": "process_name", "pid": tgid, "tid": tgid,
                   "args": {"name": " -> ".join(dict.fromkeys(leader.names))}})
        ev.append({"ph": "M", "name": "process_sort_index", "pid": tgid, "tid": tgid, "args": {"sort_index": tgid}})
    for t in sorted(rec.tasks.values(), key=lambda t: t.pid):
        ev.append({"ph": "M", "name": "thread_name", "pid": t.tgid, "tid": t.pid,
                   "args": {"name": f"{t.names[-1]} {t.pid} ({t.kind})"}})

    def span(start: int, end: int) -> tuple[float, float]:
        a = us(start)
        return a, round(us(end) - a, 3)

    for pid, start, end in rec.runs:
        ts, dur = span(start, end)
        t = rec.tasks[pid]
        ev.append({"ph": "X", "name": f"{t.names[-1]} {pid}", "cat": "sched", "ts": ts, "dur": dur, "pid": CPU_PID,
                   "tid": 0, "args": {"pid": pid, "tgid": t.tgid}})
    for s in rec.slices:
        ts, dur = span(s["ts"], s["ts"] + s["dur"])
        args = dict(s["args"])
        if s["cat"] == "syscall":
            args["modelled_cycles"] = s["own"]
        ev.append({"ph": "X", "name": s["name"], "cat": s["cat"], "ts": ts, "dur": dur, "pid": s["tgid"],
                   "tid": s["pid"], "args": args})
    for i in rec.instants:
        ev.append({"ph": "i", "s": "t", "name": i["name"], "cat": i["cat"], "ts": us(i["ts"]), "pid": i["tgid"],
                   "tid": i["pid"], "args": i["args"]})
    first_run = {}
    for pid, start, _end in rec.runs:
        first_run.setdefault(pid, start)
    for fk in rec.forks:
        parent, child = rec.tasks[fk.parent], rec.tasks[fk.child]
        start = max(first_run.get(fk.child, fk.ts), fk.ts)
        fargs = {"flags": fk.flags_str, "kind": fk.kind, "child": fk.child}
        ev.append({"ph": "s", "id": fk.id + 1, "name": fk.kind, "cat": "clone", "ts": us(fk.flow_ts),
                   "pid": parent.tgid,
                   "tid": parent.pid, "args": fargs})
        ev.append({"ph": "X", "name": "ret_from_fork", "cat": "clone", "ts": us(start), "dur": 0,
                   "pid": child.tgid, "tid": child.pid, "args": {"parent": fk.parent, "flags": fk.flags_str}})
        ev.append({"ph": "f", "bp": "e", "id": fk.id + 1, "name": fk.kind, "cat": "clone", "ts": us(start),
                   "pid": child.tgid, "tid": child.pid, "args": fargs})
    for ts, frames, copies, reuses in rec.counters:
        ev.append({"ph": "C", "name": "frames in use", "pid": CPU_PID, "tid": 0, "ts": us(ts),
                   "args": {"frames": frames}})
        ev.append({"ph": "C", "name": "copy-on-write faults", "pid": CPU_PID, "tid": 0, "ts": us(ts),
                   "args": {"copies": copies, "reuses": reuses}})
    order = {"M": 0, "X": 1, "s": 2, "f": 3, "i": 4, "C": 5}
    # metadata first, then by time; at one time a longer slice first, so that it encloses the ones it holds
    ev.sort(key=lambda e: (e["ph"] != "M", e.get("ts", 0), -e.get("dur", 0), order[e["ph"]]))
    return ev


def write_perfetto(rec: Recorder, out) -> int:
    """Write the trace file; return the number of events."""
    events = trace_events(rec)
    rest = {"displayTimeUnit": "ns", "otherData": {"clock": f"model cycles at {rec.freq} GHz (emu/costmodel.py), "
                                                            "one CPU", "generator": "emu --perfetto"}}
    # one event per line, so that the file diffs and greps well
    out.write("{\"traceEvents\": [\n")
    out.write(",\n".join(json.dumps(e, separators=(",", ":"), sort_keys=True) for e in events))
    out.write("\n],\n" + json.dumps(rest, sort_keys=True)[1:] + "\n")
    return len(events)
