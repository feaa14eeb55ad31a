"""The native fast path (emu/_fastpath.c): the TLB-fill, copy-on-write, zero-fill and int 0x80 entry hooks in C.

The C file is compiled by the package build as an optional extension; when it was not built (no C compiler),
or `--no-fastpath` / EMU_NO_FASTPATH=1 asks for it, the CPU side runs the Python hooks of emu/cpu.py, which stay
the reference: both paths take the same faults in the same order and give the same output, statistics, traces
and event streams (tests/test_fastpath.py runs the end-to-end corpus both ways).

This module owns the state the C hooks work on: a ctypes mirror of `fp_state`, the ring buffer of faults the C
side served, the running mm's VMA table, and the register buffer of the syscall entry.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os

import numpy as np

from kernel_model.mm import PROT_EXEC, PROT_READ, PROT_WRITE, vma_generation

RING = 4096  # faults the C side may serve before Python must drain them
BLOCKS = 1 << 16  # slots of the table of translated blocks' instruction counts
ENV_DISABLE = "EMU_NO_FASTPATH"
VMA_SHARED, VMA_ANON = 0x8, 0x10


class Fault(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_uint32), ("vaddr", ctypes.c_uint32), ("old", ctypes.c_uint32),
                ("new_frame", ctypes.c_uint32), ("eip", ctypes.c_uint32), ("fills", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("free_frames", ctypes.c_uint64), ("cycles", ctypes.c_uint64)]


class TlbEntry(ctypes.Structure):
    _fields_ = [("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32)]


FILL_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int32, ctypes.POINTER(TlbEntry))
INTR_CB = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint32)
_P = ctypes.c_void_p
_I = ctypes.c_int64


class State(ctypes.Structure):
    """fp_state of emu/_fastpath.c, field for field."""

    _fields_ = [("mem", _P), ("refcount", _P), ("exec_bytes", _P), ("free_stack", _P), ("pool_state", _P),
                ("nframes", _I), ("pgd", _I), ("vmas", _P), ("nvmas", _I), ("anon_ok", _I), ("tlb_fills", _I),
                ("ring", _P), ("nfaults", _I), ("ring_cap", _I), ("insn_cell", _P), ("reg_read", _P),
                ("reg_write", _P), ("reg_read_batch", _P), ("py_fill", _P), ("py_intr", _P), ("reg_ids", _P),
                ("reg_ptrs", _P), ("nregs", _I), ("eax_out", ctypes.c_uint64), ("access_write", _I),
                ("access_fetch", _I), ("reg_eip", _I), ("reg_eax", _I),
                ("native_faults", _I), ("python_fills", _I),
                ("counting", _I), ("committed", _I), ("budget", _I), ("blk_base", _I), ("blk_pc", _I),
                ("blk_size", _I), ("stop_requested", _I), ("budget_stop", _I), ("stop_pc", _I), ("stop_size", _I),
                ("emu_stop", _P), ("cs_handle", _I), ("cs_disasm", _P), ("cs_free", _P), ("blocks", _P),
                ("blocks_mask", _I), ("blocks_used", _I), ("blocks_decoded", _I), ("blocks_run", _I),
                ("special_va", _I * 3), ("special_frame", _I * 3), ("held_trap", _I), ("vmas_stale", _I),
                ("cm", _P)]


def _library_path() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(here, "_fastpath" + suffix)
        if os.path.exists(path):
            return path
    return None


_LIB: list = []  # the loaded library, once


def load(any_use: bool = False) -> tuple[ctypes.CDLL | None, str]:
    """The native library and "" when it can be used, else None and the reason the Python path runs (any_use:
    for the cycle model, which runs on the Python path too, so EMU_NO_FASTPATH does not apply)."""
    if not any_use and os.environ.get(ENV_DISABLE, "") not in ("", "0"):
        return None, f"{ENV_DISABLE} is set"
    if _LIB:
        return _LIB[0], ""
    path = _library_path()
    if path is None:
        return None, "the native extension emu/_fastpath was not built (no C compiler at install time?)"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return None, f"the native extension could not be loaded ({e})"
    from .cyclemodel import abi_size

    want = ctypes.sizeof(State) // 8 * 100 + ctypes.sizeof(Fault)
    if lib.fp_abi() != want or lib.fp_cm_size() != abi_size():
        return None, "the native extension was built from another version of emu/_fastpath.c (reinstall)"
    lib.fp_install.restype = ctypes.c_int
    lib.fp_install.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                               ctypes.c_int32]
    lib.fp_install_block.restype = ctypes.c_int
    lib.fp_install_block.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.c_int32]
    lib.fp_index.restype = ctypes.c_int64
    lib.fp_index.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    lib.fp_after.restype = ctypes.c_uint64
    lib.fp_after.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int64]
    lib.fp_install_cm.restype = ctypes.c_int
    lib.fp_install_cm.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_int32, ctypes.c_int32, ctypes.c_int64]
    lib.fp_cm_flush.restype = None
    lib.fp_cm_flush.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64]
    lib.fp_cm_memory.restype = ctypes.c_int
    lib.fp_cm_memory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int32, ctypes.c_int64]
    lib.fp_host_cpuid.restype = ctypes.c_int
    lib.fp_host_cpuid.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p]
    _LIB.append(lib)
    return lib, ""


def _addr(fn) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value


class FastPath:
    """The C hooks of one Cpu and the state they share with it."""

    def __init__(self, lib, uc, pool, counter_cell: int, reg_ids: list[int], fill, intr,
                 code_pages: tuple[tuple[int, int], ...] = (), fault_hooks: bool = True) -> None:
        from unicorn import UC_HOOK_INTR, UC_HOOK_TLB_FILL, UC_MEM_FETCH, UC_MEM_WRITE
        from unicorn import x86_const as X
        from unicorn.unicorn_py3.unicorn import uclib

        st = self.st = State()
        self.ring = (Fault * RING)()
        self.kinds = np.frombuffer(self.ring, np.uint32).reshape(RING, ctypes.sizeof(Fault) // 4)[:, 0]
        n = len(reg_ids)
        self.reg_ids = (ctypes.c_int32 * n)(*reg_ids)
        self.reg_vals = (ctypes.c_uint32 * n)()
        base = ctypes.addressof(self.reg_vals)
        self.reg_ptrs = (ctypes.c_void_p * n)(*[base + 4 * i for i in range(n)])
        self.vma_table = np.zeros(0, np.uint32)
        self.vma_gen = -1
        self.mm = None
        self._fill_cb = FILL_CB(fill)  # kept alive as long as the hooks
        self._intr_cb = INTR_CB(intr)
        self._exec = (ctypes.c_char * len(pool.exec_bytes)).from_buffer(pool.exec_bytes)
        st.mem = pool.mem.ctypes.data
        st.refcount = pool.refcount.ctypes.data
        st.exec_bytes = ctypes.addressof(self._exec)
        st.free_stack = pool.stack.ctypes.data
        st.pool_state = pool.state.ctypes.data
        st.nframes = pool.nframes
        st.ring = ctypes.addressof(self.ring)
        st.ring_cap = RING
        st.insn_cell = counter_cell
        st.reg_read = _addr(uclib.uc_reg_read)
        st.reg_write = _addr(uclib.uc_reg_write)
        st.reg_read_batch = _addr(uclib.uc_reg_read_batch)
        st.py_fill = _addr(self._fill_cb)
        st.py_intr = _addr(self._intr_cb)
        st.reg_ids = ctypes.addressof(self.reg_ids)
        st.reg_ptrs = ctypes.addressof(self.reg_ptrs)
        st.nregs = n
        st.access_write, st.access_fetch = UC_MEM_WRITE, UC_MEM_FETCH
        st.reg_eip, st.reg_eax = X.UC_X86_REG_EIP, X.UC_X86_REG_EAX
        for i, (va, frame) in enumerate(code_pages):
            st.special_va[i], st.special_frame[i] = va, frame
        self.lib = lib
        self.uc = uc
        self.handles = (ctypes.c_size_t * 5)()
        self.block_hook = False
        self.cm = None
        if not fault_hooks:
            return  # only the cycle model's hooks (the Python path's TLB-fill and interrupt hooks run)
        err = lib.fp_install(ctypes.byref(st), uc._uch, _addr(uclib.uc_hook_add), self.handles, UC_HOOK_TLB_FILL,
                             UC_HOOK_INTR)
        if err:
            raise RuntimeError(f"the native fast path could not register its Unicorn hooks (error {err})")

    def _block_table(self) -> None:
        """The table of translated blocks' counts (and summaries), and capstone for the C side."""
        import capstone
        from unicorn.unicorn_py3.unicorn import uclib

        if getattr(self, "_blocks", None) is not None:
            return
        st = self.st
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)  # detail off: lengths only
        st.cs_handle = self._cs.csh.value
        st.cs_disasm = _addr(capstone._cs.cs_disasm)
        st.cs_free = _addr(capstone._cs.cs_free)
        st.emu_stop = _addr(uclib.uc_emu_stop)
        self._blocks = np.zeros(BLOCKS * 32, np.uint8)  # fp_block: paddr, head, size, n, summary, pad
        st.blocks = self._blocks.ctypes.data
        st.blocks_mask = BLOCKS - 1

    def count_by_blocks(self) -> None:
        """Count instructions with the block hook from now on (emu_start then runs without count=)."""
        from unicorn import UC_HOOK_BLOCK
        from unicorn.unicorn_py3.unicorn import uclib

        self._block_table()
        st = self.st
        handle = ctypes.c_size_t.from_buffer(self.handles, 2 * ctypes.sizeof(ctypes.c_size_t))
        err = self.lib.fp_install_block(ctypes.byref(st), self.uc._uch, _addr(uclib.uc_hook_add),
                                        ctypes.byref(handle), UC_HOOK_BLOCK)
        if err:
            raise RuntimeError(f"the native fast path could not register its block hook (error {err})")
        self.block_hook = True

    def install_cycle_model(self, cm) -> None:
        """Price blocks with cm (emu/cyclemodel.py) from now on: the block hook (when it is not already counting)
        and, with the memory model, the data-access hook."""
        from unicorn import UC_HOOK_BLOCK, UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE
        from unicorn.unicorn_py3.unicorn import uclib

        self._block_table()
        self.cm = cm
        cm.forget = self.forget_blocks
        handles = ctypes.cast(ctypes.addressof(self.handles) + 3 * ctypes.sizeof(ctypes.c_size_t), ctypes.c_void_p)
        err = self.lib.fp_install_cm(ctypes.byref(self.st), ctypes.byref(cm.st), self.uc._uch,
                                     _addr(uclib.uc_hook_add), handles, UC_HOOK_BLOCK,
                                     UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, 1 if self.block_hook else 0)
        if err:
            raise RuntimeError(f"the cycle model could not register its Unicorn hooks (error {err})")

    def cm_memory(self, on: bool) -> None:
        """Watch every data access with the memory model from now on (on), or stop watching."""
        from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE
        from unicorn.unicorn_py3.unicorn import uclib

        handle = ctypes.cast(ctypes.addressof(self.handles) + 4 * ctypes.sizeof(ctypes.c_size_t), ctypes.c_void_p)
        err = self.lib.fp_cm_memory(ctypes.byref(self.st), self.uc._uch, _addr(uclib.uc_hook_add),
                                    _addr(uclib.uc_hook_del), handle, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                                    1 if on else 0)
        if err:
            raise RuntimeError(f"the memory model could not {'add' if on else 'remove'} its hook (error {err})")

    def cm_flush(self, eip: int, drain: bool = True) -> None:
        """The CPU stopped at eip: price the block entered last (the part that ran) and, with drain, let what is
        in flight complete."""
        self.lib.fp_cm_flush(ctypes.byref(self.st), eip, 1 if drain else 0)

    def forget_blocks(self) -> None:
        """Drop every block's instruction count (translated code was dropped too)."""
        self._blocks.fill(0)
        self.st.blocks_used = 0

    def index(self, eip: int) -> int:
        """Instructions of the block entered last that start before eip; -1 when eip is outside it."""
        return self.lib.fp_index(ctypes.byref(self.st), eip)

    def after(self, pc: int, size: int, n: int) -> int:
        """The address after the first n instructions of the size bytes at pc (0: they do not decode)."""
        return self.lib.fp_after(ctypes.byref(self.st), pc, size, n)

    def set_mm(self, mm) -> None:
        """Point the C side at mm's page directory; its VMA table goes stale whenever any VMA (or guard region)
        changed since it was built (every change moves kernel_model.mm.vma_generation()). A stale table is rebuilt
        only when a fault needs it: the C side hands such faults to Python, which calls refresh_vmas (so a
        program making 65,530 mappings in a row does not rebuild a growing table 65,530 times)."""
        if mm is self.mm and vma_generation() == self.vma_gen:
            return
        st = self.st
        self.mm = mm
        self.vma_gen = vma_generation()
        st.pgd = mm.pgd
        st.anon_ok = 0 if mm.guards else 1
        st.vmas_stale = 1

    def refresh_vmas(self) -> None:
        """Rebuild the running mm's VMA table for the C side, when it is stale."""
        st = self.st
        if not st.vmas_stale or self.mm is None:
            return
        flat = []
        for v in self.mm.vmas:
            flat += (v.start, v.end, (v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) | (VMA_SHARED if v.shared else 0)
                     | (VMA_ANON if v.obj is None and v.data is None else 0))
        table = self.vma_table = np.array(flat, np.uint32)
        st.vmas = table.ctypes.data
        st.nvmas = len(flat) // 3
        st.vmas_stale = 0
