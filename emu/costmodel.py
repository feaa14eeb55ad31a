"""The cycle model: each task's clock is its core cycles plus a price for every kernel event it caused.

Core cycles come from the pipeline model (emu/cyclemodel.py, priced in the native block hook): dependency chains,
issue width and ports, branch prediction, rep strings, and a cache and TLB model. Without the native extension,
or with `--cycle-model flat`, they are instructions x cpi.

The numbers are data: emu/costs/default.json, written by `emu calibrate` on the machine it describes (its
"machine" entry), every entry with its source. Load another with `--cost-model FILE`: a document of the same
shape (missing entries keep their defaults), or the older flat JSON of {event key: number}.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields

from kernel_model.mm import FAULT_NAMES

DEFAULT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "costs", "default.json")
FORMAT = "emu-cost-model 1"

# key: (default value, source)
DEFAULT_COSTS: dict[str, tuple[float, str]] = {
    "frequency_ghz": (2.6, "nominal clock of the development machine (/proc/cpuinfo: AMD EPYC, 2596 MHz)"),
    "cpi": (1.0, "assumption: one cycle per instruction for the simple integer code the guests run"),
    "syscall": (10500.0, "measured: int $0x80 getpid round trip 4.05 us native on the development VM "
                         "(int 0x80 traps to the hypervisor there; bare metal is ~100-300 cycles)"),
    "zero_fill": (4100.0, "measured: first touch of an anonymous page, 1.58 us native"),
    "file_fill": (4100.0, "assumed equal to a zero-fill fault plus a page-cache hit (not measured separately)"),
    "cow_copy": (7000.0, "measured: child's first write to a page shared after fork, 2.54-2.85 us native"),
    "cow_reuse": (2000.0, "measured: parent's first write after its child exited, 0.69-0.82 us native"),
    "wp_shared": (2000.0, "assumed equal to a reuse fault: the PTE is made writable in place"),
    "minor": (2000.0, "assumed equal to a reuse fault"),
    "shared": (2000.0, "assumed equal to a reuse fault: a resident page of the page cache or shmem is mapped"),
    "file_cow": (7000.0, "assumed equal to a COW copy fault: the page-cache page is copied"),
    "syscall_int80": (0.0, "the extra cost of entering by int $0x80 rather than the vDSO's fast entry (glibc's "
                           "path, through AT_SYSINFO): not measured in these defaults"),
    "clone_task": (0.0, "a created task's fixed cost (copy_process, exit, wait): not measured in these defaults"),
    "fork_mm": (0.0, "a duplicated mm's fixed cost (dup_mm, exit_mmap): not measured in these defaults"),
    "fork_pte": (260.0, "measured: fork+exit+wait cost growth per resident page, ~100 ns per page native"),
    "context_switch": (3000.0, "measured: pipe ping-pong on one CPU, 4.56 us per round trip = 2 switches "
                               "+ 4 sysenter syscalls; about 1.15 us per switch"),
    "tlb_fill": (0.0, "not priced: the misses counted are those of Unicorn's own TLB, which resizes itself on the "
                      "host's clock (QEMU's dynamic TLB sizing), so their number varies from run to run; a price "
                      "here makes cycle counts vary with it"),
}

EVENT_KEYS = ("syscall", "syscall_int80", *FAULT_NAMES, "clone_task", "fork_mm", "fork_pte", "context_switch",
              "tlb_fill")


@dataclass(frozen=True)
class CostModel:
    """Cycle prices of instructions and kernel events."""

    frequency_ghz: float = DEFAULT_COSTS["frequency_ghz"][0]
    cpi: float = DEFAULT_COSTS["cpi"][0]
    syscall: float = DEFAULT_COSTS["syscall"][0]
    zero_fill: float = DEFAULT_COSTS["zero_fill"][0]
    file_fill: float = DEFAULT_COSTS["file_fill"][0]
    cow_copy: float = DEFAULT_COSTS["cow_copy"][0]
    cow_reuse: float = DEFAULT_COSTS["cow_reuse"][0]
    wp_shared: float = DEFAULT_COSTS["wp_shared"][0]
    minor: float = DEFAULT_COSTS["minor"][0]
    shared: float = DEFAULT_COSTS["shared"][0]
    file_cow: float = DEFAULT_COSTS["file_cow"][0]
    fork_pte: float = DEFAULT_COSTS["fork_pte"][0]
    context_switch: float = DEFAULT_COSTS["context_switch"][0]
    tlb_fill: float = DEFAULT_COSTS["tlb_fill"][0]
    syscall_int80: float = DEFAULT_COSTS["syscall_int80"][0]
    clone_task: float = DEFAULT_COSTS["clone_task"][0]
    fork_mm: float = DEFAULT_COSTS["fork_mm"][0]
    # the pipeline model's tables ({key: {"value", "source"}}, {mnemonic: {"lat", "port", ...}}), the machine they
    # describe, and where each event price came from
    core: dict = field(default_factory=dict, compare=False)
    instructions: dict = field(default_factory=dict, compare=False)
    machine: dict = field(default_factory=dict, compare=False)
    sources: dict = field(default_factory=dict, compare=False)

    @classmethod
    def default(cls) -> CostModel:
        """The model of emu/costs/default.json."""
        return cls.from_document(_default_document(), DEFAULT_FILE)

    @classmethod
    def from_file(cls, path: str) -> CostModel:
        """A model from a cost-model document (as `emu calibrate` writes) or a flat JSON object of {key: number};
        unknown keys or bad values raise ValueError."""
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            raise ValueError(f"{path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of cost names to numbers")
        if "format" in data:
            return cls.from_document(data, path)
        base = cls.default()
        values = _event_values(data, path)
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(cls)}, **values,
                      "sources": {**base.sources, **{k: "user cost model" for k in values}}})

    @classmethod
    def from_document(cls, doc: dict, path: str) -> CostModel:
        """A model from a cost-model document; entries it lacks keep the defaults of emu/costs/default.json."""
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path}: format must be {FORMAT!r}")
        base = _default_document() if path != DEFAULT_FILE else {"costs": {}, "core": {}, "instructions": {}}
        costs = {**base["costs"], **_section(doc, "costs", path)}
        values = _event_values({k: v["value"] if isinstance(v, dict) else v for k, v in costs.items()}, path)
        sources = {k: (v.get("source", path) if isinstance(v, dict) else path) for k, v in costs.items()}
        core = {**base["core"], **_section(doc, "core", path)}
        for key, v in core.items():
            num = v["value"] if isinstance(v, dict) else v
            if isinstance(num, bool) or not isinstance(num, (int, float)) or num < 0:
                raise ValueError(f"{path}: core parameter {key!r} must be a non-negative number")
        ins = {**base["instructions"], **_section(doc, "instructions", path)}
        for key, v in ins.items():
            if not isinstance(v, dict) or not isinstance(v.get("lat"), (int, float)) or v["lat"] < 0:
                raise ValueError(f"{path}: instruction {key!r} needs a non-negative \"lat\"")
        return cls(**values, core=core, instructions=ins, machine=dict(doc.get("machine") or {}), sources=sources)

    def table(self):
        """The pipeline model's table (emu.cyclemodel.Table), or None when this model has none."""
        if not self.core:
            return None
        from .cyclemodel import Table

        return Table(self.core, self.instructions)

    def events(self, task) -> dict[str, int]:
        """How many of each priced event the task caused."""
        ev = {"syscall": task.syscalls, "syscall_int80": task.int80_syscalls, "clone_task": task.clones,
              "fork_mm": task.fork_mms, "fork_pte": task.fork_ptes, "context_switch": task.switches,
              "tlb_fill": task.tlb_fills}
        ev.update(task.acct.as_dict())
        return ev

    def breakdown(self, task, core_fp: list[int] | None = None) -> dict[str, int]:
        """Cycles by source: the core's (pipeline, branch, memory, string with the pipeline model; instructions
        x cpi without) and each event kind."""
        if core_fp is None:
            out = {"instructions": round(task.insns * self.cpi)}
        else:
            from .cyclemodel import ONE, SOURCES

            out = {name: round(v / ONE) for name, v in zip(SOURCES, core_fp, strict=True)}
        for key, n in self.events(task).items():
            out[key] = round(n * getattr(self, key))
        return out

    def cycles(self, task, extra_insns: int = 0, core_fp: int | None = None) -> int:
        """The task's clock in cycles (optionally with instructions not yet added to task.insns); core_fp: its core
        cycles in the pipeline model's fixed point, when that model runs (instead of instructions x cpi)."""
        c = task.acct.counts  # FAULT_NAMES order: zero, file, cow copy, cow reuse, wp shared, minor, shared, file cow
        if core_fp is not None:
            from .cyclemodel import ONE

            core = core_fp / ONE
        else:
            core = (task.insns + extra_insns) * self.cpi
        return round(core + task.syscalls * self.syscall + task.int80_syscalls * self.syscall_int80
                     + task.clones * self.clone_task + task.fork_mms * self.fork_mm
                     + task.fork_ptes * self.fork_pte + task.switches * self.context_switch
                     + task.tlb_fills * self.tlb_fill + c[0] * self.zero_fill + c[1] * self.file_fill
                     + c[2] * self.cow_copy + c[3] * self.cow_reuse + c[4] * self.wp_shared + c[5] * self.minor
                     + c[6] * self.shared + c[7] * self.file_cow)

    def describe(self) -> dict[str, dict]:
        """Every event cost with its value and source, for the stats JSON."""
        return {f.name: {"value": getattr(self, f.name),
                         "source": self.sources.get(f.name) or (DEFAULT_COSTS[f.name][1] if getattr(self, f.name)
                                                                == DEFAULT_COSTS[f.name][0] else "user cost model")}
                for f in fields(self) if f.name in DEFAULT_COSTS}


def _section(doc: dict, name: str, path: str) -> dict:
    sec = doc.get(name) or {}
    if not isinstance(sec, dict):
        raise ValueError(f"{path}: {name!r} must be an object")
    return sec


def _event_values(data: dict, path: str) -> dict[str, float]:
    values = {}
    for key, value in data.items():
        if key not in DEFAULT_COSTS:
            raise ValueError(f"{path}: unknown cost {key!r} (known: {', '.join(sorted(DEFAULT_COSTS))})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{path}: cost {key!r} must be a non-negative number")
        values[key] = float(value)
    if values.get("frequency_ghz", 1.0) <= 0:
        raise ValueError(f"{path}: frequency_ghz must be positive")
    return values


_DEFAULT_DOC: list = []


def _default_document() -> dict:
    if not _DEFAULT_DOC:
        with open(DEFAULT_FILE) as f:
            _DEFAULT_DOC.append(json.load(f))
    return _DEFAULT_DOC[0]
