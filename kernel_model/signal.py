"""Signals: sending, default actions, i386 signal frames, sigreturn and syscall restart (kernel/signal.c,
arch/x86/kernel/signal.c and signal_32.c).

A signal is queued on the thread (tkill) or its group (kill); at the next return to user mode `do_signal`
takes the lowest unblocked one and either applies the default action or builds a sigframe / rt_sigframe on
the user stack and points the registers at the handler. sigreturn / rt_sigreturn restore every register.
The interrupted code's x87/SSE state goes on the stack above the frame as Linux's `struct _fpstate_32` (the
fsave header, then the 512-byte fxsave image the CPU side provides; sigcontext.fpstate points at it), the handler
starts with the FNINIT state, and sigreturn loads what the frame then holds, so a handler can read and change
the state it interrupted (arch/x86/kernel/fpu/signal.c: copy_fpstate_to_sigframe, __fpu_restore_sig).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .abi import SIG, E
from .exit import do_group_exit, signal_status
from .files import KernelError
from .ptregs import USER_CS, USER_DS
from .task import SIG_DFL, SIG_IGN, SLEEPING, Task

if TYPE_CHECKING:
    from .kernel import Kernel

NSIG = 64
SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO = 0x1, 0x2, 0x4
SA_RESTORER, SA_ONSTACK, SA_RESTART = 0x04000000, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND = 0x40000000, 0x80000000
SS_ONSTACK, SS_DISABLE = 1, 2
MINSIGSTKSZ = 2048

ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
RESTART_ERRORS = (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK)
NR_SIGRETURN, NR_RT_SIGRETURN, NR_RESTART_SYSCALL = 119, 173, 0

SI_USER, SI_QUEUE, SI_TKILL, SI_KERNEL = 0, -1, -6, 0x80
TRAP_BRKPT = 1  # si_code of a breakpoint or debug trap (SIGTRAP)
SIGRTMIN = 32
SEGV_MAPERR, SEGV_ACCERR, ILL_ILLOPN, FPE_INTDIV = 1, 2, 2, 1
BUS_ADRERR = 2  # SIGBUS: nonexistent physical address (an access past the end of a mapped file)

DEFAULT_IGNORE = {SIG.SIGCHLD, SIG.SIGCONT, SIG.SIGURG, SIG.SIGWINCH}
STOP_SIGNALS = {SIG.SIGSTOP, SIG.SIGTSTP, SIG.SIGTTIN, SIG.SIGTTOU}
SYNCHRONOUS = (SIG.SIGSEGV, SIG.SIGBUS, SIG.SIGILL, SIG.SIGTRAP, SIG.SIGFPE, SIG.SIGSYS)
UNBLOCKABLE = (1 << (SIG.SIGKILL - 1)) | (1 << (SIG.SIGSTOP - 1))
FIX_EFLAGS = 0x00040DD5  # AC | OF | DF | TF | SF | ZF | AF | PF | CF | RF-less user bits (FIX_EFLAGS)

SIGCONTEXT_FIELDS = ("gs", "fs", "es", "ds", "di", "si", "bp", "sp", "bx", "dx", "cx", "ax", "trapno", "err",
                     "ip", "cs", "flags", "sp_at_signal", "ss", "fpstate", "oldmask", "cr2")
SIGCONTEXT = struct.Struct("<22I")  # struct sigcontext_32, 88 bytes
SIGFRAME_SIZE = 4 + 4 + SIGCONTEXT.size + 4 + 8  # pretcode, sig, sc, extramask[1], retcode[8]
RT_SIGFRAME_SIZE = 4 + 4 + 4 + 4 + 128 + (4 + 4 + 12 + SIGCONTEXT.size + 8) + 8  # ..., info, uc, retcode
RETCODE_SIGRETURN = b"\x58\xb8" + struct.pack("<I", NR_SIGRETURN) + b"\xcd\x80"  # popl %eax; movl $119; int $0x80
RETCODE_RT = b"\xb8" + struct.pack("<I", NR_RT_SIGRETURN) + b"\xcd\x80\x00"  # movl $173,%eax; int $0x80


def sigmask(sig: int) -> int:
    """The bit of a signal in a sigset_t."""
    return 1 << (sig - 1)


def pack_siginfo(info: dict) -> bytes:
    """A 128-byte i386 siginfo_t from its fields (copy_siginfo_to_user32)."""
    signo, code = info.get("signo", 0), info.get("code", SI_USER)
    if "raw" in info:  # a siginfo the sender supplied (rt_sigqueueinfo): as given, with its signal number
        return struct.pack("<i", signo) + info["raw"][4:128]
    head = struct.pack("<iii", signo, info.get("errno", 0), code)
    if "addr" in info:  # a fault
        body = struct.pack("<I", info["addr"] & 0xFFFFFFFF)
    elif "band" in info:  # SIGPOLL's layout: si_band, si_fd (send_sigio)
        body = struct.pack("<ii", info["band"], info["fd"])
    elif signo == SIG.SIGCHLD and "status" in info:
        body = struct.pack("<iIiii", info.get("pid", 0), info.get("uid", 0), info["status"], 0, 0)
    else:
        body = struct.pack("<iI", info.get("pid", 0), info.get("uid", 0))
    out = head + body
    return out + bytes(128 - len(out))


# ---- sending ---------------------------------------------------------------------------------------------


def sig_ignored(task: Task, sig: int) -> bool:
    """The signal would be dropped at once: ignored by handler or by default (sig_ignored)."""
    if sig in (SIG.SIGKILL, SIG.SIGSTOP):
        return False
    handler = task.sighand.handler(sig) if task.sighand else SIG_DFL
    return handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE)


def send_signal(k: Kernel, task: Task, sig: int, info: dict | None = None, group: bool = False) -> None:
    """Queue sig on a thread or its group and wake someone to take it (__send_signal + complete_signal)."""
    if sig == 0 or not task.is_alive() or task.signal is None:
        return
    if sig == SIG.SIGCONT or sig in STOP_SIGNALS or sig == SIG.SIGKILL:
        prepare_stop_or_continue(k, task, sig)  # prepare_signal acts even when the signal is then ignored
    if sig_ignored(task, sig) and not (task.blocked & sigmask(sig)):
        return
    info = dict(info or {})
    info.setdefault("signo", sig)
    queue = task.signal.shared_pending if group else task.pending
    if sig < SIGRTMIN:
        if any(s == sig for s, _ in queue):
            return  # a standard signal is pending at most once
    elif info.get("code", SI_USER) < 0 and queued_signals(k) >= _sigpending_limit(task):
        # __send_signal: a real-time signal sent with something other than kill() when the sender's queue
        # is full (RLIMIT_SIGPENDING) is refused ("EAGAIN: The limit of signals which may be queued has
        # been reached", sigqueue(3))
        raise KernelError(E.EAGAIN)
    queue.append((sig, info))
    k.emit("signal_send", task, sig, info)
    sfd = task.sighand.signalfd_wq
    if sfd.waiters or sfd.callbacks:
        k.sched.wake_up(sfd, key=0x1)  # signalfd_notify: readers and pollers of a signalfd look again
    handler = task.sighand.handler(sig)
    if sig == SIG.SIGKILL or (handler == SIG_DFL and sig not in DEFAULT_IGNORE and sig not in STOP_SIGNALS
                              and not task.blocked & sigmask(sig) and not group_blocks_all(task, sig)
                              and not any(th.sigwait & sigmask(sig) for th in task.signal.threads)):
        # A fatal signal kills the whole group at once (complete_signal's sig_fatal case).
        queue.remove((sig, info))
        k.emit("signal_deliver", task, sig, info, "kill")
        do_group_exit(k, task, signal_status(sig, k, task))
        return
    # Wake a thread that can take it: the target, or for a group signal the first thread not blocking it.
    candidates = [task] + ([t for t in task.signal.threads if t is not task] if group else [])
    for t in candidates:
        if (not t.blocked & sigmask(sig) or t.sigwait & sigmask(sig)) and t.state == SLEEPING and t.interruptible:
            k.sched.wake_task(t)
            break


def queued_signals(k: Kernel) -> int:
    """Signals queued and not yet taken, over every task (the user's sigpending count: one user here)."""
    n = sum(len(t.pending) for t in k.tasks.values())
    return n + sum(len(t.signal.shared_pending) for t in k.tasks.values()
                   if t.signal is not None and t.group_leader is t)


def _sigpending_limit(task: Task) -> int:
    return task.signal.rlimits.get(11, (1 << 64, 0))[0]  # RLIMIT_SIGPENDING


def prepare_stop_or_continue(k: Kernel, task: Task, sig: int) -> None:
    """SIGCONT (or SIGKILL) resumes a stopped group and drops pending stops; a stop signal drops a pending
    SIGCONT (prepare_signal)."""
    group = task.signal
    threads = group.threads
    if sig in STOP_SIGNALS:
        for t in threads:
            t.pending = [x for x in t.pending if x[0] != SIG.SIGCONT]
        group.shared_pending = [x for x in group.shared_pending if x[0] != SIG.SIGCONT]
        return
    for t in threads:
        t.pending = [x for x in t.pending if x[0] not in STOP_SIGNALS]
    group.shared_pending = [x for x in group.shared_pending if x[0] not in STOP_SIGNALS]
    if group.stopped:
        group.stopped = False
        for t in threads:
            if t.state == "running":
                k.sched.enqueue(t)
        if sig == SIG.SIGCONT:
            group.stop_report = 0xFFFF
            _notify_parent_stop(k, task, CLD_CONTINUED_CODE, SIG.SIGCONT)


CLD_STOPPED_CODE, CLD_CONTINUED_CODE = 5, 6


def _notify_parent_stop(k: Kernel, task: Task, code: int, sig: int) -> None:
    """SIGCHLD (unless SA_NOCLDSTOP) and a wake-up for a parent in wait (do_notify_parent_cldstop)."""
    leader = task.group_leader
    parent = leader.real_parent
    if parent is None or not parent.is_alive():
        return
    act = parent.sighand.actions.get(SIG.SIGCHLD)
    if not (act is not None and act[1] & SA_NOCLDSTOP):
        send_signal(k, parent, SIG.SIGCHLD, {"signo": SIG.SIGCHLD, "code": code, "pid": leader.tgid,
                                             "status": sig}, group=True)
    k.sched.wake_up(parent.signal.wait_chldexit)


def do_group_stop(k: Kernel, task: Task, sig: int, info: dict | None = None) -> None:
    """Stop every thread of the group until SIGCONT, and tell the parent (do_signal_stop)."""
    group = task.signal
    if group.stopped:
        return
    group.stopped = True
    group.stop_report = (sig << 8) | 0x7F
    k.emit("signal_deliver", task, sig, info or {"signo": sig}, "stop")
    k.sched.need_resched = True
    _notify_parent_stop(k, task, CLD_STOPPED_CODE, sig)


def group_blocks_all(task: Task, sig: int) -> bool:
    """Every live thread of the group blocks sig."""
    return all(t.blocked & sigmask(sig) for t in task.signal.threads) if task.signal.threads else True


def force_sig_fault(k: Kernel, task: Task, sig: int, code: int, addr: int) -> None:
    """A fault the task caused: unblock and un-ignore the signal, then queue it to the thread (force_sig_fault)."""
    act = task.sighand.actions.get(sig)
    blocked = task.blocked & sigmask(sig)
    if blocked or (act is not None and act[0] == SIG_IGN):
        task.blocked &= ~sigmask(sig)
        if act is not None and (act[0] == SIG_IGN or blocked):
            task.sighand.actions[sig] = (SIG_DFL, 0, 0, 0)
    task.pending.append((sig, {"signo": sig, "code": code, "addr": addr}))


def signal_pending(task: Task) -> bool:
    """An unblocked signal waits for this thread (signal_pending)."""
    mask = ~task.blocked
    if any(sigmask(s) & mask for s, _ in task.pending):
        return True
    return task.signal is not None and any(sigmask(s) & mask for s, _ in task.signal.shared_pending)


def check_interrupt(task: Task, code: int = ERESTARTSYS) -> None:
    """Called after an interruptible sleep: leave the syscall so the signal can be handled."""
    if signal_pending(task):
        raise KernelError(code)


def dequeue_signal(task: Task, mask: int | None = None) -> tuple[int, dict] | None:
    """Take the next deliverable signal (or the next of those in mask): synchronous faults first, then the
    lowest number (dequeue_signal)."""
    if mask is None:
        mask = ~task.blocked
    for queue in (task.pending, task.signal.shared_pending):
        ready = [(s, i) for s, i in queue if sigmask(s) & mask]
        if ready:
            sync = [x for x in ready if x[0] in SYNCHRONOUS]
            pick = sync[0] if sync else min(ready, key=lambda x: x[0])
            queue.remove(pick)
            return pick
    return None


# ---- delivery at return to user mode -----------------------------------------------------------------------


def do_signal(k: Kernel, task: Task) -> bool:
    """Handle pending signals before returning to user mode; True when the registers changed (arch do_signal).

    task.regs must hold the user registers as they are now (after a syscall: with its result in ax).
    """
    regs = task.regs
    changed = False
    while task.is_alive():
        got = dequeue_signal(task)
        if got is None:
            break
        sig, info = got
        handler, flags, restorer, mask = task.sighand.actions.get(sig, (SIG_DFL, 0, 0, 0))
        if handler == SIG_IGN and sig != SIG.SIGKILL:
            continue
        if handler == SIG_DFL or sig == SIG.SIGKILL:
            if sig in DEFAULT_IGNORE:
                continue
            if sig in STOP_SIGNALS:
                do_group_stop(k, task, sig, info)
                break  # stopped here; an interrupted syscall restarts once SIGCONT resumes the task
            k.emit("signal_deliver", task, sig, info, "kill")
            do_group_exit(k, task, signal_status(sig, k, task))
            return True
        # A handler runs: first settle an interrupted syscall (handle_signal's restart logic).
        if regs.orig_ax != 0xFFFFFFFF:
            err = -_signed(regs.ax)
            if err in (ERESTARTNOHAND, ERESTART_RESTARTBLOCK) or (err == ERESTARTSYS and not flags & SA_RESTART):
                regs.ax = (-E.EINTR) & 0xFFFFFFFF
            elif err in (ERESTARTSYS, ERESTARTNOINTR):
                regs.ax = regs.orig_ax
                regs.ip = (regs.ip - 2) & 0xFFFFFFFF
        if not setup_frame(k, task, sig, info, handler, flags, restorer):
            return True  # the frame could not be written: the task died of SIGSEGV
        k.emit("signal_deliver", task, sig, info, "handler")
        task.blocked |= mask
        if not flags & SA_NODEFER:
            task.blocked |= sigmask(sig)
        task.blocked &= ~UNBLOCKABLE
        if flags & SA_RESETHAND:  # SA_ONESHOT: only the handler goes back to SIG_DFL; the flags stay
            task.sighand.actions[sig] = (SIG_DFL, flags, restorer, mask)
        regs.orig_ax = 0xFFFFFFFF
        task.regs_dirty = True
        changed = True
        break
    else:
        return changed
    if not changed and task.saved_sigmask is not None:
        task.blocked, task.saved_sigmask = task.saved_sigmask, None  # restore_saved_sigmask
    if not changed and regs.orig_ax != 0xFFFFFFFF:
        # No handler ran: a restartable syscall starts again (the no-handler branch of arch do_signal).
        err = -_signed(regs.ax)
        if err in (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND):
            regs.ax = regs.orig_ax
            regs.ip = (regs.ip - 2) & 0xFFFFFFFF
            task.regs_dirty = True
            changed = True
        elif err == ERESTART_RESTARTBLOCK:
            regs.ax = NR_RESTART_SYSCALL
            regs.ip = (regs.ip - 2) & 0xFFFFFFFF
            task.regs_dirty = True
            changed = True
    return changed


def _signed(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _sigcontext(task: Task, oldmask: int, fpstate: int = 0) -> bytes:
    """struct sigcontext_32 of the interrupted registers, with the thread's last trap number, error code and
    page-fault address (setup_sigcontext)."""
    regs = task.regs
    values = {f: getattr(regs, f) for f in ("gs", "fs", "es", "ds", "di", "si", "bp", "sp", "bx", "dx", "cx",
                                            "ax", "ip", "cs", "flags", "ss")}
    values.update(trapno=task.trap_nr, err=task.error_code, sp_at_signal=regs.sp, fpstate=fpstate,
                  oldmask=oldmask & 0xFFFFFFFF, cr2=task.cr2)
    return SIGCONTEXT.pack(*(values[f] & 0xFFFFFFFF for f in SIGCONTEXT_FIELDS))


def _stack_top(task: Task, flags: int) -> int:
    """Where the signal's stack starts: the alternate stack's top with SA_ONSTACK when not already on it
    (get_sigframe)."""
    sp = task.regs.sp
    ss_sp, ss_flags, ss_size = task.altstack
    if flags & SA_ONSTACK and not ss_flags & SS_DISABLE and ss_size and not (ss_sp <= sp < ss_sp + ss_size):
        sp = ss_sp + ss_size
    return sp


def _stack_for(task: Task, flags: int, size: int, below: int) -> int:
    """The frame's address: size bytes below the math frame at `below`, aligned (align_sigframe: (sp + 4) is
    16-byte aligned at handler entry)."""
    return ((below - size + 4) & ~0xF) - 4


FXSAVE_SIZE = 512
FREGS_SIZE = 112  # struct fregs_state: the fsave header before the fxsave image in struct _fpstate_32
X86_FXSR_MAGIC = 0x0000  # _fpstate_32.magic: the fxsave image follows
FNINIT_FXSAVE = struct.pack("<HHBxHIHxxIHxxII", 0x37F, 0, 0, 0, 0, 0, 0, 0, 0x1F80, 0xFFFF).ljust(FXSAVE_SIZE,
                                                                                                  b"\0")


def _fsave_header(fx: bytes) -> bytes:
    """struct fregs_state (the fsave header, 112 bytes) from an fxsave image (convert_from_fxsr): cw, sw, the
    full tag word, ip/cs, dp/ds, the eight registers in stack order, then status and magic."""
    cw, sw, ftw, fop, fip, fcs, fdp, fds = struct.unpack_from("<HHBxHIHxxIHxx", fx)
    top = (sw >> 11) & 7
    tag = 0
    for phys in range(8):
        st = (phys - top) & 7
        raw = fx[32 + 16 * st:32 + 16 * st + 10]
        if not ftw >> phys & 1:
            t = 3  # empty
        else:
            mant, exp = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:10], "little") & 0x7FFF
            t = 1 if exp == 0 and mant == 0 else 2 if exp in (0, 0x7FFF) or not mant >> 63 else 0
        tag |= t << (2 * phys)
    head = struct.pack("<7I", 0xFFFF0000 | cw, 0xFFFF0000 | sw, 0xFFFF0000 | tag, fip, fcs | fop << 16, fdp,
                       0xFFFF0000 | fds)
    regs = b"".join(fx[32 + 16 * i:32 + 16 * i + 10] for i in range(8))
    return head + regs + struct.pack("<HH", sw, X86_FXSR_MAGIC)


