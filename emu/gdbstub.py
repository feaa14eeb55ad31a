"""`emu run --gdb PORT`: a gdb remote-protocol stub (RSP) for the task on the modelled CPU.

This is a small RSP server of the project's own, not udbserver: udbserver debugs one Unicorn context, and here
one Unicorn CPU runs many tasks whose register sets the scheduler swaps in and out; this stub reports each task
as a gdb thread (thread id = its pid) and always answers for the task on the CPU when it stopped.

What it serves (see README, "Debugging with gdb"):

* stops before the first instruction of the program, at software or hardware breakpoints (`Z0`/`Z1`), after
  a single step (`s`) and, with `catch syscall`, at each syscall's entry and return (`QCatchSyscalls`,
  `T05syscall_entry:NR` / `T05syscall_return:NR`), which is where the model runs them: at `int $0x80`;
* registers (`g`, `p`) through a target description: i386 core (eax..gs, the x87 registers), and Linux's
  orig_eax; at a syscall stop they are the syscall's `struct pt_regs`; registers can be written (`P`) at an
  instruction stop;
* memory of the task on the CPU (`m`), read as the tracer reads it, without faulting a page in;
* threads (`qfThreadInfo`, `qC`, `T`), `D` (detach: the run goes on without the stub) and `k` (end the run,
  every task killed, exit status 137).

Breakpoint checks run in the native fast path's code hook when it is built (a compare per instruction in C,
Python only at a stop); otherwise in a Python code hook. While gdb is attached instructions are counted by
Unicorn's count= (as with fault observers), and a stop never changes the guest's schedule: it happens inside
a hook, between instructions, and the run continues from there.
"""

from __future__ import annotations

import ctypes
import select
import signal
import socket
import sys
import time

import unicorn.x86_const as X
from unicorn import UC_HOOK_CODE

from kernel_model.mm import SegFault, TASK_SIZE

from .cpu import _REG_IDS

SIGTRAP = 5

TARGET_XML = """<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>i386</architecture>
  <osabi>GNU/Linux</osabi>
  <feature name="org.gnu.gdb.i386.core">
    <flags id="i386_eflags" size="4">
      <field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
      <field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
      <field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
      <field name="OF" start="11" end="11"/>
    </flags>
    <reg name="eax" bitsize="32" type="int32"/>
    <reg name="ecx" bitsize="32" type="int32"/>
    <reg name="edx" bitsize="32" type="int32"/>
    <reg name="ebx" bitsize="32" type="int32"/>
    <reg name="esp" bitsize="32" type="data_ptr"/>
    <reg name="ebp" bitsize="32" type="data_ptr"/>
    <reg name="esi" bitsize="32" type="int32"/>
    <reg name="edi" bitsize="32" type="int32"/>
    <reg name="eip" bitsize="32" type="code_ptr"/>
    <reg name="eflags" bitsize="32" type="i386_eflags"/>
    <reg name="cs" bitsize="32" type="int32"/>
    <reg name="ss" bitsize="32" type="int32"/>
    <reg name="ds" bitsize="32" type="int32"/>
    <reg name="es" bitsize="32" type="int32"/>
    <reg name="fs" bitsize="32" type="int32"/>
    <reg name="gs" bitsize="32" type="int32"/>
    <reg name="st0" bitsize="80" type="i387_ext"/>
    <reg name="st1" bitsize="80" type="i387_ext"/>
    <reg name="st2" bitsize="80" type="i387_ext"/>
    <reg name="st3" bitsize="80" type="i387_ext"/>
    <reg name="st4" bitsize="80" type="i387_ext"/>
    <reg name="st5" bitsize="80" type="i387_ext"/>
    <reg name="st6" bitsize="80" type="i387_ext"/>
    <reg name="st7" bitsize="80" type="i387_ext"/>
    <reg name="fctrl" bitsize="32" type="int" group="float"/>
    <reg name="fstat" bitsize="32" type="int" group="float"/>
    <reg name="ftag" bitsize="32" type="int" group="float"/>
    <reg name="fiseg" bitsize="32" type="int" group="float"/>
    <reg name="fioff" bitsize="32" type="int" group="float"/>
    <reg name="foseg" bitsize="32" type="int" group="float"/>
    <reg name="fooff" bitsize="32" type="int" group="float"/>
    <reg name="fop" bitsize="32" type="int" group="float"/>
  </feature>
  <feature name="org.gnu.gdb.i386.linux">
    <reg name="orig_eax" bitsize="32" type="int" regnum="41"/>
  </feature>
</target>
"""

