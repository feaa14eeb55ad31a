"""The pipeline model: each translated block is summarized once, and the native block hook prices it.

A block's summary (see the cycle-model section of emu/_fastpath.c for how it is used):
- `issue`: the cycles its instructions occupy the front end and the busiest port class, the larger of
  uops / dispatch width and each class's uops / its ports (from the core table);
- `terms`: for each resource it writes (a general register, the flags, an xmm register, the x87 stack, or one of
  four memory slots named by the address expression of a store), its ready time as the latest of
  "input resource's ready time + latency" and "block start + dispatch offset + latency", the latencies summed
  along the dependency chains inside the block from the instruction table; a term says how many loads its path
  passes through, and the memory model adds that many times the block's mean load latency beyond an L1 hit;
- how it ends: a conditional branch (its target and fall-through), a direct or indirect jump or call, a return,
  or a rep-prefixed string instruction (priced per element by size, from the table).

The instruction table and the core's parameters are data (emu/costs/*.json, each entry with its source; `emu
calibrate` measures them on the host). Nothing here imports unicorn; capstone decodes.
"""

from __future__ import annotations

import ctypes
import zlib

import capstone
import numpy as np
from capstone import x86_const as CX

ONE = 60  # fixed point: cycles x ONE (emu/_fastpath.c CM_ONE); divisible by every dispatch width up to 6
NRES = 22
START = 22
FLAGS = 8
XMM0 = 9
X87 = 17
SLOT0 = 18
VIA_LOAD = 0x100
PLAIN, JCC, JMP_IND, RET, CALL, CALL_IND, REP, JMP = range(8)
KIND_NAMES = ("plain", "jcc", "jmp_ind", "ret", "call", "call_ind", "rep", "jmp")
RESOURCE_NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "flags",
                  *(f"xmm{i}" for i in range(8)), "x87", "mem0", "mem1", "mem2", "mem3")

_GPR = {}
for _i, _names in enumerate((("eax", "ax", "al", "ah"), ("ecx", "cx", "cl", "ch"), ("edx", "dx", "dl", "dh"),
                             ("ebx", "bx", "bl", "bh"), ("esp", "sp", "spl"), ("ebp", "bp", "bpl"),
                             ("esi", "si", "sil"), ("edi", "di", "dil"))):
    for _n in _names:
        _GPR[_n] = _i


def _resource(name: str) -> int | None:
    """The model's resource for a capstone register name (None: not tracked, e.g. segment registers, eip)."""
    if name in _GPR:
        return _GPR[name]
    if name == "eflags":
        return FLAGS
    if name.startswith("xmm"):
        return XMM0 + int(name[3:]) % 8
    if name.startswith("st") or name.startswith("mm") or name in ("fpsw", "fpcw"):
        return X87
    return None


_ZERO_IDIOMS = {"xor", "sub", "pxor", "xorps", "xorpd", "psubd", "psubq", "psubb", "psubw", "pcmpgtd", "sbb"}
_PURE_LOADS = {"mov", "movzx", "movsx", "movd", "movq", "movdqa", "movdqu", "movaps", "movups", "movapd",
               "movupd", "movss", "movsd", "pop", "fld", "fild"}
_JCC_EXTRA = {"loop", "loope", "loopne", "jecxz", "jcxz"}
_REP_KIND = {"movs": "rep_movs_bytes_per_cycle", "stos": "rep_stos_bytes_per_cycle"}