def _push_fpstate(k: Kernel, task: Task, sp: int) -> tuple[int, bytes]:
    """Where the math frame goes below sp (fpu__alloc_mathframe: the fxsave image 64-byte aligned, the fsave
    header just below it) and its bytes; returns (struct _fpstate_32 address, bytes)."""
    fx = k.fpu_save() if k.fpu_save is not None else FNINIT_FXSAVE
    buf_fx = (sp - FXSAVE_SIZE) & ~63
    return buf_fx - FREGS_SIZE, _fsave_header(fx) + fx


def setup_frame(k: Kernel, task: Task, sig: int, info: dict, handler: int, flags: int, restorer: int) -> bool:
    """Push the math frame and a sigframe or rt_sigframe, and enter the handler with a fresh FPU (setup_frame /
    setup_rt_frame, fpu__clear_user_states); False on EFAULT."""
    regs = task.regs
    oldmask = task.blocked if task.saved_sigmask is None else task.saved_sigmask
    task.saved_sigmask = None
    fpstate, fpbytes = _push_fpstate(k, task, _stack_top(task, flags))
    if flags & SA_SIGINFO:
        frame = _stack_for(task, flags, RT_SIGFRAME_SIZE, fpstate)
        info_addr, uc_addr = frame + 16, frame + 16 + 128
        ret_addr = uc_addr + 4 + 4 + 12 + SIGCONTEXT.size + 8
        if k.sigreturn_trampolines is not None:
            ret_addr = k.sigreturn_trampolines[1]  # the vDSO's __kernel_rt_sigreturn
        pretcode = restorer if flags & SA_RESTORER else ret_addr
        ss_sp, ss_flags, ss_size = task.altstack
        on_stack = SS_ONSTACK if ss_size and ss_sp <= regs.sp < ss_sp + ss_size else 0
        uc = (struct.pack("<II", 0, 0) + struct.pack("<IiI", ss_sp, (ss_flags & ~SS_ONSTACK) | on_stack, ss_size)
              + _sigcontext(task, oldmask, fpstate=fpstate) + struct.pack("<Q", oldmask))
        data = struct.pack("<IiII", pretcode, sig, info_addr, uc_addr) + pack_siginfo(info) + uc + RETCODE_RT
        regs_after = (sig, info_addr, uc_addr)
    else:
        frame = _stack_for(task, flags, SIGFRAME_SIZE, fpstate)
        ret_addr = frame + 8 + SIGCONTEXT.size + 4
        if k.sigreturn_trampolines is not None:
            ret_addr = k.sigreturn_trampolines[0]  # the vDSO's __kernel_sigreturn
        pretcode = restorer if flags & SA_RESTORER else ret_addr
        data = (struct.pack("<Ii", pretcode, sig) + _sigcontext(task, oldmask, fpstate=fpstate)
                + struct.pack("<I", (oldmask >> 32) & 0xFFFFFFFF) + RETCODE_SIGRETURN)
        regs_after = (sig, 0, 0)
    try:
        k.put_bytes(task, fpstate, fpbytes)
        k.put_bytes(task, frame, data)
    except KernelError:
        k.warn_once("badframe", f"pid {task.pid}: cannot write a signal frame at {frame:#x}; killed by SIGSEGV")
        do_group_exit(k, task, signal_status(SIG.SIGSEGV, k, task))
        return False
    if k.fpu_load is not None:
        k.fpu_load(FNINIT_FXSAVE)  # the handler starts with the init state (fpu__clear_user_states)
    regs.sp = frame
    regs.ip = handler
    regs.ax, regs.dx, regs.cx = regs_after
    regs.ds = regs.es = regs.ss = USER_DS
    regs.cs = USER_CS
    regs.flags &= ~(0x400 | 0x100 | 0x10000)  # DF, TF, RF cleared for the handler
    return True


