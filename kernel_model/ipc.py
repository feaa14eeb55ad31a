"""System V IPC: shared memory segments, semaphore sets and message queues (ipc/util.c, ipc/shm.c, ipc/sem.c,
ipc/msg.c), one namespace per kernel.

Identifiers are `seq * 32768 + index` with the lowest free index, as ipc_addid hands them out. A shm segment is
a shmem object (kernel_model.shmem): every attach is a shared VMA of it, so fork keeps segments attached and shared,
never copy-on-write, and `shm_nattch` counts those VMAs as Linux's vm_ops->open/close do. Semaphore undo lists
(SEM_UNDO) belong to a `SemUndoList` that tasks created with CLONE_SYSVSEM share and others copy empty; they are
applied when the last task using the list exits (exit_sem). Blocking semop and msgsnd/msgrcv sleep through the
scheduler and wake on change, removal (EIDRM), signals or timeouts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .abi import E
from .files import KernelError
from .shmem import ShmemObject
from .task import WaitQueue

IPC_PRIVATE = 0
IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0o1000, 0o2000, 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
IPC_64 = 0x100
SEQ_MULTIPLIER = 32768  # IPCMNI
SHM_DEST, SHM_LOCKED = 0o1000, 0o2000
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SEM_UNDO = 0o10000
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_NOERROR, MSG_EXCEPT, MSG_COPY = 0o10000, 0o20000, 0o40000

# The limits of a 64-bit host kernel as a 32-bit task sees them (include/uapi/linux/{shm,sem,msg}.h defaults;
# compat IPC_INFO clamps the 64-bit shm values to INT_MAX).
SHMMIN, SHMMNI, SHMSEG = 1, 4096, 4096
SHMMAX = 0xFFFFFFFF - (1 << 24)  # ULONG_MAX - 2^24 on i386 (include/uapi/linux/shm.h): no practical limit
SHMALL = 0xFFFFFFFF - (1 << 24)  # pages, likewise
SEMMSL, SEMMNS, SEMOPM, SEMMNI, SEMVMX, SEMAEM = 32000, 1024000000, 500, 32000, 32767, 32767
MSGMAX, MSGMNB, MSGMNI = 8192, 16384, 32000
PAGE = 4096


SHM_HUGETLB, SHM_NORESERVE = 0o4000, 0o10000


@dataclass
class IpcPerm:
    """struct kern_ipc_perm: key, owner, creator, mode and the sequence number of the id."""

    key: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    mode: int
    seq: int = 0
    index: int = 0
    deleted: bool = False

    @property
    def id(self) -> int:
        return self.seq * SEQ_MULTIPLIER + self.index


@dataclass
class ShmSegment:
    """struct shmid_kernel."""

    perm: IpcPerm
    obj: ShmemObject
    size: int
    cpid: int
    lpid: int = 0
    atime: int = 0
    dtime: int = 0
    ctime: int = 0

    @property
    def nattch(self) -> int:
        """Attached VMAs: the object's users less the segment's own hold (while it is not yet destroyed)."""
        return self.obj.users - (0 if self.perm.deleted else 1)


@dataclass
class SemSet:
    """struct sem_array: the values, the last pid to operate on each, and who waits."""

    perm: IpcPerm
    values: list[int]
    pids: list[int]
    otime: int = 0
    ctime: int = 0
    wq: WaitQueue = field(default_factory=lambda: WaitQueue("semop"))
    waiting: dict[int, tuple[list[tuple[int, int, int]], str]] = field(default_factory=dict)  # pid -> ops


@dataclass
class MsgQueue:
    """struct msg_queue: messages (type, text) in order, and the byte limit."""

    perm: IpcPerm
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    qbytes: int = MSGMNB
    stime: int = 0
    rtime: int = 0
    ctime: int = 0
    lspid: int = 0
    lrpid: int = 0
    wq: WaitQueue = field(default_factory=lambda: WaitQueue("msgq"))

    @property
    def cbytes(self) -> int:
        return sum(len(m) for _, m in self.messages)


class SemUndoList:
    """struct sem_undo_list: (set id, semaphore) -> adjustment, shared by tasks cloned with CLONE_SYSVSEM."""

    def __init__(self) -> None:
        self.adj: dict[tuple[int, int], int] = {}
        self.refs = 1


class IpcIds:
    """struct ipc_ids: one kind of object by index, with the key index and the sequence counter."""

    def __init__(self) -> None:
        self.objects: dict[int, object] = {}
        self.seq = 0
        self.last_idx = -1

    def find_key(self, key: int):
        for o in self.objects.values():
            if o.perm.key == key and key != IPC_PRIVATE and not o.perm.deleted:
                return o
        return None

    def add(self, perm: IpcPerm, obj) -> None:
        """ipc_addid: the lowest free index, a new sequence number when the index does not grow."""
        idx = 0
        while idx in self.objects:
            idx += 1
        if idx >= SEQ_MULTIPLIER:
            raise KernelError(E.ENOSPC)
        if idx <= self.last_idx:
            self.seq = (self.seq + 1) % (1 << 16)
        self.last_idx = idx
        perm.index, perm.seq = idx, self.seq
        self.objects[idx] = obj

    def lookup(self, ident: int):
        """ipc_obtain_object_check: EINVAL for a negative, unknown or stale id."""
        if ident < 0:
            raise KernelError(E.EINVAL)
        o = self.objects.get(ident % SEQ_MULTIPLIER)
        if o is None or o.perm.seq != ident // SEQ_MULTIPLIER:
            raise KernelError(E.EINVAL)
        return o

    def by_index(self, idx: int):
        """*_STAT: the object at an index (EINVAL when none)."""
        o = self.objects.get(idx)
        if o is None or idx < 0:
            raise KernelError(E.EINVAL)
        return o

    def remove(self, o) -> None:
        self.objects.pop(o.perm.index, None)
        o.perm.deleted = True

    def max_index(self) -> int:
        return max(self.objects, default=0)


def now() -> int:
    """Seconds since the epoch, as the IPC timestamps keep them."""
    return int(time.time())


class IpcNamespace:
    """The three ID sets and their operations."""

    def __init__(self, k) -> None:
        self.k = k
        self.shm = IpcIds()
        self.sem = IpcIds()
        self.msg = IpcIds()

    # ---- permissions -------------------------------------------------------------------------------

    def ipcperms(self, perm: IpcPerm, flag: int) -> None:
        """EACCES unless the mode bits for the caller grant what flag asks (ipcperms: the requested rwx bits
        folded from flag, checked against the owner's, the group's or the others' bits); root passes
        (CAP_IPC_OWNER)."""
        requested = (flag >> 6) | (flag >> 3) | flag
        granted = perm.mode
        c = self.k.cred(self.k.sched.current)
        if c.euid in (perm.uid, perm.cuid):
            granted >>= 6
        elif c.egid in (perm.gid, perm.cgid) or perm.gid in c.groups or perm.cgid in c.groups:
            granted >>= 3
        if requested & ~granted & 0o7 and not c.capable(15):  # CAP_IPC_OWNER
            raise KernelError(E.EACCES)

    def owner_or_root(self, perm: IpcPerm) -> None:
        """IPC_SET and IPC_RMID: the owner, the creator or root (ipcctl_obtain_check): EPERM otherwise."""
        c = self.k.cred(self.k.sched.current)
        if c.euid not in (perm.uid, perm.cuid) and not c.capable(21):  # CAP_SYS_ADMIN
            raise KernelError(E.EPERM)

    def _get(self, ids: IpcIds, key: int, flags: int, create, check_existing) -> int:
        """ipcget: a new object for IPC_PRIVATE or a missing key with IPC_CREAT, else the existing one."""
        if key != IPC_PRIVATE:
            o = ids.find_key(key)
            if o is not None:
                if flags & IPC_CREAT and flags & IPC_EXCL:
                    raise KernelError(E.EEXIST)
                self.ipcperms(o.perm, flags)
                check_existing(o)
                return o.perm.id
            if not flags & IPC_CREAT:
                raise KernelError(E.ENOENT)
        c = self.k.cred(self.k.sched.current)
        perm = IpcPerm(key, c.euid, c.egid, c.euid, c.egid, flags & 0o777)
        o = create(perm)
        ids.add(perm, o)
        return perm.id

    # ---- shared memory -----------------------------------------------------------------------------

    def shmget(self, task, key: int, size: int, flags: int) -> int:
        """newseg / shm_more_checks (ipc/shm.c)."""
        def create(perm):
            if size < SHMMIN or size > min(SHMMAX, self.k.sysctl_int("kernel/shmmax")):
                raise KernelError(E.EINVAL)
            backing = size
            if flags & SHM_HUGETLB:
                # a huge page size the machine has (0: the default 2 MiB), else EINVAL. The model keeps no huge
                # pages, as a host with vm.nr_hugepages 0: a segment that must reserve them is ENOMEM, one made
                # with SHM_NORESERVE exists (of whole huge pages; natively its pages could not be faulted in)
                log = (flags >> 26) & 0x3F
                if log not in (0, 21, 30):
                    raise KernelError(E.EINVAL)
                if not flags & SHM_NORESERVE:
                    raise KernelError(E.ENOMEM)
                huge = 1 << (log or 21)
                backing = (size + huge - 1) // huge * huge
            if len(self.shm.objects) >= self.k.sysctl_int("kernel/shmmni"):
                raise KernelError(E.ENOSPC)
            obj = ShmemObject(self.k.pool, backing)
            obj.get()  # the segment's own hold, dropped at IPC_RMID
            return ShmSegment(perm, obj, size, task.tgid, ctime=now())

        def check(seg):
            if seg.size < size:
                raise KernelError(E.EINVAL)
        return self._get(self.shm, key, flags, create, check)

    def shm_rmid(self, seg: ShmSegment) -> None:
        """IPC_RMID: the key is freed now and the segment marked SHM_DEST; it goes, memory and id, when the
        last attach does (do_shm_rmid: attached segments stay reachable by id until then)."""
        seg.perm.mode |= SHM_DEST
        seg.perm.key = IPC_PRIVATE
        if seg.nattch == 0:
            self._shm_destroy(seg)
        else:
            seg.obj.on_unused = lambda: self._shm_destroy(seg)

    def _shm_destroy(self, seg: ShmSegment) -> None:
        """shm_destroy: the id and the segment's hold on its memory go."""
        seg.obj.on_unused = None
        self.shm.remove(seg)
        seg.obj.put()

    # ---- semaphores --------------------------------------------------------------------------------

    def semget(self, task, key: int, nsems: int, flags: int) -> int:
        """newary / sem_more_checks (ipc/sem.c)."""
        if nsems < 0 or nsems > self.k.sysctl_int("kernel/sem", 0):
            raise KernelError(E.EINVAL)

        def create(perm):
            if nsems == 0:
                raise KernelError(E.EINVAL)
            if len(self.sem.objects) >= self.k.sysctl_int("kernel/sem", 3):
                raise KernelError(E.ENOSPC)
            return SemSet(perm, [0] * nsems, [0] * nsems, ctime=now())

        def check(s):
            if nsems > len(s.values):
                raise KernelError(E.EINVAL)
        return self._get(self.sem, key, flags, create, check)

    def sem_rmid(self, s: SemSet) -> None:
        """freeary: every sleeper fails with EIDRM; the undo entries go."""
        self.sem.remove(s)
        self.k.sched.wake_up(s.wq)
        for t in self.k.tasks.values():
            u = getattr(t, "sysvsem", None)
            if u is not None:
                for key in [key for key in u.adj if key[0] == s.perm.id]:
                    del u.adj[key]

    def try_semop(self, s: SemSet, ops: list[tuple[int, int, int]], task) -> str | None:
        """Apply every operation or none (perform_atomic_semop): None when done, "block" when one must wait,
        or raise ERANGE/EAGAIN."""
        vals = list(s.values)
        for num, op, flg in ops:
            cur = vals[num]
            if op == 0:
                if cur != 0:
                    return "zero" if not flg & IPC_NOWAIT else self._nowait()
            elif cur + op < 0:
                return "count" if not flg & IPC_NOWAIT else self._nowait()
            else:
                if cur + op > SEMVMX:
                    raise KernelError(E.ERANGE)
                vals[num] = cur + op
        s.values = vals
        undo = getattr(task, "sysvsem", None)
        for num, op, flg in ops:
            s.pids[num] = task.tgid
            if flg & SEM_UNDO and op:
                if undo is None:
                    undo = task.sysvsem = SemUndoList()
                key = (s.perm.id, num)
                adj = undo.adj.get(key, 0) - op
                if abs(adj) > SEMAEM:
                    raise KernelError(E.ERANGE)
                undo.adj[key] = adj
        s.otime = now()
        self.k.sched.wake_up(s.wq)
        return None

    @staticmethod
    def _nowait():
        raise KernelError(E.EAGAIN)

    def exit_sem(self, task) -> None:
        """The task's undo list loses a user; the last applies its adjustments, clamped to 0..SEMVMX (exit_sem)."""
        u = getattr(task, "sysvsem", None)
        task.sysvsem = None
        if u is None:
            return
        u.refs -= 1
        if u.refs:
            return
        for (ident, num), adj in u.adj.items():
            try:
                s = self.sem.lookup(ident)
            except KernelError:
                continue
            if num < len(s.values):
                s.values[num] = max(0, min(SEMVMX, s.values[num] + adj))
                s.pids[num] = task.tgid
                self.k.sched.wake_up(s.wq)
        u.adj.clear()

    def clear_undo(self, ident: int, num: int | None) -> None:
        """SETVAL/SETALL reset the adjustments of the changed semaphores in every undo list."""
        for t in self.k.tasks.values():
            u = getattr(t, "sysvsem", None)
            if u is not None:
                for key in [key for key in u.adj if key[0] == ident and (num is None or key[1] == num)]:
                    del u.adj[key]

    # ---- message queues ----------------------------------------------------------------------------

    def msgget(self, task, key: int, flags: int) -> int:
        """newque (ipc/msg.c)."""
        def create(perm):
            if len(self.msg.objects) >= self.k.sysctl_int("kernel/msgmni"):
                raise KernelError(E.ENOSPC)
            return MsgQueue(perm, qbytes=self.k.sysctl_int("kernel/msgmnb"), ctime=now())
        return self._get(self.msg, key, flags, create, lambda q: None)

    def msg_rmid(self, q: MsgQueue) -> None:
        """freeque: the messages go, every sleeper fails with EIDRM."""
        self.msg.remove(q)
        q.messages.clear()
        self.k.sched.wake_up(q.wq)

    @staticmethod
    def pick_message(q: MsgQueue, msgtyp: int, flags: int) -> int | None:
        """Index of the message msgrcv takes (find_msg): the first, the first of a type (or not of it with
        MSG_EXCEPT), or the lowest type up to -msgtyp."""
        if msgtyp == 0:
            return 0 if q.messages else None
        if msgtyp > 0:
            for i, (mtype, _) in enumerate(q.messages):
                if (mtype != msgtyp) if flags & MSG_EXCEPT else (mtype == msgtyp):
                    return i
            return None
        best = None
        for i, (mtype, _) in enumerate(q.messages):
            if mtype <= -msgtyp and (best is None or mtype < q.messages[best][0]):
                best = i
        return best
