"""System V IPC entry points: shmget, shmat, shmdt, shmctl, semget, semtimedop, semctl, msgget, msgsnd, msgrcv,
msgctl, both as the direct i386 syscalls and through the ipc(2) multiplexer (ipc/syscall.c); the mechanisms are in
kernel_model.ipc. Structures are the IPC_64 layouts of i386 (glibc always asks for them); a command without IPC_64
is answered in the same layout.
"""

from __future__ import annotations

import struct

from .. import ipc as I
from .. import signal as sigmod
from ..abi import E
from ..files import KernelError
from ..mm import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE, OutOfMemory, page_up
from .common import KTS, s32
from .table import syscall

SHMLBA = PAGE_SIZE


def _perm64(p: I.IpcPerm) -> bytes:
    """struct ipc64_perm (36 bytes)."""
    return struct.pack("<iIIIIHHHHII", p.key, p.uid, p.gid, p.cuid, p.cgid, p.mode & 0xFFFF, 0, p.seq & 0xFFFF, 0,
                       0, 0)


def _set_perm(ns, p: I.IpcPerm, raw: bytes) -> None:
    """IPC_SET: uid, gid and the low 9 mode bits from a struct ipc64_perm (ipc_update_perm)."""
    _key, uid, gid, _cuid, _cgid, mode = struct.unpack_from("<iIIIIH", raw)
    ns.owner_or_root(p)
    p.uid, p.gid = uid, gid
    p.mode = (p.mode & ~0o777) | (mode & 0o777)


def _ipc_stat(k, t, ids, ident: int, cmd: int, stat: int, stat_any: int, buf: int, pack):
    """IPC_STAT by id, and *_STAT / *_STAT_ANY by index (returning the full id), for any of the three kinds;
    None for another command."""
    ns = k.ipc
    if cmd in (stat, stat_any):
        o = ids.by_index(ident)
        if cmd == stat:
            ns.ipcperms(o.perm, 0o444)
        k.put_bytes(t, buf, pack(o))
        return o.perm.id
    if cmd == I.IPC_STAT:
        o = ids.lookup(ident)
        ns.ipcperms(o.perm, 0o444)
        k.put_bytes(t, buf, pack(o))
        return 0
    return None


def _cmd(cmd: int) -> int:
    """The command without IPC_64 (ipc_parse_version)."""
    return cmd & ~I.IPC_64


# ---- shared memory -----------------------------------------------------------------------------------------


@syscall("shmget", sig="ipc_key key, size size, ipc_flags shmflg", cls="ipc")
def sys_shmget(k, t, key, size, flags, *_):
    """Get or create a shared memory segment (ksys_shmget)."""
    return k.ipc.shmget(t, s32(key), size, flags)


def do_shmat(k, t, shmid: int, addr: int, flags: int) -> int:
    """Attach a segment as a shared mapping of its shmem object (do_shmat); returns the address."""
    ns = k.ipc
    seg = ns.shm.lookup(s32(shmid))
    mm = t.mm
    if addr:
        if addr & (SHMLBA - 1):
            if not flags & I.SHM_RND:
                raise KernelError(E.EINVAL)
            addr &= ~(SHMLBA - 1)
            if addr == 0:
                raise KernelError(E.EINVAL)
    elif flags & I.SHM_REMAP:
        raise KernelError(E.EINVAL)
    prot = PROT_READ | (0 if flags & I.SHM_RDONLY else PROT_WRITE) | (PROT_EXEC if flags & I.SHM_EXEC else 0)
    ns.ipcperms(seg.perm, 0o444 if flags & I.SHM_RDONLY else 0o666 if not flags & I.SHM_EXEC else 0o777)
    length = page_up(seg.size)
    if addr:
        if addr + length > TASK_SIZE:
            raise KernelError(E.EINVAL)
        if not flags & I.SHM_REMAP and not mm.range_is_free(addr, addr + length):
            raise KernelError(E.EINVAL)
        start = addr
    else:
        try:
            start = mm.get_unmapped_area(length)
        except OutOfMemory:
            raise KernelError(E.ENOMEM) from None
    vma = mm.map_region(start, start + length, mm.effective_prot(prot), shared=True,
                        name=f"SYSV{seg.perm.key & 0xFFFFFFFF:08x}", obj=seg.obj)
    vma.shm = seg
    seg.atime = I.now()
    seg.lpid = t.tgid
    return start