# gdb's register numbers (the order above): the 16 general registers, st0-st7, 8 x87 control registers,
# orig_eax (41)
# The general registers in gdb's order (eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs), named by
# their struct pt_regs fields; emu.cpu's _REG_IDS gives each one's Unicorn register.
GPRS = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "ip", "flags", "cs", "ss", "ds", "es", "fs", "gs")
X87_CTRL = (X.UC_X86_REG_FPCW, X.UC_X86_REG_FPSW, X.UC_X86_REG_FPTAG, X.UC_X86_REG_FCS, X.UC_X86_REG_FIP,
            X.UC_X86_REG_FDS, X.UC_X86_REG_FDP, X.UC_X86_REG_FOP)
ORIG_EAX = 41
NREGS = 42

DBG_MAX_BPS = 64


class FpDbg(ctypes.Structure):
    """The C code hook's state (fp_dbg in emu/_fastpath.c)."""

    _fields_ = [("step", ctypes.c_int64), ("nbps", ctypes.c_int64), ("bps", ctypes.c_uint64 * DBG_MAX_BPS),
                ("cb", ctypes.c_void_p)]


DBG_CB = ctypes.CFUNCTYPE(None, ctypes.c_uint64)


def _ext80(v) -> int:
    """An x87 register as Unicorn gives it ((mantissa, exponent), or one int from a saved context) to 80 bits."""
    if isinstance(v, tuple):
        mant, exp = v
        return mant | (exp & 0xFFFF) << 64
    return v & ((1 << 80) - 1)


class GdbKill(Exception):
    """gdb asked to end the run."""


def checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


def escape_binary(data: bytes) -> bytes:
    """The RSP's binary escaping ('}' then the byte xor 0x20) for #, $, } and *."""
    out = bytearray()
    for b in data:
        if b in b"#$}*":
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