class Table:
    """A core's parameters and instruction latencies, from a cost-model document's "core" and "instructions"."""

    def __init__(self, core: dict, instructions: dict) -> None:
        self.core = {k: float(v["value"] if isinstance(v, dict) else v) for k, v in core.items()}
        self.ins = {k: v for k, v in instructions.items()}
        self.unknown: dict[str, int] = {}  # mnemonics priced by the default (an ALU op), with how many blocks

    def get(self, key: str) -> float:
        return self.core[key]

    def lookup(self, mnemonic: str) -> dict:
        m = mnemonic
        if m in self.ins:
            return self.ins[m]
        if m.startswith("set"):
            return self.ins["setcc"]
        if m.startswith("cmov"):
            return self.ins["cmovcc"]
        if m.startswith("j") or m in _JCC_EXTRA:
            return self.ins["jcc"]
        for prefix in ("movs", "stos", "lods", "cmps", "scas"):
            if m.startswith(prefix):
                return {"lat": 1, "port": "load", "uops": 1}
        self.unknown[m] = self.unknown.get(m, 0) + 1
        return {"lat": 1, "port": "alu", "uops": 1}


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if out.get(k, -1) < v:
            out[k] = v
    return out


def _plus(a: dict, lat: float, via: bool = False) -> dict:
    """Every path of a longer by lat (and by one load, with via)."""
    return {(k[0], k[1] + via): v + lat for k, v in a.items()}