@syscall("shmat", sig="int shmid, ptr shmaddr, ipc_flags shmflg", cls="ipc,memory", ret="hex")
def sys_shmat(k, t, shmid, addr, flags, *_):
    """Attach a shared memory segment."""
    return do_shmat(k, t, shmid, addr, flags)


@syscall("shmdt", sig="ptr shmaddr", cls="ipc,memory")
def sys_shmdt(k, t, addr, *_):
    """Detach the segment attached at addr: every VMA of it from there on (ksys_shmdt); EINVAL when none."""
    if addr & (SHMLBA - 1):
        raise KernelError(E.EINVAL)
    mm = t.mm
    v = mm.find_vma(addr)
    seg = getattr(v, "shm", None) if v is not None and v.start == addr else None
    if seg is None:
        raise KernelError(E.EINVAL)
    end = addr + page_up(seg.size)
    for w in [w for w in mm.vmas if getattr(w, "shm", None) is seg and addr <= w.start < end]:
        mm.unmap(w.start, w.end)
    seg.dtime = I.now()
    seg.lpid = t.tgid
    return 0  # the last detach of a removed segment freed its memory with the object's last user


def _shmid64(seg: I.ShmSegment) -> bytes:
    """struct shmid64_ds (84 bytes)."""
    return _perm64(seg.perm) + struct.pack("<IIIIIIIiiIII", seg.size, seg.atime, 0, seg.dtime, 0, seg.ctime, 0,
                                           seg.cpid, seg.lpid, seg.nattch, 0, 0)