def restore_fpstate(k: Kernel, task: Task, fpstate: int) -> None:
    """Load the x87/SSE state the frame's struct _fpstate_32 holds (__fpu_restore_sig for an ia32 frame): MXCSR
    and the XMM registers from its fxsave image (when magic says there is one), the x87 state from the fsave
    header before it (convert_to_fxsr), so an edit of either part is what the interrupted code gets back. A NULL
    pointer leaves the init state; an unreadable one is EFAULT, which kills the task as a bad frame does."""
    if k.fpu_load is None:
        return
    if not fpstate:
        k.fpu_load(FNINIT_FXSAVE)
        return
    raw = k.get_bytes(task, fpstate, FREGS_SIZE + FXSAVE_SIZE)
    magic = struct.unpack_from("<H", raw, 110)[0]
    fx = bytearray(raw[FREGS_SIZE:] if magic == X86_FXSR_MAGIC else FNINIT_FXSAVE)
    cw, sw, tag, fip, fcs_fop, fdp, fds = struct.unpack_from("<7I", raw)
    ftw = sum(1 << i for i in range(8) if (tag >> (2 * i)) & 3 != 3)
    struct.pack_into("<HHBxHIHxxIHxx", fx, 0, cw & 0xFFFF, sw & 0xFFFF, ftw, (fcs_fop >> 16) & 0x7FF, fip,
                     fcs_fop & 0xFFFF, fdp, fds & 0xFFFF)
    for i in range(8):
        fx[32 + 16 * i:32 + 16 * i + 10] = raw[28 + 10 * i:38 + 10 * i]
    k.fpu_load(bytes(fx))


