"""struct pt_regs as the i386 kernel saves it on entry (arch/x86/include/asm/ptrace.h)."""

from __future__ import annotations

# Field order of the 32-bit struct pt_regs: bx, cx, dx, si, di, bp, ax, ds, es, fs, gs, orig_ax,
# ip, cs, flags, sp, ss (Linux names them without the leading "e").
PT_REGS_FIELDS = (
    "bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs", "orig_ax",
    "ip", "cs", "flags", "sp", "ss",
)

USER_CS = 0x73  # __USER_CS: GDT entry 14, RPL 3
USER_DS = 0x7B  # __USER_DS: GDT entry 15, RPL 3
INITIAL_EFLAGS = 0x202  # IF set, reserved bit 1 set (as start_thread leaves it)


class PtRegs:
    """The user registers saved at kernel entry; the syscall return value goes back in ax."""

    __slots__ = PT_REGS_FIELDS

    def __init__(self, *values: int) -> None:
        if values and len(values) != len(PT_REGS_FIELDS):
            raise ValueError(f"pt_regs takes {len(PT_REGS_FIELDS)} values, got {len(values)}")
        for name, value in zip(PT_REGS_FIELDS, values or (0,) * len(PT_REGS_FIELDS), strict=True):
            setattr(self, name, value)

    @classmethod
    def for_new_program(cls, ip: int, sp: int) -> PtRegs:
        """Registers as start_thread() leaves them for a freshly exec'd program."""
        r = cls()
        r.ip, r.sp, r.flags = ip, sp, INITIAL_EFLAGS
        r.cs, r.ss, r.ds, r.es = USER_CS, USER_DS, USER_DS, USER_DS
        r.orig_ax = 0xFFFFFFFF
        return r

    def load_user(self, v) -> None:
        """Set every field but orig_ax from 16 values in struct order (the entry code's SAVE_ALL)."""
        (self.bx, self.cx, self.dx, self.si, self.di, self.bp, self.ax, self.ds, self.es, self.fs, self.gs,
         self.ip, self.cs, self.flags, self.sp, self.ss) = v

    def values(self) -> tuple[int, ...]:
        """All 17 fields in struct order."""
        return tuple(getattr(self, n) for n in PT_REGS_FIELDS)

    def copy(self) -> PtRegs:
        """A field-by-field copy (what copy_thread does with *childregs = *current_pt_regs())."""
        return PtRegs(*self.values())

    def args(self) -> tuple[int, int, int, int, int, int]:
        """The six i386 syscall arguments: ebx, ecx, edx, esi, edi, ebp."""
        return (self.bx, self.cx, self.dx, self.si, self.di, self.bp)

    def as_dict(self) -> dict[str, int]:
        """Field name to 32-bit value, in struct order."""
        return {n: getattr(self, n) & 0xFFFFFFFF for n in PT_REGS_FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PtRegs) and self.values() == other.values()

    def __repr__(self) -> str:
        return "PtRegs(" + ", ".join(f"{n}={getattr(self, n):#x}" for n in PT_REGS_FIELDS) + ")"