@syscall("shmctl", sig="int shmid, ipc_cmd(shm) cmd, ptr buf", cls="ipc")
def sys_shmctl(k, t, shmid, cmd, buf, *_):
    """Segment control (ksys_shmctl): IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SHM_INFO, SHM_STAT(_ANY),
    SHM_LOCK/UNLOCK."""
    ns = k.ipc
    if s32(cmd) < 0 or s32(shmid) < 0:
        raise KernelError(E.EINVAL)  # ksys_shmctl, before the command is looked at
    cmd = _cmd(cmd)
    shmid = s32(shmid)
    if cmd == I.IPC_INFO:
        k.put_bytes(t, buf, struct.pack("<9I", min(I.SHMMAX, k.sysctl_int("kernel/shmmax")), I.SHMMIN,
                                        k.sysctl_int("kernel/shmmni"), I.SHMSEG,
                                        min(I.SHMALL, k.sysctl_int("kernel/shmall")), 0, 0, 0, 0))
        return ns.shm.max_index()
    if cmd == I.SHM_INFO:
        segs = list(ns.shm.objects.values())
        k.put_bytes(t, buf, struct.pack("<i5I", len(segs), sum(page_up(s.size) // PAGE_SIZE for s in segs),
                                        sum(s.obj.resident() for s in segs), 0, 0, 0))
        return ns.shm.max_index()
    res = _ipc_stat(k, t, ns.shm, shmid, cmd, I.SHM_STAT, I.SHM_STAT_ANY, buf, _shmid64)
    if res is not None:
        return res
    raw = k.get_bytes(t, buf, 36) if cmd == I.IPC_SET else None  # IPC_SET copies in before the lookup (EFAULT)
    seg = ns.shm.lookup(shmid)
    if cmd == I.IPC_SET:
        _set_perm(ns, seg.perm, raw)
        seg.ctime = I.now()
        return 0
    if cmd == I.IPC_RMID:
        ns.owner_or_root(seg.perm)
        ns.shm_rmid(seg)
        return 0
    if cmd in (I.SHM_LOCK, I.SHM_UNLOCK):
        c = k.cred(t)
        if c.euid != 0 and c.euid not in (seg.perm.uid, seg.perm.cuid):
            raise KernelError(E.EPERM)
        seg.perm.mode = seg.perm.mode | I.SHM_LOCKED if cmd == I.SHM_LOCK else seg.perm.mode & ~I.SHM_LOCKED
        return 0
    raise KernelError(E.EINVAL)


# ---- semaphores --------------------------------------------------------------------------------------------


@syscall("semget", sig="ipc_key key, int nsems, ipc_flags semflg", cls="ipc")
def sys_semget(k, t, key, nsems, flags, *_):
    """Get or create a semaphore set (ksys_semget)."""
    return k.ipc.semget(t, s32(key), s32(nsems), flags)


def _timeout(k, t, ptr: int, time64: bool):
    """A semtimedop timeout as read (EFAULT now), checked only once the operations are in (EINVAL then)."""
    if not ptr:
        return None
    return struct.unpack(KTS if time64 else "<iI", k.get_bytes(t, ptr, 16 if time64 else 8))


def do_semtimedop(k, t, semid: int, sops: int, nsops: int, timeout):
    """Apply the operations atomically, sleeping until they can be (do_semtimedop): E2BIG over SEMOPM, EFBIG for
    a semaphore number out of range, EAGAIN with IPC_NOWAIT or when the timeout passes, EIDRM when the set is
    removed meanwhile, EINTR for a signal."""
    ns = k.ipc
    nsops = nsops & 0xFFFFFFFF  # unsigned: E2BIG over SEMOPM, then EINVAL for none, EFAULT, then the id
    if nsops > k.sysctl_int("kernel/sem", 2):
        raise KernelError(E.E2BIG)
    if nsops < 1:
        raise KernelError(E.EINVAL)
    raw = k.get_bytes(t, sops, 6 * nsops)
    if s32(semid) < 0:
        raise KernelError(E.EINVAL)
    timeout_ns = None
    if timeout is not None:
        sec, nsec = timeout
        if sec < 0 or not 0 <= nsec < 10**9:
            raise KernelError(E.EINVAL)
        timeout_ns = sec * 10**9 + nsec
    ops = [struct.unpack_from("<Hhh", raw, 6 * i) for i in range(nsops)]
    s = ns.sem.lookup(s32(semid))
    if any(num >= len(s.values) for num, _, _ in ops):
        raise KernelError(E.EFBIG)
    alter = any(op for _, op, _ in ops)
    ns.ipcperms(s.perm, 0o222 if alter else 0o444)
    deadline = None if timeout_ns is None else k.sched.now() + timeout_ns
    while True:
        if s.perm.deleted:
            raise KernelError(E.EIDRM)
        why = ns.try_semop(s, [(num, op, flg & 0xFFFF) for num, op, flg in ops], t)
        if why is None:
            s.waiting.pop(t.pid, None)
            return 0
        if deadline is not None and (t.timed_out or k.sched.now() >= deadline):
            s.waiting.pop(t.pid, None)
            raise KernelError(E.EAGAIN)
        if k.signal_pending(t):
            s.waiting.pop(t.pid, None)
            raise KernelError(E.EINTR)
        s.waiting[t.pid] = (ops, why)
        k.sched.sleep_on(t, s.wq, None if deadline is None else deadline - k.sched.now())
        yield
        if s.perm.deleted:
            raise KernelError(E.EIDRM)


@syscall("semtimedop_time64", sig="int semid, sembuf(nsops) sops, uint nsops, timespec64 timeout", cls="ipc")
def sys_semtimedop_time64(k, t, semid, sops, nsops, tsp, *_):
    """semop with a struct __kernel_timespec timeout (NULL: none)."""
    return (yield from do_semtimedop(k, t, semid, sops, nsops, _timeout(k, t, tsp, True)))


def _semid64(s: I.SemSet) -> bytes:
    """struct semid64_ds (64 bytes)."""
    return _perm64(s.perm) + struct.pack("<7I", s.otime, 0, s.ctime, 0, len(s.values), 0, 0)


def do_semctl(k, t, semid: int, semnum: int, cmd: int, arg: int) -> int:
    """Semaphore control (ksys_semctl); arg is the union semun's value (an int or a pointer)."""
    ns = k.ipc
    if s32(semid) < 0:
        raise KernelError(E.EINVAL)  # ksys_semctl
    cmd = _cmd(cmd)
    if cmd == I.SETVAL and not 0 <= s32(arg) <= I.SEMVMX:
        raise KernelError(E.ERANGE)  # semctl_setval checks the value before it looks the set up
    semid, semnum = s32(semid), s32(semnum)
    if cmd in (I.IPC_INFO, I.SEM_INFO):
        # struct seminfo: semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem; for
        # SEM_INFO semusz is the sets in use and semaem the semaphores in them (semctl_info)
        sets = list(ns.sem.objects.values())
        usz, aem = (len(sets), sum(len(x.values) for x in sets)) if cmd == I.SEM_INFO else (20, I.SEMAEM)
        msl, mns, opm, mni = (k.sysctl_int("kernel/sem", i) for i in range(4))
        k.put_bytes(t, arg, struct.pack("<10i", mns, mni, mns, mns, msl, opm, opm, usz, I.SEMVMX, aem))
        return ns.sem.max_index()
    res = _ipc_stat(k, t, ns.sem, semid, cmd, I.SEM_STAT, I.SEM_STAT_ANY, arg, _semid64)
    if res is not None:
        return res
    raw = k.get_bytes(t, arg, 36) if cmd == I.IPC_SET else None  # IPC_SET copies in before the lookup (EFAULT)
    s = ns.sem.lookup(semid)
    n = len(s.values)
    if cmd == I.IPC_SET:
        _set_perm(ns, s.perm, raw)
        s.ctime = I.now()
        return 0
    if cmd == I.IPC_RMID:
        ns.owner_or_root(s.perm)
        ns.sem_rmid(s)
        return 0
    if cmd == I.GETALL:
        ns.ipcperms(s.perm, 0o444)
        k.put_bytes(t, arg, struct.pack(f"<{n}H", *s.values))
        return 0
    if cmd == I.SETALL:
        ns.ipcperms(s.perm, 0o222)
        vals = struct.unpack(f"<{n}H", k.get_bytes(t, arg, 2 * n))
        if any(v > I.SEMVMX for v in vals):
            raise KernelError(E.ERANGE)
        s.values = list(vals)
        s.pids = [t.tgid] * n
        s.ctime = I.now()
        ns.clear_undo(s.perm.id, None)
        k.sched.wake_up(s.wq)
        return 0
    if not 0 <= semnum < n:
        raise KernelError(E.EINVAL)
    if cmd == I.GETVAL:
        ns.ipcperms(s.perm, 0o444)
        return s.values[semnum]
    if cmd == I.GETPID:
        ns.ipcperms(s.perm, 0o444)
        return s.pids[semnum]
    if cmd in (I.GETNCNT, I.GETZCNT):
        ns.ipcperms(s.perm, 0o444)
        want = "count" if cmd == I.GETNCNT else "zero"
        return sum(1 for ops, why in s.waiting.values() if why == want
                   and any(num == semnum and ((op < 0) if want == "count" else (op == 0)) for num, op, _ in ops))
    if cmd == I.SETVAL:
        ns.ipcperms(s.perm, 0o222)
        val = s32(arg)
        if not 0 <= val <= I.SEMVMX:
            raise KernelError(E.ERANGE)
        s.values[semnum] = val
        s.pids[semnum] = t.tgid
        s.ctime = I.now()
        ns.clear_undo(s.perm.id, semnum)
        k.sched.wake_up(s.wq)
        return 0
    raise KernelError(E.EINVAL)


@syscall("semctl", sig="int semid, int semnum, ipc_cmd(sem) cmd, hex arg", cls="ipc")
def sys_semctl(k, t, semid, semnum, cmd, arg, *_):
    """Semaphore control with the semun passed by value."""
    return do_semctl(k, t, semid, semnum, cmd, arg)


# ---- message queues ----------------------------------------------------------------------------------------


@syscall("msgget", sig="ipc_key key, ipc_flags msgflg", cls="ipc")
def sys_msgget(k, t, key, flags, *_):
    """Get or create a message queue (ksys_msgget)."""
    return k.ipc.msgget(t, s32(key), flags)


def do_msgsnd(k, t, msqid: int, msgp: int, msgsz: int, flags: int):
    """Queue a message {long mtype; char mtext[msgsz]} (do_msgsnd), sleeping while the queue is full unless
    IPC_NOWAIT (EAGAIN); EINVAL for mtype < 1 or msgsz over MSGMAX, EIDRM if the queue goes, EINTR for a signal."""
    ns = k.ipc
    msgsz = s32(msgsz)
    if msgsz > k.sysctl_int("kernel/msgmax") or msgsz < 0 or s32(msqid) < 0:
        raise KernelError(E.EINVAL)
    q = ns.msg.lookup(s32(msqid))
    ns.ipcperms(q.perm, 0o222)
    mtype = s32(k.get_u32(t, msgp))
    text = k.get_bytes(t, msgp + 4, msgsz)
    if mtype < 1:
        raise KernelError(E.EINVAL)
    while True:
        if q.perm.deleted:
            raise KernelError(E.EIDRM)
        if q.cbytes + msgsz <= q.qbytes and len(q.messages) + 1 <= q.qbytes:
            q.messages.append((mtype, text))
            q.lspid, q.stime = t.tgid, I.now()
            k.sched.wake_up(q.wq)
            return 0
        if flags & I.IPC_NOWAIT:
            raise KernelError(E.EAGAIN)
        if k.signal_pending(t):
            raise KernelError(sigmod.ERESTARTNOHAND)
        k.sched.sleep_on(t, q.wq)
        yield


def do_msgrcv(k, t, msqid: int, msgp: int, msgsz: int, msgtyp: int, flags: int):
    """Take a message (do_msgrcv): the first, the first of msgtyp (or not of it, MSG_EXCEPT), or the lowest type
    up to -msgtyp, or with MSG_COPY a copy of the msgtyp-th message; E2BIG when it is longer than msgsz without
    MSG_NOERROR, ENOMSG with IPC_NOWAIT and none."""
    ns = k.ipc
    msgsz, msgtyp = s32(msgsz), s32(msgtyp)
    if msgsz < 0 or s32(msqid) < 0:
        raise KernelError(E.EINVAL)
    copy = bool(flags & I.MSG_COPY)
    if copy and (flags & I.MSG_EXCEPT or not flags & I.IPC_NOWAIT):
        raise KernelError(E.EINVAL)  # MSG_COPY (CONFIG_CHECKPOINT_RESTORE): a copy of message number msgtyp
    q = ns.msg.lookup(s32(msqid))
    ns.ipcperms(q.perm, 0o444)
    while True:
        if q.perm.deleted:
            raise KernelError(E.EIDRM)
        if copy:
            i = msgtyp if 0 <= msgtyp < len(q.messages) else None
        else:
            i = ns.pick_message(q, msgtyp, flags)
        if i is not None:
            mtype, text = q.messages[i]
            if len(text) > msgsz and not flags & I.MSG_NOERROR:
                raise KernelError(E.E2BIG)
            text = text[:msgsz]
            k.put_bytes(t, msgp, struct.pack("<i", mtype) + text)
            if copy:
                return len(text)  # the message stays queued
            del q.messages[i]
            q.lrpid, q.rtime = t.tgid, I.now()
            k.sched.wake_up(q.wq)
            return len(text)
        if flags & I.IPC_NOWAIT:
            raise KernelError(E.ENOMSG)
        if k.signal_pending(t):
            raise KernelError(sigmod.ERESTARTNOHAND)
        k.sched.sleep_on(t, q.wq)
        yield


@syscall("msgsnd", sig="int msqid, msgbuf(msgsz) msgp, size msgsz, ipc_flags msgflg", cls="ipc")
def sys_msgsnd(k, t, msqid, msgp, msgsz, flags, *_):
    """Send a message."""
    return (yield from do_msgsnd(k, t, msqid, msgp, msgsz, flags))


@syscall("msgrcv", sig="int msqid, out msgbuf(ret) msgp, size msgsz, int msgtyp, ipc_flags msgflg", cls="ipc")
def sys_msgrcv(k, t, msqid, msgp, msgsz, msgtyp, flags, *_):
    """Receive a message."""
    return (yield from do_msgrcv(k, t, msqid, msgp, msgsz, msgtyp, flags))


def _msqid64(q: I.MsgQueue) -> bytes:
    """struct msqid64_ds (88 bytes)."""
    return _perm64(q.perm) + struct.pack("<9Iii2I", q.stime, 0, q.rtime, 0, q.ctime, 0, q.cbytes, len(q.messages),
                                         q.qbytes, q.lspid, q.lrpid, 0, 0)


@syscall("msgctl", sig="int msqid, ipc_cmd(msg) cmd, ptr buf", cls="ipc")
def sys_msgctl(k, t, msqid, cmd, buf, *_):
    """Queue control (ksys_msgctl): IPC_STAT, IPC_SET (msg_qbytes above MSGMNB needs CAP_SYS_RESOURCE),
    IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT(_ANY)."""
    ns = k.ipc
    if s32(cmd) < 0 or s32(msqid) < 0:
        raise KernelError(E.EINVAL)  # ksys_msgctl, before the command is looked at
    cmd = _cmd(cmd)
    msqid = s32(msqid)
    if cmd in (I.IPC_INFO, I.MSG_INFO):
        # struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg; for MSG_INFO the pool,
        # map and tql fields count the queues, messages and bytes in use (msgctl_info)
        queues = list(ns.msg.objects.values())
        if cmd == I.MSG_INFO:
            pool, mmap, tql = len(queues), sum(len(q.messages) for q in queues), sum(q.cbytes for q in queues)
        else:
            pool, mmap, tql = I.MSGMNI * I.MSGMNB // 1024, I.MSGMNB, I.MSGMNB
        k.put_bytes(t, buf, struct.pack("<7iH2x", pool, mmap, k.sysctl_int("kernel/msgmax"),
                                        k.sysctl_int("kernel/msgmnb"), k.sysctl_int("kernel/msgmni"), 16, tql, 0xFFFF))
        return ns.msg.max_index()
    res = _ipc_stat(k, t, ns.msg, msqid, cmd, I.MSG_STAT, I.MSG_STAT_ANY, buf, _msqid64)
    if res is not None:
        return res
    raw = k.get_bytes(t, buf, 88) if cmd == I.IPC_SET else None  # IPC_SET copies in before the lookup (EFAULT)
    q = ns.msg.lookup(msqid)
    if cmd == I.IPC_SET:
        qbytes = struct.unpack_from("<I", raw, 36 + 32)[0]
        if qbytes > I.MSGMNB and not k.cred(t).capable(24):  # CAP_SYS_RESOURCE
            raise KernelError(E.EPERM)
        _set_perm(ns, q.perm, raw)
        q.qbytes = qbytes
        q.ctime = I.now()
        k.sched.wake_up(q.wq)
        return 0
    if cmd == I.IPC_RMID:
        ns.owner_or_root(q.perm)
        ns.msg_rmid(q)
        return 0
    raise KernelError(E.EINVAL)


# ---- the ipc(2) multiplexer --------------------------------------------------------------------------------

SEMOP, SEMGET, SEMCTL, SEMTIMEDOP = 1, 2, 3, 4
MSGSND, MSGRCV, MSGGET, MSGCTL = 11, 12, 13, 14
SHMAT, SHMDT, SHMGET, SHMCTL = 21, 22, 23, 24


@syscall("ipc", sig="ipc_call call, int first, int second, int third, ptr ptr, int fifth", cls="ipc")
def sys_ipc(k, t, call, first, second, third, ptr, fifth):
    """The i386 multiplexer: call's low 16 bits pick the operation, the high ones its version (ksys_ipc)."""
    version, call = call >> 16, call & 0xFFFF
    if call == SEMOP:
        return (yield from do_semtimedop(k, t, first, ptr, second, None))
    if call == SEMTIMEDOP:
        return (yield from do_semtimedop(k, t, first, ptr, second, _timeout(k, t, fifth, False)))
    if call == SEMGET:
        return sys_semget(k, t, first, second, third)
    if call == SEMCTL:
        if not ptr:
            raise KernelError(E.EINVAL)
        return do_semctl(k, t, first, second, third, k.get_u32(t, ptr))
    if call == MSGSND:
        return (yield from do_msgsnd(k, t, first, ptr, second, third))
    if call == MSGRCV:
        if version == 0:  # struct ipc_kludge {msgp, msgtyp}
            if not ptr:
                raise KernelError(E.EINVAL)
            msgp, msgtyp = struct.unpack("<Ii", k.get_bytes(t, ptr, 8))
            return (yield from do_msgrcv(k, t, first, msgp, second, msgtyp, third))
        return (yield from do_msgrcv(k, t, first, ptr, second, fifth, third))
    if call == MSGGET:
        return sys_msgget(k, t, first, second)
    if call == MSGCTL:
        return sys_msgctl(k, t, first, second, ptr)
    if call == SHMAT:
        if version == 1:
            raise KernelError(E.EINVAL)  # the iBCS2 form
        addr = do_shmat(k, t, first, ptr, second)
        k.put_u32(t, third, addr)
        return 0
    if call == SHMDT:
        return sys_shmdt(k, t, ptr)
    if call == SHMGET:
        return sys_shmget(k, t, first, second, third)
    if call == SHMCTL:
        return sys_shmctl(k, t, first, second, ptr)
    raise KernelError(E.ENOSYS)

