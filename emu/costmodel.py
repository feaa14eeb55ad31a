"""The cycle model: each task's clock is instructions x CPI plus a price for every kernel event it caused.

The default prices are a data table; each entry says where its number comes from. Most were measured on the
machine this project is developed on (an AMD EPYC guest VM at 2.6 GHz, Linux 6.1, compat i386 processes) with
benchmarks/cost_calibration.c, and converted to cycles at the nominal frequency; they describe that machine,
virtualisation overheads included, not every x86. Load your own table with `--cost-model FILE` (JSON with the
same keys; missing keys keep their defaults).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from kernel_model.mm import FAULT_NAMES

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
    "fork_pte": (260.0, "measured: fork+exit+wait cost growth per resident page, ~100 ns per page native"),
    "context_switch": (3000.0, "measured: pipe ping-pong on one CPU, 4.56 us per round trip = 2 switches "
                               "+ 4 sysenter syscalls; about 1.15 us per switch"),
    "tlb_fill": (0.0, "not priced: the misses counted are those of Unicorn's own TLB, which resizes itself on the "
                      "host's clock (QEMU's dynamic TLB sizing), so their number varies from run to run; a price "
                      "here makes cycle counts vary with it"),
}

EVENT_KEYS = ("syscall", *FAULT_NAMES, "fork_pte", "context_switch", "tlb_fill")


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

    @classmethod
    def from_file(cls, path: str) -> CostModel:
        """A model from a JSON object of {key: number}; unknown keys or bad values raise ValueError."""
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            raise ValueError(f"{path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of cost names to numbers")
        known = {f.name for f in fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{path}: unknown cost {key!r} (known: {', '.join(sorted(known))})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{path}: cost {key!r} must be a non-negative number")
            values[key] = float(value)
        if values.get("frequency_ghz", 1.0) <= 0:
            raise ValueError(f"{path}: frequency_ghz must be positive")
        return cls(**values)

    def events(self, task) -> dict[str, int]:
        """How many of each priced event the task caused."""
        ev = {"syscall": task.syscalls, "fork_pte": task.fork_ptes, "context_switch": task.switches,
              "tlb_fill": task.tlb_fills}
        ev.update(task.acct.as_dict())
        return ev

    def breakdown(self, task) -> dict[str, int]:
        """Cycles by source: instructions and each event kind."""
        out = {"instructions": round(task.insns * self.cpi)}
        for key, n in self.events(task).items():
            out[key] = round(n * getattr(self, key))
        return out

    def cycles(self, task, extra_insns: int = 0) -> int:
        """The task's clock in cycles (optionally with instructions not yet added to task.insns)."""
        c = task.acct.counts  # FAULT_NAMES order: zero, file, cow copy, cow reuse, wp shared, minor, shared, file cow
        return round((task.insns + extra_insns) * self.cpi + task.syscalls * self.syscall
                     + task.fork_ptes * self.fork_pte + task.switches * self.context_switch
                     + task.tlb_fills * self.tlb_fill + c[0] * self.zero_fill + c[1] * self.file_fill
                     + c[2] * self.cow_copy + c[3] * self.cow_reuse + c[4] * self.wp_shared + c[5] * self.minor
                     + c[6] * self.shared + c[7] * self.file_cow)

    def describe(self) -> dict[str, dict]:
        """Every cost with its value and source, for the stats JSON."""
        return {f.name: {"value": getattr(self, f.name), "source": DEFAULT_COSTS[f.name][1]
                         if getattr(self, f.name) == DEFAULT_COSTS[f.name][0] else "user cost model"}
                for f in fields(self)}
