"""The Unicorn binding: one physical memory, a virtual TLB filled from the kernel model's page tables,
int 0x80 into the kernel model, and the run loop that switches tasks.

Turns Unicorn events into kernel calls and nothing more: every decision is the kernel model's.
"""

from __future__ import annotations

import ctypes
import struct
import sys

import numpy as np

from unicorn import (
    UC_ARCH_X86, UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_ERR_EXCEPTION, UC_ERR_FETCH_PROT, UC_ERR_FETCH_UNMAPPED,
    UC_ERR_INSN_INVALID, UC_ERR_READ_PROT, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_PROT, UC_ERR_WRITE_UNMAPPED,
    UC_HOOK_INSN, UC_HOOK_INTR, UC_HOOK_TLB_FILL, UC_MEM_FETCH, UC_MEM_WRITE, UC_MODE_32, UC_PROT_ALL, UC_PROT_EXEC,
    UC_PROT_READ, UC_PROT_WRITE, UC_TLB_VIRTUAL, Uc, UcError,
)
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib

from kernel_model.abi import SIG
from kernel_model.mm import (
    ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, PAGE_SHIFT, PTE_D, PTE_W, TASK_SIZE, BusError, OutOfMemory, SegFault,
)
from kernel_model.ptregs import PT_REGS_FIELDS, USER_CS, USER_DS
from kernel_model.signal import (
    BUS_ADRERR, FPE_INTDIV, ILL_ILLOPN, RESTART_ERRORS, SEGV_ACCERR, SEGV_MAPERR,
    SI_KERNEL, TRAP_BRKPT,
)
from kernel_model.task import RUNNING, SIG_DFL, SIG_IGN

from .costmodel import CostModel
from . import vdso
from .cpuid import CpuidModel
from .insncount import InsnCounter

RESTART_AX = frozenset(-e & 0xFFFFFFFF for e in RESTART_ERRORS)  # eax holding a kernel-internal restart code

GDT_VADDR = 0xFFFFF000  # the GDT page, mapped read-only in every address space
BOOT_VADDR = 0xFFFFE000  # a page holding the iret that enters user mode once at boot
# The vDSO (emu/vdso.py): the signal-return trampolines a handler without SA_RESTORER returns through
# (__kernel_sigreturn, __kernel_rt_sigreturn) and __kernel_vsyscall, glibc's way into the kernel, which the cost
# model prices as Linux's fast entry.
VDSO_VADDR = 0xFFFFD000
VDSO_CODE = vdso.image()
VSYSCALL = VDSO_VADDR + vdso.VSYSCALL_OFF
VSYSCALL_RET = VSYSCALL + 2  # the eip a syscall entered through __kernel_vsyscall saves
GDT_ENTRIES = 32
# The LDT (modify_ldt) shares the GDT's page: 256 entries from offset 0x800, named by GDT entry 16's selector.
LDT_OFFSET, LDT_BYTES, LDT_SELECTOR = 0x800, 256 * 8, 16 * 8
KERNEL_CS, KERNEL_DS = 0x60, 0x68  # GDT entries 12 and 13, as Linux i386
PERMS_RX = UC_PROT_READ | UC_PROT_EXEC
PERMS_RWX = PERMS_RX | UC_PROT_WRITE
# TLB permissions by (PTE_NX, writable): the model's software NX bit withholds execute permission.
PERMS = (PERMS_RX, UC_PROT_READ, PERMS_RWX, UC_PROT_READ | UC_PROT_WRITE)
UNTIL = BOOT_VADDR + 0xFF0  # on the boot page, which user code cannot legitimately reach (see _fill)

# pt_regs order -> Unicorn register ids (orig_ax has no register: it is the syscall number).
_REG_IDS = {
    "bx": X.UC_X86_REG_EBX, "cx": X.UC_X86_REG_ECX, "dx": X.UC_X86_REG_EDX, "si": X.UC_X86_REG_ESI,
    "di": X.UC_X86_REG_EDI, "bp": X.UC_X86_REG_EBP, "ax": X.UC_X86_REG_EAX, "ds": X.UC_X86_REG_DS,
    "es": X.UC_X86_REG_ES, "fs": X.UC_X86_REG_FS, "gs": X.UC_X86_REG_GS, "ip": X.UC_X86_REG_EIP,
    "cs": X.UC_X86_REG_CS, "flags": X.UC_X86_REG_EFLAGS, "sp": X.UC_X86_REG_ESP, "ss": X.UC_X86_REG_SS,
}
READ_FIELDS = tuple(f for f in PT_REGS_FIELDS if f != "orig_ax")
# the registers put back when a held trap is delivered: whatever the instruction (in/out/ins/outs, a rep of them)
# and the rest of its translated block, which Unicorn may run before it stops, changed
RESTORE_AFTER_HELD_TRAP = ("bx", "cx", "dx", "si", "di", "bp", "ax", "flags", "sp")
# Writing order: general registers first, segment selectors last (cs/ss stay the user ones).
WRITE_FIELDS = ("bx", "cx", "dx", "si", "di", "bp", "ax", "flags", "sp", "ip", "ds", "es", "fs", "gs")

# Exception vectors to the signal Linux sends for them (arch/x86/kernel/traps.c).
TRAP_SIGNALS = {0: SIG.SIGFPE, 1: SIG.SIGTRAP, 3: SIG.SIGTRAP, 4: SIG.SIGSEGV, 5: SIG.SIGSEGV, 6: SIG.SIGILL,
                7: SIG.SIGFPE, 8: SIG.SIGSEGV, 10: SIG.SIGSEGV, 11: SIG.SIGBUS, 12: SIG.SIGBUS, 13: SIG.SIGSEGV,
                14: SIG.SIGSEGV, 16: SIG.SIGFPE, 17: SIG.SIGBUS, 19: SIG.SIGFPE}
TRAP_NAMES = {0: "divide error", 1: "debug trap", 3: "breakpoint", 4: "overflow", 5: "bound range",
              6: "invalid opcode", 7: "no math coprocessor",
              8: "protection fault (reported as a double fault after an earlier exception)",
              13: "general protection fault (privileged or invalid instruction)", 14: "page fault",
              16: "x87 floating-point error", 17: "alignment check", 19: "SIMD floating-point error"}