def summarize(code: bytes, pc: int, table: Table, md=None) -> tuple[tuple, list[tuple[int, int, int]]]:
    """The summary of the block of `code` at pc: ((n, issue, kind, target, fall, bpc, rep_cost, rep_start),
    [(out | VIA_LOAD?, in, lat), ...]), cycles in fixed point."""
    if md is None:
        md = _disassembler()
    insns = list(md.disasm(code, pc))
    core = table.core
    width = core["width"]
    ports = {"alu": core["alu_ports"], "load": core["load_ports"], "store": core["store_ports"],
             "branch": core["branch_ports"], "vec": core["vec_ports"], "fp": core["fp_ports"],
             "mul": core["mul_ports"], "div": 1.0, "fpdiv": 1.0}
    use = dict.fromkeys(ports, 0.0)
    ready: dict[int, dict] = {}  # resource -> {(input, loads on the path): latency}; absent: unchanged
    uops = 0.0
    kind, target, fall, bpc, rep_cost, rep_start = PLAIN, 0, 0, 0, 0, 0

    def value(r: int) -> dict:
        return ready.get(r, {(r, 0): 0.0})

    for idx, ins in enumerate(insns):
        words = ins.mnemonic.split()
        m = words[-1]  # without a rep/lock prefix
        ent = table.lookup(m)
        lat = float(ent["lat"])
        port = ent.get("port", "alu")
        n_uops = float(ent.get("uops", 1))
        dispatch = {(START, 0): uops / width}
        uops += n_uops
        if port in use:
            use[port] += n_uops if "tp" not in ent else float(ent["tp"])
        try:
            rd, wr = ins.regs_access()
        except capstone.CsError:
            rd, wr = [], []
        reads = {_resource(ins.reg_name(r)) for r in rd}
        writes = {_resource(ins.reg_name(r)) for r in wr}
        reads.discard(None)
        writes.discard(None)
        mem_ops = [o for o in ins.operands if o.type == CX.X86_OP_MEM]
        is_rep = words[0] in ("rep", "repe", "repne", "repz", "repnz") and m[:4] in ("movs", "stos", "lods", "cmps",
                                                                                     "scas")
        if is_rep:
            size = max((o.size for o in ins.operands), default=1) or 1
            key = next((v for p, v in _REP_KIND.items() if m.startswith(p)), None)
            rep_cost = round((size / core[key] if key else core["rep_other_cycles"]) * ONE)
            rep_start = round(core["rep_start"] * ONE)
            kind = REP
            uops -= n_uops  # priced by size, not by the front end
            if port in use:
                use[port] -= n_uops if "tp" not in ent else float(ent["tp"])
            continue
        addr_regs = set()
        loads, stores = [], []
        for o in mem_ops:
            regs = [r for r in (o.mem.base, o.mem.index) if r]
            names = [ins.reg_name(r) for r in regs]
            addr_regs |= {_resource(n) for n in names} - {None}
            slot = (SLOT0 + zlib.crc32(repr((names, o.mem.scale, o.mem.disp)).encode()) % 4
                    if "esp" not in names else None)
            if o.access & capstone.CS_AC_READ:
                loads.append(slot)
            if o.access & capstone.CS_AC_WRITE:
                stores.append(slot)
        if m in ("pop", "ret", "leave"):
            loads.append(None)
        if m in ("push", "call"):
            stores.append(None)
        # a zero idiom (xor eax, eax) depends on nothing
        regops = [o for o in ins.operands if o.type == CX.X86_OP_REG]
        if m in _ZERO_IDIOMS and len(regops) == 2 and not mem_ops and regops[0].reg == regops[1].reg:
            reads = set()
        data = dict(dispatch)
        for r in sorted(reads):
            data = _merge(data, value(r))
        if loads:
            addr = dict(dispatch)
            for r in sorted(addr_regs):
                addr = _merge(addr, value(r))
            ll = core["vec_load_latency"] if port in ("vec", "fp", "fpdiv") else core["load_latency"]
            loaded = _plus(addr, ll, via=True)
            for slot in loads:
                if slot is not None:
                    loaded = _merge(loaded, value(slot))
            data = _merge(data, loaded)
        if m == "mov" and len(regops) == 2 and not mem_ops:
            lat = 0.0  # move elimination at rename
        elif loads and m in _PURE_LOADS:
            lat = 0.0  # the load latency is all of it
        result = _plus(data, lat)
        for w in writes:
            if w == 4 and m in ("push", "pop", "call", "ret"):
                ready[4] = _plus(_merge(dict(dispatch), value(4)), 0.0)  # the stack engine: no chain through esp
                continue
            ready[w] = result
        for slot in stores:
            if slot is not None:
                ready[slot] = _plus(result, core["store_forward"])
        if idx == len(insns) - 1:
            g = set(ins.groups)
            ops = ins.operands
            direct = bool(ops) and ops[0].type == CX.X86_OP_IMM
            bpc = ins.address
            fall = ins.address + ins.size
            if CX.X86_GRP_RET in g:
                kind = RET
            elif CX.X86_GRP_CALL in g:
                kind = CALL if direct else CALL_IND
            elif m == "jmp" or m == "ljmp":
                kind = JMP if direct else JMP_IND
            elif CX.X86_GRP_JUMP in g or m in _JCC_EXTRA:
                kind = JCC
                target = ops[0].imm & 0xFFFFFFFF if direct else 0
    issue = uops / width
    for p, n in use.items():
        if n and ports[p]:
            issue = max(issue, n / ports[p])
    terms = []
    for w in sorted(ready):
        paths = ready[w]
        for (src, nloads), lat in sorted(paths.items()):
            if src == w and not nloads and lat == 0:
                continue  # unchanged: the resource keeps its ready time
            # a path from the same input through at least as many loads and at least as long always wins
            if any(s2 == src and (n2, l2) != (nloads, lat) and n2 >= nloads and l2 >= lat
                   for (s2, n2), l2 in paths.items()):
                continue
            terms.append((w | min(nloads, 255) * VIA_LOAD, src, round(lat * ONE)))
    return (len(insns), round(issue * ONE), kind, target, fall, bpc, rep_cost, rep_start), terms


def _disassembler():
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.detail = True
    return md


# ---- the native side's state ----------------------------------------------------------------------------

_I = ctypes.c_int64
_P = ctypes.c_void_p


class Cache(ctypes.Structure):
    _fields_ = [("tags", _P), ("sets", _I), ("ways", _I), ("random", _I)]