def restore_sigcontext(task: Task, raw: bytes) -> None:
    """Registers back from a sigcontext_32, user segments enforced (restore_sigcontext)."""
    sc = dict(zip(SIGCONTEXT_FIELDS, SIGCONTEXT.unpack(raw), strict=True))
    regs = task.regs
    for f in ("gs", "fs", "es", "ds"):
        setattr(regs, f, sc[f] & 0xFFFF)
    for f in ("di", "si", "bp", "sp", "bx", "dx", "cx", "ax", "ip"):
        setattr(regs, f, sc[f])
    regs.cs, regs.ss = USER_CS, USER_DS
    regs.flags = (regs.flags & ~FIX_EFLAGS) | (sc["flags"] & FIX_EFLAGS)
    regs.orig_ax = 0xFFFFFFFF  # no syscall restart on the way out of sigreturn
    task.regs_dirty = True


def sys_sigreturn(k: Kernel, t: Task, *_):
    """Return from a sigframe handler: the frame starts 8 bytes below esp after `popl %eax` (sys_sigreturn)."""
    frame = (t.regs.sp - 8) & 0xFFFFFFFF
    raw = k.get_bytes(t, frame + 8, SIGCONTEXT.size + 4)
    sc, extramask = raw[:SIGCONTEXT.size], struct.unpack("<I", raw[SIGCONTEXT.size:])[0]
    oldmask = SIGCONTEXT.unpack(sc)[SIGCONTEXT_FIELDS.index("oldmask")]
    t.blocked = (oldmask | (extramask << 32)) & ~UNBLOCKABLE
    restore_sigcontext(t, sc)
    restore_fpstate(k, t, SIGCONTEXT.unpack(sc)[SIGCONTEXT_FIELDS.index("fpstate")])
    return t.regs.ax


def sys_rt_sigreturn(k: Kernel, t: Task, *_):
    """Return from an rt_sigframe handler: mask, registers and sigaltstack from the ucontext (rt_sigreturn)."""
    frame = (t.regs.sp - 4) & 0xFFFFFFFF
    uc_addr = frame + 16 + 128
    raw = k.get_bytes(t, uc_addr, 4 + 4 + 12 + SIGCONTEXT.size + 8)
    ss = struct.unpack_from("<IiI", raw, 8)
    sc = raw[20:20 + SIGCONTEXT.size]
    t.blocked = struct.unpack_from("<Q", raw, 20 + SIGCONTEXT.size)[0] & ~UNBLOCKABLE
    restore_sigcontext(t, sc)
    restore_fpstate(k, t, SIGCONTEXT.unpack(sc)[SIGCONTEXT_FIELDS.index("fpstate")])
    if not ss[1] & SS_DISABLE and ss[2]:
        t.altstack = (ss[0], ss[1] & ~SS_ONSTACK, ss[2])
        t.sas_raw_flags = ss[1]  # restore_altstack goes through do_sigaltstack, which keeps the flags as given
    return t.regs.ax
