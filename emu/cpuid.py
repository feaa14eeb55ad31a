"""What CPUID tells the guest: the host's processor, with the features both the host and Unicorn implement.

glibc picks its string functions (IFUNCs) and cache sizes from CPUID. Unicorn's own answer is a fixed Intel Haswell,
so on any other host the emulator would run other code than the host runs. With `--cpuid host` (the default) the
guest sees the host's vendor, family, model, stepping and brand string, the host's cache and TLB descriptions, and
for every feature word the bits set on both the host and Unicorn's CPU (a feature Unicorn does not implement is
cleared, so the guest never takes a path the emulator cannot run). XSAVE's layout (leaf 0xd) and the leaves this
table does not name are Unicorn's. `--cpuid unicorn` leaves Unicorn's answers alone.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_ARCH_X86, UC_MODE_32, Uc
from unicorn import x86_const as X

INTEL, AMD = "GenuineIntel", "AuthenticAMD"
# leaves whose every word is a feature bit mask, by (leaf, subleaf or None for all): words to intersect
_FEATURE_WORDS = {1: (2, 3), 7: (1, 2, 3), 0x80000001: (2, 3)}
# leaves that describe the host's caches, TLBs, brand and address sizes: passed through as the host says
_HOST_INFO = {0x80000002, 0x80000003, 0x80000004, 0x80000005, 0x80000006, 0x80000008, 0x8000001D}
_INTEL_INFO = {2, 4}

_UNICORN: dict = {}  # (leaf, sub) -> Unicorn's answer, from a scratch CPU


def unicorn_cpuid(leaf: int, sub: int = 0) -> tuple[int, int, int, int]:
    """Unicorn's own CPUID answer (run in a scratch CPU)."""
    key = (leaf, sub)
    if key not in _UNICORN:
        uc = _UNICORN.get("uc")
        if uc is None:
            uc = _UNICORN["uc"] = Uc(UC_ARCH_X86, UC_MODE_32)
            uc.mem_map(0x1000, 0x1000)
            uc.mem_write(0x1000, b"\x0f\xa2")
        uc.reg_write(X.UC_X86_REG_EAX, leaf)
        uc.reg_write(X.UC_X86_REG_ECX, sub)
        uc.emu_start(0x1000, 0x1002)
        _UNICORN[key] = tuple(uc.reg_read(r) & 0xFFFFFFFF for r in (X.UC_X86_REG_EAX, X.UC_X86_REG_EBX,
                                                                   X.UC_X86_REG_ECX, X.UC_X86_REG_EDX))
    return _UNICORN[key]


class HostCpuid:
    """The host's CPUID, through the native extension (None when it is not built or this is not an x86 host)."""

    def __init__(self, lib) -> None:
        self.lib = lib
        self._cache: dict = {}
        self.ok = lib is not None and self.get(0) != (0, 0, 0, 0)

    def get(self, leaf: int, sub: int = 0) -> tuple[int, int, int, int]:
        key = (leaf, sub)
        if key not in self._cache:
            out = (ctypes.c_uint32 * 4)()
            if self.lib is None or not self.lib.fp_host_cpuid(leaf, sub, out):
                return (0, 0, 0, 0)
            self._cache[key] = tuple(out)
        return self._cache[key]

    def vendor(self) -> str:
        _, b, c, d = self.get(0)
        return b"".join(x.to_bytes(4, "little") for x in (b, d, c)).decode("latin-1")


class CpuidModel:
    """The guest's CPUID (see the module's docstring); `hook` is the UC_HOOK_INSN callback."""

    def __init__(self, cpu, mode: str, lib) -> None:
        if mode not in ("host", "unicorn"):
            raise ValueError(f"unknown cpuid mode {mode!r} (host or unicorn)")
        if lib is None:
            from . import fastpath as fp

            lib, _ = fp.load(any_use=True)
        self.host = HostCpuid(lib)
        self.mode = mode if self.host.ok else "unicorn"
        self.reason = "" if self.host.ok or mode == "unicorn" else "the host's CPUID is not readable here"
        self.calls = 0
        self._answers: dict = {}

    def answer(self, leaf: int, sub: int) -> tuple[int, int, int, int]:
        """What the guest sees for (leaf, subleaf)."""
        key = (leaf, sub)
        if key in self._answers:
            return self._answers[key]
        h, u = self.host.get, unicorn_cpuid
        vendor = self.host.vendor()
        if leaf == 0:
            a = min(h(0)[0], u(0)[0])
            out = (a, *h(0)[1:])
        elif leaf == 0x80000000:
            out = (max(h(leaf)[0], u(leaf)[0]) if h(leaf)[0] >= 0x80000000 else u(leaf)[0], *h(leaf)[1:])
        elif leaf in _FEATURE_WORDS:
            hv, uv = h(leaf, sub), u(leaf, sub)
            words = list(hv)
            for w in _FEATURE_WORDS[leaf]:
                words[w] = hv[w] & uv[w]
            if leaf == 1:  # one logical processor, APIC id 0 (the model has one CPU)
                words[1] = (hv[1] & 0x0000FFFF) | (1 << 16)
                words[3] &= ~(1 << 28)  # HTT
            elif leaf == 7 and sub == 0:
                words[0] = min(hv[0], uv[0])
            out = tuple(words)
        elif leaf in _HOST_INFO or (leaf in _INTEL_INFO and vendor == INTEL):
            out = h(leaf, sub)
            if leaf == 4:  # cores and threads sharing the cache: one CPU
                out = (out[0] & 0x3FF, *out[1:])
        else:
            out = u(leaf, sub)
        self._answers[key] = out
        return out

    def hook(self, uc, data) -> int:
        """CPUID executed: answer it (return 1: Unicorn's own answer is skipped)."""
        if self.mode != "host":
            return 0
        self.calls += 1
        leaf = uc.reg_read(X.UC_X86_REG_EAX) & 0xFFFFFFFF
        sub = uc.reg_read(X.UC_X86_REG_ECX) & 0xFFFFFFFF
        for reg, v in zip((X.UC_X86_REG_EAX, X.UC_X86_REG_EBX, X.UC_X86_REG_ECX, X.UC_X86_REG_EDX),
                          self.answer(leaf, sub), strict=True):
            uc.reg_write(reg, v)
        return 1