class CmState(ctypes.Structure):
    """cm_state of emu/_fastpath.c, field for field."""

    _fields_ = [("rob", _I), ("mispredict", _I), ("taken", _I), ("l2_extra", _I), ("l3_extra", _I),
                ("mem_extra", _I), ("tlb2_extra", _I), ("walk_extra", _I), ("memory_on", _I), ("detail", _I),
                ("cold", _I),
                ("hot_after", _I),
                ("blk", _P), ("terms", _P), ("py_block", _P),
                ("pht", _P), ("pht_mask", _I), ("hist_bits", _I), ("ghist", _I), ("btb", _P), ("btb_mask", _I),
                ("ras", _I * 32), ("ras_top", _I),
                ("l1", Cache), ("l2", Cache), ("l3", Cache), ("tlb1", Cache), ("tlb2", Cache),
                ("T", _I), ("R", _I * (NRES + 1)), ("ring_insns", _I * 1024), ("ring_done", _I * 1024),
                ("ring_head", _I), ("ring_tail", _I), ("cum_insns", _I), ("rob_floor", _I),
                ("pending", _I), ("pend_pc", _I), ("pend_size", _I), ("pend_n", _I), ("pend_blk", _P),
                ("victim", ctypes.c_uint64), ("extra_sum", _I), ("extra_loads", _I),
                ("last_rep_pc", _I),
                ("c_pipe", _I), ("c_branch", _I), ("c_mem", _I), ("c_rep", _I),
                ("branches", _I), ("mispredicts", _I), ("indirect", _I), ("indirect_miss", _I), ("loads", _I),
                ("stores", _I), ("l1_miss", _I), ("l2_miss", _I), ("l3_miss", _I), ("tlb1_miss", _I),
                ("tlb2_miss", _I), ("rep_elems", _I), ("priced_blocks", _I), ("cold_blocks", _I),
                ("summarized", _I), ("sampled_blocks", _I)]


# cm_block: n, issue, kind, target, fall, bpc, first, nterms, rep_cost, rep_start, have_cost, mem_per_load, cost[4]
BLOCK_FIELDS = 16
MAX_BLOCKS = 1 << 16
MAX_TERMS = 1 << 20
PY_BLOCK = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint8))
SOURCES = ("pipeline", "branch", "memory", "string")
COUNTERS = ("branches", "mispredicts", "indirect", "indirect_miss", "loads", "stores", "l1_miss", "l2_miss",
            "l3_miss", "tlb1_miss", "tlb2_miss", "rep_elems", "priced_blocks", "cold_blocks", "summarized",
            "sampled_blocks")


def abi_size() -> int:
    return ctypes.sizeof(CmState) * 1000 + BLOCK_FIELDS * 4 * 10 + 3