class HostSignal(BaseException):
    """A signal to the emulator itself (SIGINT, SIGTERM, SIGHUP) ends the run."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


def gdt_descriptor(base: int, limit: int, access: int, flags: int) -> bytes:
    """An 8-byte segment descriptor."""
    lo = ((base & 0xFFFF) << 16) | (limit & 0xFFFF)
    hi = ((base >> 16) & 0xFF) | (access << 8) | (((limit >> 16) & 0xF) << 16) | (flags << 20) | (base & 0xFF000000)
    return struct.pack("<II", lo, hi)


class RegFile:
    """Fast batch access to the CPU registers through the C API (the Python wrapper costs ~25 us a batch)."""

    def __init__(self, uc: Uc, names: tuple[str, ...]) -> None:
        n = len(names)
        self.names = names
        self.handle = uc._uch
        self.ids = (ctypes.c_int * n)(*[_REG_IDS[f] for f in names])
        # 32-bit slots: Unicorn stores 4 bytes for the general registers and 2 for selectors, whose upper
        # half stays 0 because only Unicorn writes this array.
        self.vals = (ctypes.c_uint32 * n)()
        base = ctypes.addressof(self.vals)
        self.ptrs = (ctypes.c_void_p * n)(*[base + 4 * i for i in range(n)])
        self.n = n
        self._read = uclib.uc_reg_read_batch
        self._write = uclib.uc_reg_write_batch

    def read(self) -> list[int]:
        """Current values, in `names` order."""
        self._read(self.handle, self.ids, self.ptrs, self.n)
        return self.vals[:]

    def write(self, values) -> None:
        """Set every register of `names`."""
        self.vals[:] = [v & 0xFFFFFFFF for v in values]
        self._write(self.handle, self.ids, self.ptrs, self.n)


class Cpu:
    """One Unicorn i386 CPU running the kernel model's tasks, one at a time."""

    def __init__(self, kernel, cost: CostModel | None = None, fastpath: bool = True, cycle_model: str = "core",
                 cpuid: str = "host", cycle_sample: int = 1) -> None:
        self.k = kernel
        self.cost = cost or CostModel.default()
        self.slice_start_cycles = 0
        self.rdtsc_count = 0
        self.in_slice = False  # inside emu_start: the running task's count is task.insns + counter.running()
        self.max_insns: int | None = None  # --max-insns: total guest instructions allowed
        self.external_pending: list[int] | None = None  # host terminal signals not yet given to the guest
        self.total_insns = 0
        pool = kernel.pool
        self.pool = pool
        self.words = pool.words
        self.exec_bytes = pool.exec_bytes
        uc = Uc(UC_ARCH_X86, UC_MODE_32)
        self.uc = uc
        self._fresh_ctx = bytes(uc.context_save())  # a CPU with no exception pending (old_exception -1)
        self._old_exc_off: int | None = None
        uc.mem_map_ptr(0, pool.mem.nbytes, UC_PROT_ALL, pool.mem.ctypes.data)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        self.counter = InsnCounter(uc)
        self.regs_in = RegFile(uc, READ_FIELDS)
        self.regs_out = RegFile(uc, WRITE_FIELDS[:10])
        self._eax = ctypes.c_uint64()
        self._eax_ref = ctypes.byref(self._eax)
        self._reg_write = uclib.uc_reg_write
        self._reg_read = uclib.uc_reg_read
        self._eip = ctypes.c_uint64()
        self._eip_ref = ctypes.byref(self._eip)
        self.gdt_frame = pool.alloc()
        self.boot_frame = pool.alloc()
        self.vdso_frame = pool.alloc()
        pool.frames[self.vdso_frame, :len(VDSO_CODE)] = list(VDSO_CODE)
        kernel.sigreturn_trampolines = (VDSO_VADDR + vdso.SIGRETURN_OFF, VDSO_VADDR + vdso.RT_SIGRETURN_OFF)
        kernel.vsyscall = VSYSCALL
        kernel.vdso_base = VDSO_VADDR
        self.cur = None  # the task whose state is in the CPU
        self.cur_mm = None
        self.cur_gen = -1
        self.loaded_tls: list[bytes | None] = [None, None, None]
        self.loaded_ldt = b""  # the LDT entries now in the GDT page (modify_ldt's, of the running mm)
        self.ldtr_set = False
        self.fault: tuple | None = None  # (vaddr, access, maperr) of the last refused translation
        self.fault_bus = False  # ... and it was past the end of a mapped object: SIGBUS, not SIGSEGV
        self.trap: int | None = None
        self.trap_at = None  # (eip, error code, registers) of a trap an instruction hook held (_held_trap)
        self.trap_insns = 0  # the count at that trap (count= mode)
        self.trap_error = 0  # the error code of the exception being reported
        self.host_signal = 0  # a signal to the emulator arrived during a slice (emu.cli._terminate)
        self.stop_reason = ""
        self.oom = False
        self.booting = True
        self.tlb_flushes = 0
        self.tb_flushes = 0
        kernel.task_times = self.task_times
        kernel.fpu_save = self.fxsave
        kernel.fpu_load = self.fxrstor
        self.debugger = None  # the gdb stub (emu/gdbstub.py), when one is attached
        self.fast = None  # the native fast path's hooks (emu/fastpath.py), or None on the Python path
        self.fast_reason = "--no-fastpath"  # why the Python path runs
        self.event_eip: int | None = None  # the eip of a fault the native path served, while it is reported
        self.event_free: int | None = None  # ... and the pool's free frames right after it
        # Instructions are counted by the native block hook (True) or by Unicorn's emu_start(count=): the block
        # hook when the fast path runs and no observer needs the eip and count at each fault (those exist only
        # when an instruction hook syncs them, which count= mode's does); the counts are the same either way.
        self.block_counting = False
        lib = None
        if fastpath:
            from . import fastpath as fp

            lib, self.fast_reason = fp.load()
        if lib is not None:
            self.fast = fp.FastPath(lib, uc, pool, ctypes.addressof(self.counter._cell),
                                    [_REG_IDS[f] for f in READ_FIELDS], self._native_fill, self._native_intr,
                                    ((VDSO_VADDR, self.vdso_frame), (BOOT_VADDR, self.boot_frame)))
        else:
            uc.hook_add(UC_HOOK_TLB_FILL, self._fill)
            uc.hook_add(UC_HOOK_INTR, self._intr)
        self._setup_cycle_model(cycle_model, lib, cycle_sample)
        self.cpuid = CpuidModel(self, cpuid, lib)
        kernel.hwcap = self.cpuid.answer(1, 0)[3] if self.cpuid.mode == "host" else 0  # AT_HWCAP: CPUID.1:EDX
        uc.hook_add(UC_HOOK_INSN, self.cpuid.hook, None, 1, 0, X.UC_X86_INS_CPUID)
        # Unicorn lets ring 3 use in/out and the fast system call instructions; these hooks make them trap as on
        # Linux (they run only when a guest executes one of them)
        uc.hook_add(UC_HOOK_INSN, self._port_in, None, 1, 0, X.UC_X86_INS_IN)
        uc.hook_add(UC_HOOK_INSN, self._port_out, None, 1, 0, X.UC_X86_INS_OUT)
        uc.hook_add(UC_HOOK_INSN, self._fast_entry, X.UC_X86_INS_SYSCALL, 1, 0, X.UC_X86_INS_SYSCALL)
        uc.hook_add(UC_HOOK_INSN, self._fast_entry, X.UC_X86_INS_SYSENTER, 1, 0, X.UC_X86_INS_SYSENTER)
        self._boot()

    def _setup_cycle_model(self, mode: str, lib, sample: int = 1) -> None:
        """The pipeline model (emu/cyclemodel.py) priced by the native block hook: on the fast path its own
        FastPath, on the Python path one with only the pricing hooks. Flat (instructions x cpi) when asked, or when
        the native extension is missing (cycle_model_reason says why)."""
        self.cm = None
        self.cm_fp = None
        self.cm_frozen: int | None = None  # the model's untaken cycles at a native-path fault, while it is reported
        self.cycle_model = "flat"
        self.cycle_model_reason = "--cycle-model flat" if mode == "flat" else ""
        if mode == "flat":
            return
        if mode not in ("pipeline", "core"):
            raise ValueError(f"unknown cycle model {mode!r} (pipeline, core or flat)")
        table = self.cost.table()
        if table is None:
            self.cycle_model_reason = "the cost model has no core table"
            return
        from . import fastpath as fp
        from .cyclemodel import CycleModel

        if lib is None:
            lib, why = fp.load(any_use=True)
            if lib is None:
                self.cycle_model_reason = why
                return
        self.cm = CycleModel(table, memory=mode == "pipeline", sample=sample)
        self.cycle_model = mode
        if self.fast is not None:
            self.cm_fp = self.fast
        else:
            self.cm_fp = fp.FastPath(lib, self.uc, self.pool, ctypes.addressof(self.counter._cell), [],
                                     lambda *a: 0, lambda *a: 0,
                                     ((VDSO_VADDR, self.vdso_frame), (BOOT_VADDR, self.boot_frame)), fault_hooks=False)

    def _core_parts(self, task) -> list[int]:
        """The task's core cycles by source (pipeline, branch, memory, string) in the pipeline model's fixed point,
        the running task's untaken ones included (at a fault the native path served, only its total is known: it is
        counted as pipeline)."""
        parts = list(task.core_fp)
        if task is self.cur:
            if self.cm_frozen is not None:
                parts[0] += self.cm_frozen
            else:
                for i, v in enumerate(self.cm.untaken()):
                    parts[i] += v
        return parts

    def core_fp(self, task) -> int | None:
        """The task's core cycles in the pipeline model's fixed point so far (None: the flat model runs)."""
        return None if self.cm is None else sum(self._core_parts(task))

    def cycles_by_source(self, task) -> dict[str, int]:
        """The task's cycles so far by source: the core's (pipeline, branch, memory, string; or instructions under
        the flat model) and each kernel event's."""
        return self.cost.breakdown(task, None if self.cm is None else self._core_parts(task))

    def cycles(self, task, extra_insns: int = 0) -> int:
        """The task's modelled cycles so far (extra_insns: retired in the slice running now, for the flat model)."""
        return self.cost.cycles(task, extra_insns=extra_insns, core_fp=self.core_fp(task))

    def _take_cycles(self) -> None:
        """Move the cycles the native side priced into the running task's account."""
        task = self.cur
        if task is None:
            return
        c = task.core_fp
        for i, v in enumerate(self.cm.take()):
            c[i] += v

    def cm_stop(self, eip: int) -> None:
        """The CPU stopped at eip (a slice end or a kernel entry on the Python path): price what ran, let it
        complete, and charge it to the running task."""
        self.cm_fp.cm_flush(eip, True)
        self._take_cycles()
        if self.cm.error is not None:
            e, self.cm.error = self.cm.error, None
            raise e

    # ---- boot: GDT and the one iret into ring 3 -----------------------------------------------

    def _boot(self) -> None:
        gdt = bytearray(GDT_ENTRIES * 8)
        gdt[12 * 8:13 * 8] = gdt_descriptor(0, 0xFFFFF, 0x9B, 0xC)  # kernel code, accessed
        gdt[13 * 8:14 * 8] = gdt_descriptor(0, 0xFFFFF, 0x93, 0xC)  # kernel data
        gdt[14 * 8:15 * 8] = gdt_descriptor(0, 0xFFFFF, 0xFB, 0xC)  # user code, DPL 3
        gdt[15 * 8:16 * 8] = gdt_descriptor(0, 0xFFFFF, 0xF3, 0xC)  # user data, DPL 3
        self.pool.frames[self.gdt_frame, :len(gdt)] = list(gdt)
        uc = self.uc
        uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_VADDR, GDT_ENTRIES * 8 - 1, 0))
        uc.reg_write(X.UC_X86_REG_CS, KERNEL_CS)
        uc.reg_write(X.UC_X86_REG_SS, KERNEL_DS)
        # iret frame: eip, cs, eflags, esp, ss; then the iret instruction itself.
        # iret frame (eip, cs, eflags, esp, ss), then iret and a `jmp .` that ends the translated block.
        frame = struct.pack("<5I", BOOT_VADDR + 21, USER_CS, 0x202, BOOT_VADDR, USER_DS) + b"\xcf\xeb\xfe"
        self.pool.frames[self.boot_frame, :len(frame)] = list(frame)
        uc.reg_write(X.UC_X86_REG_ESP, BOOT_VADDR)
        # CR4.TSD: rdtsc at CPL 3 raises #GP, which _intr answers with the model's cycle count.
        uc.reg_write(X.UC_X86_REG_CR4, uc.reg_read(X.UC_X86_REG_CR4) | 0x4)
        uc.emu_start(BOOT_VADDR + 20, UNTIL, count=1)
        for seg in (X.UC_X86_REG_DS, X.UC_X86_REG_ES, X.UC_X86_REG_FS, X.UC_X86_REG_GS):
            uc.reg_write(seg, USER_DS if seg in (X.UC_X86_REG_DS, X.UC_X86_REG_ES) else 0)
        if uc.reg_read(X.UC_X86_REG_CS) != USER_CS or uc.reg_read(X.UC_X86_REG_SS) != USER_DS:
            raise RuntimeError("could not enter user mode (CPL 3) in Unicorn")
        self.booting = False
        # A new program's x87 and SSE state is the FNINIT / reset state Linux gives it (fpstate_init: control
        # word 0x37f, every exception masked, 64-bit precision; MXCSR 0x1f80), not Unicorn's all-zero one.
        uc.reg_write(X.UC_X86_REG_FPCW, 0x37F)
        uc.reg_write(X.UC_X86_REG_FPTAG, 0xFFFF)
        uc.reg_write(X.UC_X86_REG_MXCSR, 0x1F80)
        self.fresh_ctx = uc.context_save()
        self.flush_tlb()

    # ---- memory: the TLB-fill hook is the page-fault entry ----------------------------------------

    def flush_tlb(self) -> None:
        """Drop every cached translation (a CR3 reload)."""
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        self.tlb_flushes += 1

    def _fill(self, uc, vaddr, access, entry, data) -> bool:
        """A TLB miss: the page walk, and when the PTE does not allow the access, the page fault."""
        if vaddr < TASK_SIZE:
            self.cur.tlb_fills += 1
        return self._translate(vaddr, access, entry)

    def _translate(self, vaddr, access, entry) -> bool:
        """The page walk of a TLB miss already counted, and the page fault when the PTE does not allow it."""
        task = self.cur
        if vaddr < TASK_SIZE:
            # Fast path: a present, accessed user page that allows the access (no fault to take).
            words = self.words
            pde = words.item(self.cur_mm.pgd * 1024 + (vaddr >> 22))
            if pde & 1:
                pte = words.item((pde >> 12) * 1024 + ((vaddr >> 12) & 1023))
                if pte & 0x25 == 0x25:  # P | U | A
                    writable = pte & 0x42 == 0x42  # W | D
                    if access == UC_MEM_FETCH:
                        if pte & 0x400:  # PTE_NX
                            return self._fault(task, vaddr, ACCESS_FETCH, entry)
                        self.exec_bytes[pte >> 12] = 1
                    elif access == UC_MEM_WRITE and not writable:
                        return self._fault(task, vaddr, ACCESS_WRITE, entry)
                    entry.paddr = pte & 0xFFFFF000
                    entry.perms = PERMS[(pte >> 10 & 1) | writable << 1]
                    return True
            kind = ACCESS_WRITE if access == UC_MEM_WRITE else ACCESS_FETCH if access == UC_MEM_FETCH else ACCESS_READ
            return self._fault(task, vaddr, kind, entry)
        page = vaddr & 0xFFFFF000
        if page == GDT_VADDR and access != UC_MEM_WRITE:
            entry.paddr = self.gdt_frame << PAGE_SHIFT
            entry.perms = UC_PROT_READ
            return True
        if page == VDSO_VADDR and access != UC_MEM_WRITE:
            entry.paddr = self.vdso_frame << PAGE_SHIFT
            entry.perms = UC_PROT_READ | UC_PROT_EXEC
            self.exec_bytes[self.vdso_frame] = 1
            return True
        if page == BOOT_VADDR and access != UC_MEM_WRITE:
            # Unicorn translates the emu_start `until` address, which lies here; user code that jumps
            # here stops the CPU at UNTIL or faults on the iret, and is killed as a SIGSEGV.
            entry.paddr = self.boot_frame << PAGE_SHIFT
            entry.perms = UC_PROT_READ | UC_PROT_EXEC
            return True
        kind = ACCESS_WRITE if access == UC_MEM_WRITE else ACCESS_FETCH if access == UC_MEM_FETCH else ACCESS_READ
        self.fault = (vaddr, kind, True)
        return False

    def _fault(self, task, vaddr: int, kind: int, entry) -> bool:
        """The page-fault handler's verdict installed in the TLB entry, or the fault recorded for a signal."""
        mm = self.cur_mm
        try:
            pte = mm.handle_fault(vaddr, kind, task.acct)
        except SegFault as e:
            self.fault = (vaddr, kind, e.maperr)
            self.fault_bus = isinstance(e, BusError)
            return False
        except OutOfMemory:
            self.oom = True
            self.fault = (vaddr, kind, False)
            return False
        if kind == ACCESS_FETCH:
            self.exec_bytes[pte >> PAGE_SHIFT] = 1
        entry.paddr = pte & 0xFFFFF000
        entry.perms = PERMS[(pte >> 10 & 1) | bool(pte & PTE_W and pte & PTE_D) << 1]
        if mm.last_fault is not None:
            lf = mm.last_fault
            mm.last_fault = None
            for cb in self.k.hooks.get("fault", ()):
                cb(task, lf)
        return True

    # ---- the x87/SSE state as an fxsave image (what signal frames carry) ----------------------------------

    def fxsave(self) -> bytes:
        """The CPU's x87/SSE state in the 512-byte FXSAVE layout: control, status, abridged tag word, last
        instruction and operand pointers, MXCSR, ST(0)..ST(7) in stack order, XMM0..XMM7."""
        uc = self.uc
        sw = uc.reg_read(X.UC_X86_REG_FPSW)
        tag = uc.reg_read(X.UC_X86_REG_FPTAG)
        ftw = sum(1 << i for i in range(8) if (tag >> (2 * i)) & 3 != 3)
        out = bytearray(512)
        struct.pack_into("<HHBxHIHxxIHxxII", out, 0, uc.reg_read(X.UC_X86_REG_FPCW), sw, ftw,
                         uc.reg_read(X.UC_X86_REG_FOP) & 0x7FF, uc.reg_read(X.UC_X86_REG_FIP) & 0xFFFFFFFF,
                         uc.reg_read(X.UC_X86_REG_FCS) & 0xFFFF, uc.reg_read(X.UC_X86_REG_FDP) & 0xFFFFFFFF,
                         uc.reg_read(X.UC_X86_REG_FDS) & 0xFFFF, uc.reg_read(X.UC_X86_REG_MXCSR), 0xFFFF)
        top = (sw >> 11) & 7
        for i in range(8):
            mant, exp = uc.reg_read(X.UC_X86_REG_FP0 + ((top + i) & 7))
            struct.pack_into("<QH", out, 32 + 16 * i, mant, exp)
        for i in range(8):
            out[160 + 16 * i:176 + 16 * i] = uc.reg_read(X.UC_X86_REG_XMM0 + i).to_bytes(16, "little")
        return bytes(out)

    def fxrstor(self, image: bytes) -> None:
        """Load an fxsave image into the CPU (a MXCSR with reserved bits set is cleared to its defaults, where
        the hardware would fault)."""
        uc = self.uc
        cw, sw, ftw, fop, fip, fcs, fdp, fds, mxcsr = struct.unpack_from("<HHBxHIHxxIHxxI", image)
        uc.reg_write(X.UC_X86_REG_FPCW, cw)
        uc.reg_write(X.UC_X86_REG_FPSW, sw)
        top = (sw >> 11) & 7
        for i in range(8):
            mant, exp = struct.unpack_from("<QH", image, 32 + 16 * i)
            uc.reg_write(X.UC_X86_REG_FP0 + ((top + i) & 7), (mant, exp))
        uc.reg_write(X.UC_X86_REG_FPTAG, sum((0 if ftw >> i & 1 else 3) << (2 * i) for i in range(8)))
        uc.reg_write(X.UC_X86_REG_FOP, fop)
        uc.reg_write(X.UC_X86_REG_FIP, fip)
        uc.reg_write(X.UC_X86_REG_FCS, fcs)
        uc.reg_write(X.UC_X86_REG_FDP, fdp)
        uc.reg_write(X.UC_X86_REG_FDS, fds)
        uc.reg_write(X.UC_X86_REG_MXCSR, mxcsr if not mxcsr & ~0xFFFF else 0x1F80)
        for i in range(8):
            uc.reg_write(X.UC_X86_REG_XMM0 + i, int.from_bytes(image[160 + 16 * i:176 + 16 * i], "little"))

    # ---- kernel entry ------------------------------------------------------------------------------

    def read_eip(self) -> int:
        """EIP through the C API in one call (the binding's reg_read costs ~2 us in its register-class dispatch)."""
        self._reg_read(self.counter.handle, X.UC_X86_REG_EIP, self._eip_ref)
        return self._eip.value & 0xFFFFFFFF

    # ---- the native fast path's callbacks: what its C hooks hand to Python ---------------------------------

    def _native_fill(self, vaddr, access, entry) -> int:
        """A TLB miss the C hook did not serve (it counted it): the Python page walk and fault."""
        try:
            self.sync_native()
            ok = self._translate(vaddr, access, entry[0])
            if self.cur_mm is not None:
                self.fast.set_mm(self.cur_mm)  # the fault may have grown the stack
                self.fast.refresh_vmas()
            return 1 if ok else 0
        except BaseException as e:  # as the binding's own hook wrapper: stop, and raise after emu_start
            self._hook_failed(e)
            return 0

    def _native_intr(self, intno) -> int:
        """An interrupt; for int 0x80 the C hook has read the registers. Returns 1 when it should write eax."""
        try:
            fast = self.fast
            st = fast.st
            if st.tlb_fills or st.nfaults:
                self.sync_native()
            if self.trap_at is not None:
                return 0  # a held trap stops the CPU: what ran on after it (see _held_trap) does not enter the kernel
            if intno != 0x80:
                if self.block_counting:
                    # #DB, #BP and #OF are traps: eip is already past the instruction that raised them
                    self._settle_count(self.read_eip(), after=intno in (1, 3, 4))
                self._interrupt(intno)
                return 0
            if not self._syscall_entry(fast.reg_vals[:]):
                return 0
            st.eax_out = self.cur.regs.ax
            fast.set_mm(self.cur_mm)
            return 1
        except BaseException as e:
            self._hook_failed(e)
            return 0

    def _hook_failed(self, e: BaseException) -> None:
        uc = self.uc
        if uc._hook_exception is None:
            uc._hook_exception = e
        self.stop_cpu()

    def stop_cpu(self) -> None:
        """Ask the CPU to stop at the next instruction boundary (uc.emu_stop), telling the block counter too: a block
        entered after the request does not run."""
        if self.block_counting:
            self.fast.st.stop_requested = 1
        elif self.cm_fp is not None:
            self.cm_fp.st.stop_requested = 1  # the cycle model prices no block (nor access) after it, as in block mode
        self.uc.emu_stop()

    def _settle_count(self, eip: int, after: bool = False) -> None:
        """The block entered last was left at eip by an exception: it counts up to and including the instruction
        that raised it (which Unicorn's count= mode counts too, its hook having run before it), the one at eip for
        a fault, the one before eip for a trap (`after`)."""
        st = self.fast.st
        idx = self.fast.index(eip)
        if idx >= 0:
            st.committed = st.blk_base + idx + (0 if after else 1)
            st.blk_size = 0

    def _emu_slice(self, eip: int, quantum: int) -> None:
        """Run the current task for at most quantum instructions, exactly: emu_start(count=), or with the block
        hook, which stops before the block that would pass the budget; that block's first instructions then run
        alone, as a block translated anew to end where the budget does (and dropped afterwards)."""
        uc = self.uc
        if not self.block_counting:
            uc.emu_start(eip, UNTIL, count=quantum)
            return
        fast = self.fast
        st = fast.st
        st.committed = st.blk_size = st.stop_requested = st.budget_stop = st.held_trap = 0
        st.budget = quantum
        self._run_counted(eip, UNTIL)
        if not st.budget_stop or self.trap is not None:
            return
        rest = quantum - st.committed
        if rest <= 0:
            return
        pc, size = st.stop_pc, st.stop_size
        stop = fast.after(pc, size, rest)
        if not stop:
            raise RuntimeError(f"exact counting: cannot decode {rest} instructions of the block at {pc:#x}")
        uc.ctl_remove_cache(pc, pc + size)
        st.budget_stop = st.stop_requested = 0
        try:
            self._run_counted(pc, stop)
        finally:
            uc.ctl_remove_cache(pc, stop + 1)  # that block ends at `stop`: it must not run again
        if st.budget_stop and self.trap is None:
            raise RuntimeError(f"exact counting: the block at {pc:#x} did not end after {rest} instructions")

    def _run_counted(self, begin: int, until: int) -> None:
        """emu_start counted by the block hook; an exception inside a block settles the count at its eip."""
        try:
            self.uc.emu_start(begin, until)
        except UcError:
            self._settle_count(self.read_eip())
            raise
        finally:
            self.fast.st.held_trap = 0  # fills outside emu_start (a selector load) must never fault

    def sync_native(self) -> None:
        """Take what the C hooks did since last time into the model, in order: the running task's TLB fills and
        the faults they served (counted, and reported to fault observers as the Python path reports them)."""
        fast = self.fast
        if fast is None:
            return
        st = fast.st
        n, fills = st.nfaults, st.tlb_fills
        if not n and not fills:
            return
        task = self.cur
        base = task.tlb_fills
        if n:
            counts = task.acct.counts
            hooks = self.k.hooks.get("fault")
            if hooks:
                counter = self.counter
                try:
                    for rec in fast.ring[:n]:
                        task.tlb_fills = base + rec.fills
                        counts[rec.kind] += 1
                        counter.frozen, self.event_eip = rec.insns, rec.eip
                        self.event_free = rec.free_frames
                        self.cm_frozen = rec.cycles if self.cm is not None else None
                        item = (rec.kind, rec.vaddr, rec.old, rec.new_frame)
                        for cb in hooks:
                            cb(task, item)
                finally:
                    counter.frozen = self.event_eip = self.event_free = self.cm_frozen = None
            else:
                for kind, c in enumerate(np.bincount(fast.kinds[:n], minlength=len(counts)).tolist()):
                    counts[kind] += c
            st.nfaults = 0
        task.tlb_fills = base + fills
        st.tlb_fills = 0

    def eip(self) -> int:
        """The eip an observer sees: the faulting one while a fault the native path served is reported."""
        if self.event_eip is not None:
            return self.event_eip
        return self.read_eip()

    # ---- kernel entry ------------------------------------------------------------------------------

    def _intr(self, uc, intno, data) -> None:
        """The Python path's interrupt hook: int 0x80 reads the registers and writes eax back here."""
        if self.cm is not None:
            self.cm_fp.cm_flush(self.read_eip(), True)  # a kernel entry, as the native interrupt hook does
        if intno != 0x80:
            self._interrupt(intno)
        elif self._syscall_entry(self.regs_in.read()):
            self._eax.value = self.cur.regs.ax
            self._reg_write(self.counter.handle, X.UC_X86_REG_EAX, self._eax_ref)

    def _interrupt(self, intno) -> None:
        """A CPU exception or an int $n other than 0x80."""
        # Unicorn skips the IDT delivery that would reset the CPU's exception state, so after one
        # handled #GP the next arrives as a double fault (8); both can be an rdtsc under CR4.TSD.
        if intno in (8, 13) and self._emulate_rdtsc():
            self._forget_exception(intno)
            return
        if intno < 32:
            self._forget_exception(intno)  # delivered: the next fault must not look like a double fault
        if self.trap is None:
            self.trap = intno
        self.stop_cpu()

    def _syscall_entry(self, user_regs) -> bool:
        """int 0x80 with the user registers read: the syscall, then either a stop of the CPU (the task sleeps, a
        signal frame, a reschedule, ...) or True: write eax and go on."""
        uc = self.uc
        task = self.cur
        k = self.k
        regs = task.regs
        regs.load_user(user_regs)  # SAVE_ALL: the pt_regs the kernel sees
        if regs.ip != VSYSCALL_RET:
            task.int80_syscalls += 1  # not glibc's way in (AT_SYSINFO): priced as an int $0x80 of its own
        k.syscall(task)
        if k.new_tasks:
            for child in k.new_tasks:
                if child.arch is None:
                    child.arch = uc.context_save()  # the parent's CPU state at fork: copy_thread
            k.new_tasks.clear()
        if (task.pending or task.signal.shared_pending) and task.continuation is None and task.state == RUNNING:
            k.do_signal(task)  # exit_to_user_mode: deliver before returning
        if task.state != RUNNING or task.regs_dirty or task.tls_dirty or k.sched.need_resched:
            self.stop_cpu()
            self.stop_reason = "syscall"
            return False
        mm = task.mm
        if mm.tlb_gen != self.cur_gen:
            self.cur_gen = mm.tlb_gen
            self.flush_tlb()
        if self.pool.freed_code:
            self.stop_cpu()
            self.stop_reason = "syscall"
        return True

    def _held_trap(self, uc, vector: int, error_code: int = 0) -> None:
        """An instruction the CPU side must fault on at its own address, before it has any effect: remember the
        vector, the address and the registers the instruction may change, and stop (see _native_trap)."""
        if self.trap is None:
            self.trap = vector
            self.trap_at = (self.read_eip(), error_code, self.regs_in.read())
            # the slice counts the instructions up to and including this one, as for any other fault
            if self.block_counting:
                self._settle_count(self.trap_at[0])
                # Without count= mode's per-instruction exit check, Unicorn runs on to the next memory access
                # before it stops: with the TLB empty and every fill refused while the trap is held, that access
                # faults before it has any effect (the registers are put back by _native_trap).
                self.fast.st.held_trap = 1
                uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)  # not a modelled flush: not counted
            else:
                self.trap_insns = self.counter.running()
        self.stop_cpu()

    def _port_in(self, uc, port, size, data) -> int:
        """in/ins at CPL 3 with IOPL 0 and no I/O bitmap: #GP(0) (Unicorn would read 0 from the port)."""
        self._held_trap(uc, 13)
        return uc.reg_read(X.UC_X86_REG_EAX) & ((1 << (8 * size)) - 1)

    def _port_out(self, uc, port, size, value, data) -> None:
        """out/outs at CPL 3: #GP(0), as _port_in."""
        self._held_trap(uc, 13)

    def _fast_entry(self, uc, which) -> None:
        """syscall and sysenter from 32-bit user mode. The guest's CPUID says GenuineIntel, and an Intel CPU raises
        #UD for syscall outside 64-bit mode (SIGILL). sysenter enters the kernel's fast path, which returns through
        the landing pad of a real vDSO; the model's only entry is int $0x80, so sysenter is refused as a fault
        at the instruction (SIGSEGV) with a line saying why, and the call is not made."""
        if which == X.UC_X86_INS_SYSENTER:
            self.k.warn_once("sysenter", "sysenter: the model enters the kernel only by int $0x80 (the fast entry "
                             "returns through a vDSO the model does not provide); the task gets SIGSEGV")
            self._held_trap(uc, 13)
        else:
            self._held_trap(uc, 6)

    def _forget_exception(self, intno: int) -> None:
        """A #GP the CPU side answered (an rdtsc) was delivered, as far as the CPU is concerned: clear QEMU's
        env->old_exception, which x86_cpu_do_interrupt would reset after a delivery but Unicorn's interrupt hook
        path leaves set. Without this the second such #GP becomes a double fault and the third a triple fault,
        which stops the CPU for good (a dynamic loader's timing rdtscs hung it). The field is found once, as the
        int of the saved CPU state that was -1 in a fresh CPU and holds the exception number now."""
        from unicorn.unicorn_py3.unicorn import UcContext

        uc = self.uc
        ctx = uc.context_save()
        raw = bytearray(bytes(ctx))
        off = self._old_exc_off
        if off is None:
            want, fresh = struct.pack("<i", intno), self._fresh_ctx
            found = [i for i in range(0, min(len(raw), len(fresh)) - 3, 4)
                     if fresh[i:i + 4] == b"\xff\xff\xff\xff" and raw[i:i + 4] == want]
            if len(found) != 1:
                return  # not found for certain: leave the state alone rather than guess
            off = self._old_exc_off = found[0]
        if raw[off:off + 4] == b"\xff\xff\xff\xff":
            return
        raw[off:off + 4] = b"\xff\xff\xff\xff"
        fixed = UcContext.__new__(UcContext)
        fixed.__setstate__((bytes(raw), ctx.size, ctx.arch, ctx.mode))
        uc.context_restore(fixed)

    def _emulate_rdtsc(self) -> bool:
        """rdtsc / rdtscp faulted because of CR4.TSD: return the modelled time-stamp counter (tsc)."""
        uc = self.uc
        task = self.cur
        eip = uc.reg_read(X.UC_X86_REG_EIP)
        try:
            code = task.mm.peek(eip, 3)
        except SegFault:
            return False
        if getattr(task, "tsc_mode", 1) == 2:
            return False  # PR_SET_TSC(PR_TSC_SIGSEGV): the #GP stands, as a SIGSEGV
        if code[:2] == b"\x0f\x31":
            size = 2
        elif code == b"\x0f\x01\xf9":
            size = 3
            uc.reg_write(X.UC_X86_REG_ECX, 0)  # IA32_TSC_AUX: cpu 0
        else:
            return False
        self.rdtsc_count += 1
        tsc = self.tsc(task)
        uc.reg_write(X.UC_X86_REG_EAX, tsc & 0xFFFFFFFF)
        uc.reg_write(X.UC_X86_REG_EDX, (tsc >> 32) & 0xFFFFFFFF)
        uc.reg_write(X.UC_X86_REG_EIP, eip + size)
        return True

    def tsc(self, task) -> int:
        """The time-stamp counter: the cycles the one modelled CPU has spent, every task's so far (the running
        one's slice included), as the TSC counts for every process on a CPU. Idle time is not counted."""
        total = 0
        for t in self.k.all_tasks():
            total += self.cycles(t, extra_insns=self.counter.running() if t is task else 0)
        return total

    def task_times(self, task) -> tuple[int, int]:
        """(user, system) ns of a task from the cycle model: its instructions are user time, the priced kernel
        events (syscalls, faults, switches) system time."""
        extra = self.counter.running() if task is self.cur and self.in_slice else 0
        ghz = self.cost.frequency_ghz
        core = self.core_fp(task)
        if core is None:
            user = (task.insns + extra) * self.cost.cpi
        else:
            from .cyclemodel import ONE

            user = core / ONE
        total = self.cycles(task, extra_insns=extra)
        return int(user / ghz), int(max(0, total - user) / ghz)

    def slice_ns(self) -> int:
        """Modelled nanoseconds the running task has spent in the current slice (for virtual time)."""
        task = self.cur
        if task is None:
            return 0
        spent = self.cycles(task, extra_insns=self.counter.running()) - self.slice_start_cycles
        return int(spent / self.cost.frequency_ghz)

    # ---- switching tasks ---------------------------------------------------------------------------

    def switch_to(self, task) -> None:
        """Load task's CPU state, TLS and address space (__switch_to + switch_mm)."""
        uc = self.uc
        prev = self.cur
        if self.cm is not None:
            self._take_cycles()
        if prev is not task:
            if prev is not None and prev.state == RUNNING or (prev is not None and prev.continuation):
                if prev.arch is None:
                    prev.arch = uc.context_save()
                else:
                    uc.context_update(prev.arch)
            if task.arch is None or task.fpu_reset:
                uc.context_restore(self.fresh_ctx)
                task.fpu_reset = False
                task.regs_dirty = True
            else:
                uc.context_restore(task.arch)
            self.cur = task
            if self.k.hooks:
                self.k.emit("schedule", prev, task)
            if task.tls != self.loaded_tls:
                task.tls_dirty = True
        if task.mm.ldt or self.ldtr_set:
            self.load_ldt(task.mm)  # before the selectors are loaded; its bytes live in the one GDT page
        if task.tls_dirty:
            self.load_tls(task)
        if task.regs_dirty:
            self.load_regs(task)
        elif task.tls_dirty:
            self.reload_segments()
        task.tls_dirty = False
        mm = task.mm
        if mm is not self.cur_mm or mm.tlb_gen != self.cur_gen:
            self.cur_mm = mm
            self.cur_gen = mm.tlb_gen
            self.flush_tlb()

    def load_ldt(self, mm) -> None:
        """Make mm's local descriptor table the CPU's (load_mm_ldt): its entries at LDT_OFFSET of the GDT
        page, and LDTR pointing there (null when the mm has none)."""
        ldt = mm.ldt
        if ldt != self.loaded_ldt:
            frames = self.pool.frames
            frames[self.gdt_frame, LDT_OFFSET:LDT_OFFSET + LDT_BYTES] = 0
            if ldt:
                frames[self.gdt_frame, LDT_OFFSET:LDT_OFFSET + len(ldt)] = list(ldt)
            self.loaded_ldt = ldt
        if ldt:
            self.uc.reg_write(X.UC_X86_REG_LDTR, (LDT_SELECTOR, GDT_VADDR + LDT_OFFSET, len(ldt) - 1, 0x8200))
        else:
            self.uc.reg_write(X.UC_X86_REG_LDTR, (0, 0, 0, 0))
        self.ldtr_set = bool(ldt)

    def load_tls(self, task) -> None:
        """Write the task's three TLS descriptors into GDT entries 6..8 (load_TLS)."""
        frames = self.pool.frames
        for i, d in enumerate(task.tls):
            if d != self.loaded_tls[i]:
                off = (6 + i) * 8
                frames[self.gdt_frame, off:off + 8] = list(d or bytes(8))
                self.loaded_tls[i] = d

    def reload_segments(self) -> None:
        """Reload data segment selectors so their cached descriptors match the GDT (loadsegment)."""
        uc = self.uc
        for r in (X.UC_X86_REG_FS, X.UC_X86_REG_GS):
            sel = uc.reg_read(r)
            try:
                uc.reg_write(r, sel)
            except UcError:
                uc.reg_write(r, 0)

    def save_regs(self, task) -> None:
        """Copy the CPU's registers into task.regs (the pt_regs of a task entering the kernel)."""
        task.regs.load_user(self.regs_in.read())

    def load_regs(self, task) -> None:
        """Put the task's whole pt_regs into the CPU (after fork, exec or a signal frame)."""
        r = task.regs
        self.regs_out.write([getattr(r, f) for f in WRITE_FIELDS[:10]])
        for name in ("ds", "es", "fs", "gs"):
            self._eax.value = getattr(r, name)
            if self._reg_write(self.counter.handle, _REG_IDS[name], self._eax_ref):
                # A selector the GDT does not allow (e.g. a TLS entry exec cleared): null, as Linux does.
                self._eax.value = 0
                self._reg_write(self.counter.handle, _REG_IDS[name], self._eax_ref)
        task.regs_dirty = False

    # ---- the run loop -------------------------------------------------------------------------------

    def run(self) -> int:
        """Run every task until none can run; return the first process's shell-style exit status."""
        k = self.k
        sched = k.sched
        uc = self.uc
        if self.fast is not None and not self.block_counting and not k.hooks.get("fault") and self.debugger is None:
            self.fast.count_by_blocks()
            self.block_counting = True
            self.counter.blocks = self.fast.st
        if self.cm is not None and self.cm_fp.cm is None:
            self.cm_fp.install_cycle_model(self.cm)
        while True:
            if self.host_signal:
                raise HostSignal(self.host_signal)  # one that arrived outside a slice (the gdb stub's kill)
            if self.debugger is not None:
                self.debugger.poll()  # gdb's Ctrl-C
            if self.external_pending:
                sched.external()  # signals from the host terminal, for the guest's foreground group
            task = sched.pick_next()
            if task is None:
                if not k.all_done():
                    self._deadlock()
                break
            self.switch_to(task)
            if task.continuation is not None:
                if not k.resume(task):
                    continue
                self._after_kernel(task)
                if task.state != RUNNING or sched.need_resched:
                    continue
                self.switch_to(task)
            if (task.pending or task.signal.shared_pending) and k.signal_pending(task):
                # A signal arrived while the task was off the CPU: deliver it on the way back to user mode.
                if not task.regs_dirty:
                    self.save_regs(task)
                    task.regs.orig_ax = 0xFFFFFFFF  # not inside a syscall: nothing to restart
                k.do_signal(task)
                if task.state != RUNNING:
                    continue
                if task.regs_dirty:
                    self.load_regs(task)
            if self.pool.freed_code:
                self.pool.freed_code = False
                uc.ctl_flush_tb()
                self.tb_flushes += 1
                if self.block_counting:
                    self.fast.forget_blocks()  # a frame that held code may hold other code next
            self.fault = None
            self.trap = None
            self.trap_at = None
            self.oom = False
            self.stop_reason = ""
            eip = self.read_eip()
            quantum = sched.quantum if not task.nice else sched.quantum_for(task)
            if self.max_insns is not None:
                if self.total_insns >= self.max_insns:
                    return self._insn_limit()
                quantum = min(quantum, self.max_insns - self.total_insns)
            self.slice_start_cycles = self.cycles(task)
            err = None
            self.in_slice = True
            if self.fast is not None:
                self.fast.set_mm(self.cur_mm)
            elif self.cm_fp is not None:
                self.cm_fp.set_mm(self.cur_mm)
            if self.cm is not None:
                self.cm_fp.st.stop_requested = 0
                self.cm.begin_slice(self.cm_fp, self.flush_tlb)
            try:
                self._emu_slice(eip, quantum)
            except UcError as e:
                err = e
                if uc._hook_exception is not None:
                    # a hook raised (an interrupt of the emulator, a model bug) and its failure also made the CPU
                    # report an error: the exception is what happened, not a guest fault
                    raise uc._hook_exception from None
            finally:
                self.sync_native()
                if self.cm is not None:
                    # where the guest stopped: a held trap's instruction (the CPU may have run on past it)
                    self.cm_stop(self.trap_at[0] if self.trap_at is not None else self.read_eip())
                self.in_slice = False
            if self.host_signal:
                raise HostSignal(self.host_signal)
            if err is None and self.trap is None and self.read_eip() == UNTIL:
                self.fault = (UNTIL, ACCESS_FETCH, True)
                err = UcError(UC_ERR_FETCH_UNMAPPED)
            n = self.counter.executed(quantum)
            if self.trap_at is not None and not self.block_counting:
                n = min(n, self.trap_insns)  # count= has counted the instruction after the held trap too
            task.insns += n
            self.total_insns += n
            sched.advance(int((self.cycles(task) - self.slice_start_cycles) / self.cost.frequency_ghz))
            if task.signal is not None and task.signal.cpu_itimers:
                k.run_posix_cpu_timers(task)
            if err is not None or self.trap is not None:
                self._guest_fault(task, err)
            elif task.state == RUNNING and not self.stop_reason:
                sched.preempt()  # the slice ran out
            if self.stop_reason == "syscall":
                self._after_kernel(task)
        return k.exit_code_of_init()

    def _after_kernel(self, task) -> None:
        """Things a finished syscall may have asked of the CPU side."""
        k = self.k
        if k.new_tasks:
            for child in k.new_tasks:
                if child.arch is None:
                    child.arch = self.uc.context_save()
            k.new_tasks.clear()
        if task.state == RUNNING and self.cur is task and (task.pending or task.signal.shared_pending or (
                task.regs.ax in RESTART_AX and task.regs.orig_ax != 0xFFFFFFFF)):
            # a signal to deliver, or a syscall a signal interrupted whose signal another thread took: it
            # restarts (do_signal's no-handler branch), its restart code never reaches user mode
            k.do_signal(task)
        if task.state == RUNNING and self.cur is task:
            if task.tls_dirty:
                self.load_tls(task)
                self.reload_segments()
                task.tls_dirty = False
            if task.regs_dirty:
                if task.fpu_reset:
                    self.uc.context_restore(self.fresh_ctx)
                    task.fpu_reset = False
                    self.load_tls(task)
                self.load_regs(task)
            else:
                self._eax.value = task.regs.ax
                self._reg_write(self.counter.handle, X.UC_X86_REG_EAX, self._eax_ref)
        if task.mm is not None and (task.mm is not self.cur_mm or task.mm.tlb_gen != self.cur_gen) \
                and self.cur is task:
            if task.mm.ldt != self.loaded_ldt or self.ldtr_set:
                self.load_ldt(task.mm)  # modify_ldt or exec changed it
            self.cur_mm = task.mm
            self.cur_gen = task.mm.tlb_gen
            self.flush_tlb()

    def _guest_fault(self, task, err) -> None:
        """A CPU exception in user mode becomes a signal to the faulting thread (do_trap / do_page_fault);
        when it has no handler and kills the task, one line on stderr says where and why."""
        uc = self.uc
        eip = uc.reg_read(X.UC_X86_REG_EIP)
        if self.oom:
            print(f"emu: pid {task.pid} ({task.comm}): out of memory during a page fault at "
                  f"{self.fault[0]:#010x}; killed (SIGKILL)", file=sys.stderr, flush=True)
            self.k.kill_task(task, SIG.SIGKILL)
            return
        eip, err = self._native_trap(task, eip, err)
        insn = self.describe_insn(task, self._trapping_insn(task, eip))
        code, addr = SI_KERNEL, 0
        task.trap_nr, task.error_code = self.trap if self.trap is not None else 6 if err is not None and \
            err.errno == UC_ERR_INSN_INVALID else 14, self.trap_error
        if self.trap is not None and self.trap != 14:
            sig = TRAP_SIGNALS.get(self.trap, SIG.SIGSEGV)
            what = TRAP_NAMES.get(self.trap, f"interrupt {self.trap:#x}")
            msg = f"{what} at eip {eip:#010x} ({insn})"
            if sig in (SIG.SIGILL, SIG.SIGFPE):
                code, addr = (ILL_ILLOPN if sig == SIG.SIGILL else FPE_INTDIV), eip
            elif self.trap == 1:
                code, addr = TRAP_BRKPT, eip
        elif err is not None and err.errno == UC_ERR_INSN_INVALID:
            sig = SIG.SIGILL
            code, addr = ILL_ILLOPN, eip
            msg = f"invalid instruction at eip {eip:#010x} ({insn})"
        elif self.fault is not None or (err is not None and err.errno in (
                UC_ERR_EXCEPTION, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED,
                UC_ERR_READ_PROT, UC_ERR_WRITE_PROT, UC_ERR_FETCH_PROT)):
            sig = SIG.SIGSEGV
            if self.fault is not None and self.fault_bus:
                sig = SIG.SIGBUS
                vaddr = self.fault_address(task, eip, self.fault[0])
                code, addr = BUS_ADRERR, vaddr
                msg = f"access to {vaddr:#010x} past the end of its mapped object by instruction at {eip:#010x} " \
                      f"({insn})"
                self.fault_bus = False
            elif self.fault is not None:
                vaddr, kind, maperr = self.fault
                vaddr = self.fault_address(task, eip, vaddr)
                code, addr = (SEGV_MAPERR if maperr else SEGV_ACCERR), vaddr
                # the page-fault error code: protection (not a missing page), write, user, instruction fetch
                task.cr2, task.error_code = vaddr, (0 if maperr else 1) | (2 if kind == ACCESS_WRITE else 0) | 4 \
                    | (0x10 if kind == ACCESS_FETCH else 0)
                verb = ("write to", "read from", "execute")[[ACCESS_WRITE, ACCESS_READ, ACCESS_FETCH].index(kind)]
                why = "unmapped address" if maperr else "protected address"
                msg = f"{verb} {why} {vaddr:#010x} by instruction at {eip:#010x} ({insn})"
            else:
                msg = f"memory fault ({err}) at eip {eip:#010x} ({insn})"
        else:
            sig = SIG.SIGSEGV
            msg = f"CPU error {err} at eip {eip:#010x} ({insn})"
        handler = task.sighand.handler(sig)
        if handler in (SIG_DFL, SIG_IGN) or task.blocked & (1 << (sig - 1)):
            print(f"emu: pid {task.pid} ({task.comm}): {msg}: killed by {_signame(sig)}", file=sys.stderr,
                  flush=True)
        self.save_regs(task)
        task.regs.orig_ax = 0xFFFFFFFF
        self.k.force_fault(task, sig, code, addr)
        self.k.do_signal(task)
        if task.state == RUNNING and task.regs_dirty:
            self.load_regs(task)

    def _native_trap(self, task, eip: int, err):
        """Make the exception Unicorn reported the one Linux's CPU would have raised: (eip, err) to report.

        A trap an instruction hook held (in/out, syscall, sysenter) is put back at its instruction with the
        registers it changed restored; `int $n` for a vector whose gate is not open to user mode (all but 3, 4
        and 0x80) is a #GP at the int with error code n*8+2 (Unicorn delivers it as the interrupt, after the
        instruction); rdpmc with CR4.PCE clear is a #GP, not Unicorn's #UD."""
        uc = self.uc
        self.trap_error = 0
        if self.trap_at is not None:
            at, self.trap_error, saved = self.trap_at
            for name, value in zip(READ_FIELDS, saved, strict=True):
                if name in RESTORE_AFTER_HELD_TRAP:
                    uc.reg_write(_REG_IDS[name], value)
            uc.reg_write(X.UC_X86_REG_EIP, at)
            return at, None
        trap = self.trap
        try:
            before = task.mm.peek(eip - 2, 2) if eip >= 2 else b""
            here = task.mm.peek(eip, 2)
        except SegFault:
            return eip, err
        if trap is not None and trap not in (3, 4, 0x80) and before == bytes((0xCD, trap)):
            self.trap, self.trap_error = 13, trap << 3 | 2
            uc.reg_write(X.UC_X86_REG_EIP, eip - 2)
            return eip - 2, err
        undefined = trap == 6 or (err is not None and err.errno == UC_ERR_INSN_INVALID)
        if here == b"\x0f\x33" and undefined:
            self.trap = 13
            return eip, None
        if here[:1] == b"\xf1" and undefined:
            self.trap = 1  # icebp (int1): a debug trap, which Linux reports at the instruction (TRAP_BRKPT)
            return eip, None
        return eip, err

    def _trapping_insn(self, task, eip: int) -> int:
        """Where the instruction a report should name starts: a trap (int3, int $3, into) leaves eip after it."""
        if self.trap in (3, 4):
            for size, code in ((1, b"\xcc"), (2, b"\xcd\x03"), (1, b"\xce")):
                try:
                    if eip >= size and task.mm.peek(eip - size, size) == code:
                        return eip - size
                except SegFault:
                    pass
        return eip

    def fault_address(self, task, eip: int, page_addr: int) -> int:
        """The faulting byte's address (the TLB-fill hook only sees its page): recomputed from the
        instruction's memory operand and the registers, kept when it lies in the faulting page."""
        from capstone import CS_ARCH_X86, CS_MODE_32, Cs
        from capstone import x86_const as C

        try:
            code = task.mm.peek(eip, 15)
        except SegFault:
            return page_addr
        md = Cs(CS_ARCH_X86, CS_MODE_32)
        md.detail = True
        regs = dict(zip(READ_FIELDS, self.regs_in.read(), strict=True))
        names = {C.X86_REG_EAX: "ax", C.X86_REG_EBX: "bx", C.X86_REG_ECX: "cx", C.X86_REG_EDX: "dx",
                 C.X86_REG_ESI: "si", C.X86_REG_EDI: "di", C.X86_REG_EBP: "bp", C.X86_REG_ESP: "sp"}
        for insn in md.disasm(code, eip, 1):
            for op in insn.operands:
                if op.type != C.X86_OP_MEM:
                    continue
                m = op.mem
                addr = m.disp
                if m.base in names:
                    addr += regs[names[m.base]]
                if m.index in names:
                    addr += regs[names[m.index]] * m.scale
                if m.segment in (C.X86_REG_GS, C.X86_REG_FS):
                    sel = regs["gs" if m.segment == C.X86_REG_GS else "fs"]
                    idx = (sel >> 3) - 6
                    d = task.tls[idx] if 0 <= idx < 3 else None
                    if d:
                        lo, hi = struct.unpack("<II", d)
                        addr += (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)
                addr &= 0xFFFFFFFF
                if addr & ~0xFFF == page_addr & ~0xFFF:
                    return addr
        return page_addr

    def describe_insn(self, task, eip: int) -> str:
        """The instruction at eip, disassembled, or '?' when its bytes cannot be read."""
        code = b""
        for n in (15, 0x1000 - (eip & 0xFFF)):
            try:
                code = task.mm.peek(eip, min(n, 15)) if eip < TASK_SIZE else b""
                break
            except SegFault:
                continue
        else:
            return "instruction bytes unreadable"
        if not code:
            return "?"
        from capstone import CS_ARCH_X86, CS_MODE_32, Cs

        for i in Cs(CS_ARCH_X86, CS_MODE_32).disasm(code, eip):
            return f"{i.mnemonic} {i.op_str}".strip()
        return "undecodable bytes " + code[:4].hex()

    def _insn_limit(self) -> int:
        """--max-insns reached: say so, kill every task, and report 128 + SIGKILL."""
        eip = self.uc.reg_read(X.UC_X86_REG_EIP)
        print(f"emu: instruction limit of {self.max_insns} reached at eip {eip:#x}; every task is killed",
              file=sys.stderr, flush=True)
        for t in list(self.k.tasks.values()):
            if t.is_alive():
                self.k.kill_task(t, SIG.SIGKILL)
        return 128 + SIG.SIGKILL

    def _deadlock(self) -> None:
        sleepers = [t for t in self.k.tasks.values() if t.state == "sleeping"]
        desc = ", ".join(f"pid {t.pid} on {t.wait_channel or 'a wait queue'}" for t in sleepers)
        print(f"emu: every task is asleep with nothing to wake it ({desc}); stopping", file=sys.stderr, flush=True)
        for t in sleepers:
            self.k.kill_task(t, SIG.SIGKILL)


def _signame(sig: int) -> str:
    from kernel_model.abi import signal_name

    return signal_name(sig)