class GdbStub:
    """Serves one gdb connection for a Machine's run."""

    def __init__(self, machine, port: int, host: str = "127.0.0.1") -> None:
        self.m = machine
        self.cpu = machine.cpu
        self.k = machine.kernel
        self.port = port
        try:
            self.listener = socket.create_server((host, port), reuse_port=False)
        except OSError as e:
            raise SystemExit(f"emu: --gdb {port}: cannot listen on {host}:{port}: {e.strerror}") from None
        self.conn: socket.socket | None = None
        self.buf = b""
        self.ack = True
        self.attached = True
        self.bps: list[int] = []
        self.step = True  # stop before the program's first instruction
        self.catch: set[int] | None = None  # QCatchSyscalls: None off, empty set all, else those numbers
        self.last_stop: tuple | None = None  # (pid, retired instructions, eip) of the last instruction stop
        self.stop_task = None
        self.interrupted = False  # gdb sent Ctrl-C while the guest ran
        self.stop_regs = None  # the pt_regs of a syscall stop, None at an instruction stop
        self.stop_result: int | None = None  # a syscall return stop's result (eax)
        self.pending_reply = ""
        self.selected = None  # Hg: another task whose registers gdb reads
        self.cpu.debugger = self
        self._install()
        machine.on("syscall_enter", self.on_syscall_enter)
        machine.on("syscall_exit", self.on_syscall_exit)

    # ---- the code hook ---------------------------------------------------------------------------------------

    def _install(self) -> None:
        from . import fastpath as fp

        # the native code hook when the CPU runs the native fast path; with --no-fastpath (or no extension) the
        # reference Python hook, called at every instruction
        lib = fp.load()[0] if self.cpu.fast is not None else None
        self._cb = DBG_CB(self._on_code)
        uc = self.cpu.uc
        if lib is not None and lib.fp_dbg_size() == ctypes.sizeof(FpDbg):
            from unicorn.unicorn_py3.unicorn import uclib

            self.dbg = FpDbg()
            self.dbg.cb = ctypes.cast(self._cb, ctypes.c_void_p).value
            self._handle = ctypes.c_size_t()
            lib.fp_install_dbg.restype = ctypes.c_int
            lib.fp_install_dbg.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_int32]
            err = lib.fp_install_dbg(ctypes.byref(self.dbg), uc._uch,
                                     ctypes.cast(uclib.uc_hook_add, ctypes.c_void_p).value,
                                     ctypes.byref(self._handle), UC_HOOK_CODE)
            if err:
                raise RuntimeError(f"the gdb stub could not register its code hook (error {err})")
        else:
            self.dbg = FpDbg()
            uc.hook_add(UC_HOOK_CODE, lambda uc, addr, size, data: self._py_check(addr))
        self._sync()

    def _py_check(self, addr: int) -> None:
        d = self.dbg
        if d.step or addr in self.bps:
            self._on_code(addr)

    def _sync(self) -> None:
        d = self.dbg
        d.step = 1 if (self.step and self.attached) else 0
        bps = self.bps if self.attached else []
        d.nbps = len(bps)
        for i, a in enumerate(bps):
            d.bps[i] = a

    def _on_code(self, addr: int) -> None:
        """An instruction at a breakpoint, or the next one while stepping: stop there, before it runs."""
        try:
            task = self.cpu.cur
            if task is None or addr >= TASK_SIZE:
                return
            key = (task.pid, self.m.insns(task), addr)
            if key == self.last_stop:
                return  # the same instruction again (its slice ended before it ran): one stop only
            self.last_stop = key
            self.stop_task, self.stop_regs = task, None
            reason = "swbreak:;" if addr in self.bps and not self.step else ""
            signo = 2 if self.interrupted else SIGTRAP  # gdb's Ctrl-C: a stop with SIGINT
            self.step = self.interrupted = False
            self._sync()
            self.stopped(f"T{signo:02x}{reason}thread:{task.pid:x};")
        except GdbKill:
            self._kill()
        except Exception as e:  # a ctypes callback cannot raise: end the run with the reason instead
            print(f"emu: gdb stub: {type(e).__name__}: {e}", file=sys.stderr)
            self._kill()

    def on_syscall_enter(self, task, nr, name):
        if self.catch is None or not self.attached or (self.catch and nr not in self.catch):
            return None
        # the entry stop shows eax = -ENOSYS and the number in orig_eax, as ptrace does (entry_INT80_32 saves
        # -ENOSYS in pt_regs->ax before the syscall runs)
        self._syscall_stop(task, f"T05syscall_entry:{nr:x};thread:{task.pid:x};", task.regs, -38)
        return None

    def on_syscall_exit(self, task, nr, name, result):
        if self.catch is None or not self.attached or (self.catch and nr not in self.catch):
            return
        self._syscall_stop(task, f"T05syscall_return:{nr:x};thread:{task.pid:x};", task.regs, result)

    def _syscall_stop(self, task, reply: str, regs, result: int | None = None) -> None:
        self.stop_task, self.stop_regs, self.stop_result = task, regs, result
        self.last_stop = (task.pid, self.m.insns(task), None)
        try:
            self.stopped(reply)
        except GdbKill:
            self._kill()
        self.stop_regs = None

    def _kill(self) -> None:
        """End the run at once: every guest task is killed, as a signal to the emulator does (gdb's kill is
        SIGKILL; a signal that arrived while the stub waited keeps its own number)."""
        self.attached = False
        self._sync()
        if not self.cpu.host_signal:
            self.cpu.host_signal = signal.SIGKILL
        self.cpu.uc.emu_stop()

    # ---- the connection ----------------------------------------------------------------------------------------

    def poll(self) -> None:
        """Between time slices: a Ctrl-C from gdb (a 0x03 byte) stops the run at the next instruction."""
        if self.conn is None or not self.attached:
            return
        ready, _, _ = select.select([self.conn], [], [], 0)
        if not ready:
            return
        try:
            chunk = self.conn.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:  # gdb went away: go on without it
            self.attached = False
            self._sync()
            return
        if b"\x03" in chunk:
            self.interrupted = self.step = True
            self._sync()
            chunk = chunk.replace(b"\x03", b"")
        self.buf += chunk

    def wait_for_gdb(self) -> None:
        """Say where gdb should connect; the connection is accepted at the first instruction."""
        print(f"emu: waiting for gdb on 127.0.0.1:{self.port} (target remote :{self.port})", file=sys.stderr,
              flush=True)

    def _accept(self) -> None:
        self.listener.settimeout(0.2)  # so that a signal to the emulator (^C) ends the wait
        while True:
            self._check_signal()
            try:
                self.conn, _ = self.listener.accept()
                break
            except socket.timeout:
                continue
        self.conn.settimeout(0.2)
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.listener.close()

    def _check_signal(self) -> None:
        """A signal to the emulator arrived while the stub waits for gdb: end the run (raised as GdbKill)."""
        if self.cpu.host_signal:
            raise GdbKill()

    def _recv_packet(self, deadline: float | None = None) -> bytes | None:
        """The next packet's payload, acknowledged; None when gdb went away (or at the deadline)."""
        while True:
            start = self.buf.find(b"$")
            if start >= 0:
                end = self.buf.find(b"#", start)
                if end >= 0 and len(self.buf) >= end + 3:
                    data = self.buf[start + 1:end]
                    self.buf = self.buf[end + 3:]
                    if self.ack:
                        self.conn.sendall(b"+")
                    return data
            else:
                self.buf = b""  # acks, and a Ctrl-C (0x03) while stopped, have nothing to answer
            self._check_signal()
            try:
                chunk = self.conn.recv(65536)
            except socket.timeout:
                if deadline is not None and time.monotonic() > deadline:
                    return None
                continue
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk

    def send(self, payload: str | bytes) -> None:
        data = payload.encode("latin-1") if isinstance(payload, str) else payload
        try:
            self.conn.sendall(b"$" + data + b"#" + checksum(data))
        except OSError:
            pass

    def stopped(self, reply: str) -> None:
        self.selected = None
        self._serve(reply)

    def _serve(self, reply: str) -> None:
        """Tell gdb the CPU stopped (unless this is the first stop, which gdb asks for with '?') and serve its
        requests until it resumes the run."""
        if self.conn is None:
            self._accept()
            self.pending_reply = reply
        else:
            self.send(reply)
        self.pending_reply = reply
        while True:
            pkt = self._recv_packet()
            if pkt is None:  # gdb is gone: go on without it
                self.attached = False
                self._sync()
                return
            if self.handle(pkt.decode("latin-1")):
                return

    def finish(self, status: int) -> None:
        """The run ended: tell gdb the process exited (W) or was killed (X)."""
        if self.conn is None or not self.attached:
            return
        first = min(self.k.all_tasks(), key=lambda t: t.pid, default=None)
        wait = first.exit_code if first is not None else status << 8
        self.send(f"X{wait & 0x7F:02x}" if wait & 0x7F else f"W{(wait >> 8) & 0xFF:02x}")
        deadline = time.monotonic() + 2
        try:
            while self._recv_packet(deadline) is not None:  # gdb may still ask something before it closes
                self.send("E01")
        except (OSError, GdbKill):
            pass
        self.conn.close()

    # ---- packets -------------------------------------------------------------------------------------------

    def handle(self, pkt: str) -> bool:
        """Answer one packet; True when the run resumes."""
        cmd = pkt[:1]
        if cmd == "?":
            self.send(self.pending_reply)
        elif cmd == "q":
            self.send(self.query(pkt))
        elif pkt == "QStartNoAckMode":
            self.send("OK")  # the last packet acknowledged
            self.ack = False
        elif cmd == "Q":
            self.send(self.set_query(pkt))
        elif cmd == "g":
            self.send("".join(self.reg_hex(n) for n in range(NREGS) if n not in range(32, ORIG_EAX)))
        elif cmd == "p":
            n = int(pkt[1:], 16)
            self.send(self.reg_hex(n) if n < NREGS and not 32 <= n < ORIG_EAX else "E00")
        elif cmd == "P":
            self.send(self.write_reg(pkt[1:]))
        elif cmd == "G":
            self.send("E01")  # gdb falls back to P packets
        elif cmd == "m":
            self.send(self.read_mem(pkt[1:]))
        elif cmd in "MX":
            self.send("E01")  # guest memory is the kernel model's; breakpoints are Z packets, not writes
        elif cmd in "Zz":
            self.send(self.breakpoint(pkt))
        elif cmd == "H":
            self.send(self.select_thread(pkt))
        elif cmd == "T":
            tid = int(pkt[1:], 16)
            self.send("OK" if any(t.pid == tid and t.is_alive() for t in self.k.all_tasks()) else "E01")
        elif cmd in "cC":
            self._resume(step=False)
            return True
        elif cmd in "sS":
            self._resume(step=True)
            return True
        elif pkt.startswith("vCont?"):
            self.send("vCont;c;C;s;S")
        elif pkt.startswith("vCont;"):
            action = pkt[6:7]
            self._resume(step=action in "sS")
            return True
        elif cmd == "D":
            self.send("OK")
            self.attached = False
            self._sync()
            return True
        elif cmd == "k" or pkt.startswith("vKill"):
            if pkt.startswith("vKill"):
                self.send("OK")
            raise GdbKill()
        else:
            self.send("")
        return False

    def _resume(self, step: bool) -> None:
        self.step = step
        self._sync()

    def query(self, pkt: str) -> str:
        if pkt.startswith("qSupported"):
            return "PacketSize=4000;qXfer:features:read+;QCatchSyscalls+;swbreak+;hwbreak+;QStartNoAckMode+"
        if pkt.startswith("qXfer:features:read:"):
            annex, _, span = pkt[len("qXfer:features:read:"):].partition(":")
            if annex != "target.xml":
                return "E00"
            off, length = (int(x, 16) for x in span.split(","))
            data = TARGET_XML.encode()
            chunk = data[off:off + length]
            return ("l" if off + length >= len(data) else "m").encode() + escape_binary(chunk)
        if pkt == "qC":
            return f"QC{self.stop_task.pid:x}" if self.stop_task is not None else ""
        if pkt == "qfThreadInfo":
            return "m" + ",".join(f"{t.pid:x}" for t in self.k.all_tasks() if t.is_alive())
        if pkt == "qsThreadInfo":
            return "l"
        if pkt == "qAttached":
            return "1"
        if pkt.startswith("qThreadExtraInfo,"):
            tid = int(pkt.split(",")[1], 16)
            t = next((t for t in self.k.all_tasks() if t.pid == tid), None)
            text = f"{t.comm} ({t.kind}{', on the CPU' if t is self.cpu.cur else ''})" if t else "gone"
            return text.encode().hex()
        return ""

    def set_query(self, pkt: str) -> str:
        if pkt.startswith("QCatchSyscalls:"):
            arg = pkt[len("QCatchSyscalls:"):]
            if arg == "0":
                self.catch = None
            else:
                self.catch = {int(n, 16) for n in arg.split(";")[1:] if n}
            return "OK"
        return ""

    # ---- registers and memory ------------------------------------------------------------------------------

    def select_thread(self, pkt: str) -> str:
        """Hg: the task whose registers and memory g, p and m read (0 or -1: the one that stopped)."""
        if pkt[1:2] != "g":
            return "OK"
        tid = int(pkt[2:], 16) if pkt[2:] not in ("", "-1") else 0
        if tid in (0, getattr(self.stop_task, "pid", 0)):
            self.selected = None
            return "OK"
        task = next((t for t in self.k.all_tasks() if t.pid == tid and t.is_alive()), None)
        if task is None:
            return "E01"
        self.selected = task
        return "OK"

    def _off_cpu_value(self, task, n: int) -> tuple[int, int]:
        """A register of a task that is not on the CPU: from its saved CPU context, or its pt_regs when those
        are what it will resume with (a new child, a signal frame)."""
        if n < 16:
            name = GPRS[n]
            if task.arch is None or task.regs_dirty:
                return getattr(task.regs, name) & 0xFFFFFFFF, 4
            return task.arch.reg_read(_REG_IDS[name]) & 0xFFFFFFFF, 4
        if n == ORIG_EAX:
            return task.regs.orig_ax & 0xFFFFFFFF if task.in_syscall is not None else 0xFFFFFFFF, 4
        if task.arch is None:
            return 0, 10 if n < 24 else 4
        if n < 24:
            return _ext80(task.arch.reg_read(X.UC_X86_REG_FP0 + n - 16)), 10
        return task.arch.reg_read(X87_CTRL[n - 24]) & 0xFFFFFFFF, 4

    def reg_value(self, n: int) -> tuple[int, int]:
        """(value, size in bytes) of gdb register n for the selected task (by default the one that stopped)."""
        if self.selected is not None and self.selected is not self.cpu.cur:
            return self._off_cpu_value(self.selected, n)
        uc = self.cpu.uc
        regs = self.stop_regs
        if n < 16:
            name = GPRS[n]
            if regs is not None:
                v = getattr(regs, name)
                if name == "ax" and self.stop_result is not None:
                    v = self.stop_result
                return v & 0xFFFFFFFF, 4
            return uc.reg_read(_REG_IDS[name]) & 0xFFFFFFFF, 4
        if n < 24:
            return _ext80(uc.reg_read(X.UC_X86_REG_FP0 + n - 16)), 10
        if n < 32:
            return uc.reg_read(X87_CTRL[n - 24]) & 0xFFFFFFFF, 4
        if n == ORIG_EAX:
            if regs is not None:
                return regs.orig_ax & 0xFFFFFFFF, 4
            return 0xFFFFFFFF, 4  # between syscalls: -1, as ptrace shows it
        raise ValueError(n)

    def reg_hex(self, n: int) -> str:
        value, size = self.reg_value(n)
        return value.to_bytes(size, "little").hex()

    def write_reg(self, arg: str) -> str:
        num, _, val = arg.partition("=")
        n = int(num, 16)
        if n >= 16 or self.stop_regs is not None or self.selected is not None:
            return "E01"  # the general registers of an instruction stop only
        self.cpu.uc.reg_write(_REG_IDS[GPRS[n]], int.from_bytes(bytes.fromhex(val), "little"))
        return "OK"

    def read_mem(self, arg: str) -> str:
        addr_s, _, len_s = arg.partition(",")
        addr, length = int(addr_s, 16), min(int(len_s, 16), 0x1000)
        task = self.selected or self.stop_task
        if task is None or task.mm is None or addr + length > TASK_SIZE:
            return "E14"
        out = bytearray()
        while len(out) < length:  # as much as is mapped, page by page (gdb asks again for the rest)
            a = addr + len(out)
            n = min(length - len(out), 4096 - (a & 4095))
            try:
                out += task.mm.peek(a, n)
            except SegFault:
                break
        return out.hex() if out else "E14"

    def breakpoint(self, pkt: str) -> str:
        kind, addr_s, _ = pkt[1:].split(",", 2)
        if kind not in ("0", "1"):
            return ""  # watchpoints are not supported
        addr = int(addr_s, 16)
        if pkt[0] == "Z":
            if addr not in self.bps:
                if len(self.bps) >= DBG_MAX_BPS:
                    return "E0e"
                self.bps.append(addr)
        elif addr in self.bps:
            self.bps.remove(addr)
        self._sync()
        return "OK"


__all__ = ["GdbStub", "TARGET_XML", "checksum"]