class CycleModel:
    """The pipeline, branch and memory model of one CPU: its tables, and the native state that prices blocks."""

    def __init__(self, table: Table, memory: bool = True, sample: int = 1) -> None:
        self.table = table
        self.memory = memory
        self.sample = sample  # one time slice in `sample` is priced in detail (and watched by the memory model)
        self.slices = 0
        c = table.core
        st = self.st = CmState()
        st.rob = int(c["rob"])
        st.mispredict = round(c["mispredict"] * ONE)
        st.taken = round(c["taken_branch"] * ONE)
        l1 = c["load_latency"]
        st.l2_extra = round((c["l2_latency"] - l1) * ONE)
        st.l3_extra = round((c["l3_latency"] - l1) * ONE)
        st.mem_extra = round((c["memory_latency"] - l1) * ONE)
        st.tlb2_extra = round(c["tlb2_latency"] * ONE)
        st.walk_extra = round(c["walk_latency"] * ONE)
        st.memory_on = 1 if memory else 0
        st.cold = round(c["cold_cpi"] * ONE)
        st.hot_after = int(c["hot_after"])
        self.blk = np.zeros((MAX_BLOCKS, BLOCK_FIELDS), np.int32)
        self.terms = np.zeros((MAX_TERMS, 3), np.int32)
        st.blk = self.blk.ctypes.data
        st.terms = self.terms.ctypes.data
        self.pht = np.full(1 << 16, 1, np.uint8)  # weakly not taken
        st.pht = self.pht.ctypes.data
        st.pht_mask = len(self.pht) - 1
        st.hist_bits = 16
        self.btb = np.zeros(1 << 12, np.uint32)
        st.btb = self.btb.ctypes.data
        st.btb_mask = len(self.btb) - 1
        self._caches = []
        # L1 and the TLBs replace the least recently used entry; L2 and L3 a pseudo-random one (so a loop over a
        # little more than the cache keeps part of it, as real replacement policies do, instead of thrashing)
        for name, kib, ways in (("l1", c["l1_kib"], c["l1_ways"]), ("l2", c["l2_kib"], c["l2_ways"]),
                                ("l3", c["l3_kib"], c["l3_ways"])):
            self._cache(getattr(st, name), int(kib * 1024 // 64), int(ways))
        st.l2.random = st.l3.random = 1
        self._cache(st.tlb1, int(c["tlb1_entries"]), int(c["tlb1_entries"]), sets=1)
        self._cache(st.tlb2, int(c["tlb2_entries"]), int(c["tlb2_ways"]))
        self.nblocks = 0
        self.nterms = 0
        self.resets = 0
        self._md = _disassembler()
        self._cb = PY_BLOCK(self._summarize)
        st.py_block = ctypes.cast(self._cb, ctypes.c_void_p).value
        self.forget = None  # set by the owner: drops the block table's summaries (when the pools fill up)
        self.error: BaseException | None = None

    def _cache(self, c: Cache, lines: int, ways: int, sets: int | None = None) -> None:
        if sets is None:
            sets = max(1, lines // ways)
            sets = 1 << (sets.bit_length() - 1)  # a power of two
        tags = np.zeros(sets * ways, np.uint64)
        self._caches.append(tags)
        c.tags, c.sets, c.ways = tags.ctypes.data, sets, ways

    def _summarize(self, pc: int, size: int, code) -> int:
        """The C side met a new block: summarize it into the pools; its index, or -1."""
        try:
            head, terms = summarize(ctypes.string_at(code, size), pc, self.table, self._md)
            if self.nblocks >= MAX_BLOCKS or self.nterms + len(terms) > MAX_TERMS:
                self.nblocks = self.nterms = 0
                self.resets += 1
                if self.forget is not None:
                    self.forget()
            i = self.nblocks
            n, issue, kind, target, fall, bpc, rep_cost, rep_start = head
            self.blk[i] = (n, issue, kind, np.int32(np.uint32(target)), np.int32(np.uint32(fall)),
                           np.int32(np.uint32(bpc)), self.nterms, len(terms), rep_cost, rep_start, 0, 0, 0, 0, 0, 0)
            if terms:
                self.terms[self.nterms:self.nterms + len(terms)] = terms
            self.nterms += len(terms)
            self.nblocks += 1
            return i
        except BaseException as e:  # never raise into C; the owner raises it after the slice
            if self.error is None:
                self.error = e
            return -1

    def begin_slice(self, fp, flush_tlb) -> None:
        """A time slice starts: priced in detail (one in `sample`, the first one included), or with each block's
        mean cost from the slices that were; the memory model watches the detailed ones."""
        detail = self.slices % self.sample == 0
        self.slices += 1
        if detail != bool(self.st.detail) or self.slices == 1:
            self.st.detail = 1 if detail else 0
            if self.memory:
                fp.cm_memory(detail)
                # Unicorn sends an access to a memory hook only through TLB entries filled while the hook was
                # there: refill them all, so the detailed slice sees every access and the others none
                flush_tlb()

    def untaken(self) -> list[int]:
        """Cycles by source (fixed point) priced since the last take."""
        st = self.st
        return [st.c_pipe, st.c_branch, st.c_mem, st.c_rep]

    def take(self) -> list[int]:
        """Cycles by source (fixed point) since the last call, and zero them."""
        out = self.untaken()
        st = self.st
        st.c_pipe = st.c_branch = st.c_mem = st.c_rep = 0
        return out

    def counters(self) -> dict[str, int]:
        st = self.st
        return {k: getattr(st, k) for k in COUNTERS}
