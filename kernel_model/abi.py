"""i386 Linux ABI constants: syscall numbers, errno values, signals and clone flags.

Pure data plus a few tiny formatting helpers; standard library only, no host lookups at run time.

Sources (the literal tables below were generated once from these and pasted in):

* ``SYSCALL_NAMES``: Linux ``arch/x86/entry/syscalls/syscall_32.tbl`` (i386 ABI), numbers 0..450 as
  shipped in linux-libc-dev 6.1 ``asm/unistd_32.h`` and cross-checked against the table, plus
  451..470 (cachestat .. listns, Linux 6.5 .. 6.19) read from the upstream table.  Unused numbers
  (222, 223, 251, 285, 387-392, 415) have no entry.  Entries without an entry point (``break``,
  ``stty``, ``afs_syscall``, ``lookup_dcookie``, ...) are listed because the table lists them.
* ``ERRNO*``: Linux ``include/uapi/asm-generic/errno-base.h`` / ``errno.h`` values 1..133, with glibc's
  ``strerror`` messages (glibc 2.36).
* ``SIGNALS``: ``arch/x86/include/uapi/asm/signal.h``.
* ``CLONE_*``: ``include/uapi/linux/sched.h``.  ``clone_flags_str`` reproduces strace's rendering.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------------
# System calls (i386 ABI, int 0x80 / sysenter: number in eax, args in ebx, ecx, edx, esi, edi, ebp)
# ---------------------------------------------------------------------------------------------------

SYSCALL_NAMES: dict[int, str] = {
    0: "restart_syscall",
    1: "exit",
    2: "fork",
    3: "read",
    4: "write",
    5: "open",
    6: "close",
    7: "waitpid",
    8: "creat",
    9: "link",
    10: "unlink",
    11: "execve",
    12: "chdir",
    13: "time",
    14: "mknod",
    15: "chmod",
    16: "lchown",
    17: "break",
    18: "oldstat",
    19: "lseek",
    20: "getpid",
    21: "mount",
    22: "umount",
    23: "setuid",
    24: "getuid",
    25: "stime",
    26: "ptrace",
    27: "alarm",
    28: "oldfstat",
    29: "pause",
    30: "utime",
    31: "stty",
    32: "gtty",
    33: "access",
    34: "nice",
    35: "ftime",
    36: "sync",
    37: "kill",
    38: "rename",
    39: "mkdir",
    40: "rmdir",
    41: "dup",
    42: "pipe",
    43: "times",
    44: "prof",
    45: "brk",
    46: "setgid",
    47: "getgid",
    48: "signal",
    49: "geteuid",
    50: "getegid",
    51: "acct",
    52: "umount2",
    53: "lock",
    54: "ioctl",
    55: "fcntl",
    56: "mpx",
    57: "setpgid",
    58: "ulimit",
    59: "oldolduname",
    60: "umask",
    61: "chroot",
    62: "ustat",
    63: "dup2",
    64: "getppid",
    65: "getpgrp",
    66: "setsid",
    67: "sigaction",
    68: "sgetmask",
    69: "ssetmask",
    70: "setreuid",
    71: "setregid",
    72: "sigsuspend",
    73: "sigpending",
    74: "sethostname",
    75: "setrlimit",
    76: "getrlimit",
    77: "getrusage",
    78: "gettimeofday",
    79: "settimeofday",
    80: "getgroups",
    81: "setgroups",
    82: "select",
    83: "symlink",
    84: "oldlstat",
    85: "readlink",
    86: "uselib",
    87: "swapon",
    88: "reboot",
    89: "readdir",
    90: "mmap",
    91: "munmap",
    92: "truncate",
    93: "ftruncate",
    94: "fchmod",
    95: "fchown",
    96: "getpriority",
    97: "setpriority",
    98: "profil",
    99: "statfs",
    100: "fstatfs",
    101: "ioperm",
    102: "socketcall",
    103: "syslog",
    104: "setitimer",
    105: "getitimer",
    106: "stat",
    107: "lstat",
    108: "fstat",
    109: "olduname",
    110: "iopl",
    111: "vhangup",
    112: "idle",
    113: "vm86old",
    114: "wait4",
    115: "swapoff",
    116: "sysinfo",
    117: "ipc",
    118: "fsync",
    119: "sigreturn",
    120: "clone",
    121: "setdomainname",
    122: "uname",
    123: "modify_ldt",
    124: "adjtimex",
    125: "mprotect",
    126: "sigprocmask",
    127: "create_module",
    128: "init_module",
    129: "delete_module",
    130: "get_kernel_syms",
    131: "quotactl",
    132: "getpgid",
    133: "fchdir",
    134: "bdflush",
    135: "sysfs",
    136: "personality",
    137: "afs_syscall",
    138: "setfsuid",
    139: "setfsgid",
    140: "_llseek",
    141: "getdents",
    142: "_newselect",
    143: "flock",
    144: "msync",
    145: "readv",
    146: "writev",
    147: "getsid",
    148: "fdatasync",
    149: "_sysctl",
    150: "mlock",
    151: "munlock",
    152: "mlockall",
    153: "munlockall",
    154: "sched_setparam",
    155: "sched_getparam",
    156: "sched_setscheduler",
    157: "sched_getscheduler",
    158: "sched_yield",
    159: "sched_get_priority_max",
    160: "sched_get_priority_min",
    161: "sched_rr_get_interval",
    162: "nanosleep",
    163: "mremap",
    164: "setresuid",
    165: "getresuid",
    166: "vm86",
    167: "query_module",
    168: "poll",
    169: "nfsservctl",
    170: "setresgid",
    171: "getresgid",
    172: "prctl",
    173: "rt_sigreturn",
    174: "rt_sigaction",
    175: "rt_sigprocmask",
    176: "rt_sigpending",
    177: "rt_sigtimedwait",
    178: "rt_sigqueueinfo",
    179: "rt_sigsuspend",
    180: "pread64",
    181: "pwrite64",
    182: "chown",
    183: "getcwd",
    184: "capget",
    185: "capset",
    186: "sigaltstack",
    187: "sendfile",
    188: "getpmsg",
    189: "putpmsg",
    190: "vfork",
    191: "ugetrlimit",
    192: "mmap2",
    193: "truncate64",
    194: "ftruncate64",
    195: "stat64",
    196: "lstat64",
    197: "fstat64",
    198: "lchown32",
    199: "getuid32",
    200: "getgid32",
    201: "geteuid32",
    202: "getegid32",
    203: "setreuid32",
    204: "setregid32",
    205: "getgroups32",
    206: "setgroups32",
    207: "fchown32",
    208: "setresuid32",
    209: "getresuid32",
    210: "setresgid32",
    211: "getresgid32",
    212: "chown32",
    213: "setuid32",
    214: "setgid32",
    215: "setfsuid32",
    216: "setfsgid32",
    217: "pivot_root",
    218: "mincore",
    219: "madvise",
    220: "getdents64",
    221: "fcntl64",
    224: "gettid",
    225: "readahead",
    226: "setxattr",
    227: "lsetxattr",
    228: "fsetxattr",
    229: "getxattr",
    230: "lgetxattr",
    231: "fgetxattr",
    232: "listxattr",
    233: "llistxattr",
    234: "flistxattr",
    235: "removexattr",
    236: "lremovexattr",
    237: "fremovexattr",
    238: "tkill",
    239: "sendfile64",
    240: "futex",
    241: "sched_setaffinity",
    242: "sched_getaffinity",
    243: "set_thread_area",
    244: "get_thread_area",
    245: "io_setup",
    246: "io_destroy",
    247: "io_getevents",
    248: "io_submit",
    249: "io_cancel",
    250: "fadvise64",
    252: "exit_group",
    253: "lookup_dcookie",
    254: "epoll_create",
    255: "epoll_ctl",
    256: "epoll_wait",
    257: "remap_file_pages",
    258: "set_tid_address",
    259: "timer_create",
    260: "timer_settime",
    261: "timer_gettime",
    262: "timer_getoverrun",
    263: "timer_delete",
    264: "clock_settime",
    265: "clock_gettime",
    266: "clock_getres",
    267: "clock_nanosleep",
    268: "statfs64",
    269: "fstatfs64",
    270: "tgkill",
    271: "utimes",
    272: "fadvise64_64",
    273: "vserver",
    274: "mbind",
    275: "get_mempolicy",
    276: "set_mempolicy",
    277: "mq_open",
    278: "mq_unlink",
    279: "mq_timedsend",
    280: "mq_timedreceive",
    281: "mq_notify",
    282: "mq_getsetattr",
    283: "kexec_load",
    284: "waitid",
    286: "add_key",
    287: "request_key",
    288: "keyctl",
    289: "ioprio_set",
    290: "ioprio_get",
    291: "inotify_init",
    292: "inotify_add_watch",
    293: "inotify_rm_watch",
    294: "migrate_pages",
    295: "openat",
    296: "mkdirat",
    297: "mknodat",
    298: "fchownat",
    299: "futimesat",
    300: "fstatat64",
    301: "unlinkat",
    302: "renameat",
    303: "linkat",
    304: "symlinkat",
    305: "readlinkat",
    306: "fchmodat",
    307: "faccessat",
    308: "pselect6",
    309: "ppoll",
    310: "unshare",
    311: "set_robust_list",
    312: "get_robust_list",
    313: "splice",
    314: "sync_file_range",
    315: "tee",
    316: "vmsplice",
    317: "move_pages",
    318: "getcpu",
    319: "epoll_pwait",
    320: "utimensat",
    321: "signalfd",
    322: "timerfd_create",
    323: "eventfd",
    324: "fallocate",
    325: "timerfd_settime",
    326: "timerfd_gettime",
    327: "signalfd4",
    328: "eventfd2",
    329: "epoll_create1",
    330: "dup3",
    331: "pipe2",
    332: "inotify_init1",
    333: "preadv",
    334: "pwritev",
    335: "rt_tgsigqueueinfo",
    336: "perf_event_open",
    337: "recvmmsg",
    338: "fanotify_init",
    339: "fanotify_mark",
    340: "prlimit64",
    341: "name_to_handle_at",
    342: "open_by_handle_at",
    343: "clock_adjtime",
    344: "syncfs",
    345: "sendmmsg",
    346: "setns",
    347: "process_vm_readv",
    348: "process_vm_writev",
    349: "kcmp",
    350: "finit_module",
    351: "sched_setattr",
    352: "sched_getattr",
    353: "renameat2",
    354: "seccomp",
    355: "getrandom",
    356: "memfd_create",
    357: "bpf",
    358: "execveat",
    359: "socket",
    360: "socketpair",
    361: "bind",
    362: "connect",
    363: "listen",
    364: "accept4",
    365: "getsockopt",
    366: "setsockopt",
    367: "getsockname",
    368: "getpeername",
    369: "sendto",
    370: "sendmsg",
    371: "recvfrom",
    372: "recvmsg",
    373: "shutdown",
    374: "userfaultfd",
    375: "membarrier",
    376: "mlock2",
    377: "copy_file_range",
    378: "preadv2",
    379: "pwritev2",
    380: "pkey_mprotect",
    381: "pkey_alloc",
    382: "pkey_free",
    383: "statx",
    384: "arch_prctl",
    385: "io_pgetevents",
    386: "rseq",
    393: "semget",
    394: "semctl",
    395: "shmget",
    396: "shmctl",
    397: "shmat",
    398: "shmdt",
    399: "msgget",
    400: "msgsnd",
    401: "msgrcv",
    402: "msgctl",
    403: "clock_gettime64",
    404: "clock_settime64",
    405: "clock_adjtime64",
    406: "clock_getres_time64",
    407: "clock_nanosleep_time64",
    408: "timer_gettime64",
    409: "timer_settime64",
    410: "timerfd_gettime64",
    411: "timerfd_settime64",
    412: "utimensat_time64",
    413: "pselect6_time64",
    414: "ppoll_time64",
    416: "io_pgetevents_time64",
    417: "recvmmsg_time64",
    418: "mq_timedsend_time64",
    419: "mq_timedreceive_time64",
    420: "semtimedop_time64",
    421: "rt_sigtimedwait_time64",
    422: "futex_time64",
    423: "sched_rr_get_interval_time64",
    424: "pidfd_send_signal",
    425: "io_uring_setup",
    426: "io_uring_enter",
    427: "io_uring_register",
    428: "open_tree",
    429: "move_mount",
    430: "fsopen",
    431: "fsconfig",
    432: "fsmount",
    433: "fspick",
    434: "pidfd_open",
    435: "clone3",
    436: "close_range",
    437: "openat2",
    438: "pidfd_getfd",
    439: "faccessat2",
    440: "process_madvise",
    441: "epoll_pwait2",
    442: "mount_setattr",
    443: "quotactl_fd",
    444: "landlock_create_ruleset",
    445: "landlock_add_rule",
    446: "landlock_restrict_self",
    447: "memfd_secret",
    448: "process_mrelease",
    449: "futex_waitv",
    450: "set_mempolicy_home_node",
    451: "cachestat",
    452: "fchmodat2",
    453: "map_shadow_stack",
    454: "futex_wake",
    455: "futex_wait",
    456: "futex_requeue",
    457: "statmount",
    458: "listmount",
    459: "lsm_get_self_attr",
    460: "lsm_set_self_attr",
    461: "lsm_list_modules",
    462: "mseal",
    463: "setxattrat",
    464: "getxattrat",
    465: "listxattrat",
    466: "removexattrat",
    467: "open_tree_attr",
    468: "file_getattr",
    469: "file_setattr",
    470: "listns",
}

SYSCALL_NUMBERS: dict[str, int] = {name: nr for nr, name in SYSCALL_NAMES.items()}

#: Highest syscall number in ``SYSCALL_NAMES``.
MAX_SYSCALL_NR: int = max(SYSCALL_NAMES)


class NR:
    """i386 syscall numbers as attributes (``NR.fork == 2``).

    Same content as ``SYSCALL_NUMBERS``; the Python keyword ``break`` is spelled ``break_``.
    """

    restart_syscall = 0
    exit = 1
    fork = 2
    read = 3
    write = 4
    open = 5
    close = 6
    waitpid = 7
    creat = 8
    link = 9
    unlink = 10
    execve = 11
    chdir = 12
    time = 13
    mknod = 14
    chmod = 15
    lchown = 16
    break_ = 17
    oldstat = 18
    lseek = 19
    getpid = 20
    mount = 21
    umount = 22
    setuid = 23
    getuid = 24
    stime = 25
    ptrace = 26
    alarm = 27
    oldfstat = 28
    pause = 29
    utime = 30
    stty = 31
    gtty = 32
    access = 33
    nice = 34
    ftime = 35
    sync = 36
    kill = 37
    rename = 38
    mkdir = 39
    rmdir = 40
    dup = 41
    pipe = 42
    times = 43
    prof = 44
    brk = 45
    setgid = 46
    getgid = 47
    signal = 48
    geteuid = 49
    getegid = 50
    acct = 51
    umount2 = 52
    lock = 53
    ioctl = 54
    fcntl = 55
    mpx = 56
    setpgid = 57
    ulimit = 58
    oldolduname = 59
    umask = 60
    chroot = 61
    ustat = 62
    dup2 = 63
    getppid = 64
    getpgrp = 65
    setsid = 66
    sigaction = 67
    sgetmask = 68
    ssetmask = 69
    setreuid = 70
    setregid = 71
    sigsuspend = 72
    sigpending = 73
    sethostname = 74
    setrlimit = 75
    getrlimit = 76
    getrusage = 77
    gettimeofday = 78
    settimeofday = 79
    getgroups = 80
    setgroups = 81
    select = 82
    symlink = 83
    oldlstat = 84
    readlink = 85
    uselib = 86
    swapon = 87
    reboot = 88
    readdir = 89
    mmap = 90
    munmap = 91
    truncate = 92
    ftruncate = 93
    fchmod = 94
    fchown = 95
    getpriority = 96
    setpriority = 97
    profil = 98
    statfs = 99
    fstatfs = 100
    ioperm = 101
    socketcall = 102
    syslog = 103
    setitimer = 104
    getitimer = 105
    stat = 106
    lstat = 107
    fstat = 108
    olduname = 109
    iopl = 110
    vhangup = 111
    idle = 112
    vm86old = 113
    wait4 = 114
    swapoff = 115
    sysinfo = 116
    ipc = 117
    fsync = 118
    sigreturn = 119
    clone = 120
    setdomainname = 121
    uname = 122
    modify_ldt = 123
    adjtimex = 124
    mprotect = 125
    sigprocmask = 126
    create_module = 127
    init_module = 128
    delete_module = 129
    get_kernel_syms = 130
    quotactl = 131
    getpgid = 132
    fchdir = 133
    bdflush = 134
    sysfs = 135
    personality = 136
    afs_syscall = 137
    setfsuid = 138
    setfsgid = 139
    _llseek = 140
    getdents = 141
    _newselect = 142
    flock = 143
    msync = 144
    readv = 145
    writev = 146
    getsid = 147
    fdatasync = 148
    _sysctl = 149
    mlock = 150
    munlock = 151
    mlockall = 152
    munlockall = 153
    sched_setparam = 154
    sched_getparam = 155
    sched_setscheduler = 156
    sched_getscheduler = 157
    sched_yield = 158
    sched_get_priority_max = 159
    sched_get_priority_min = 160
    sched_rr_get_interval = 161
    nanosleep = 162
    mremap = 163
    setresuid = 164
    getresuid = 165
    vm86 = 166
    query_module = 167
    poll = 168
    nfsservctl = 169
    setresgid = 170
    getresgid = 171
    prctl = 172
    rt_sigreturn = 173
    rt_sigaction = 174
    rt_sigprocmask = 175
    rt_sigpending = 176
    rt_sigtimedwait = 177
    rt_sigqueueinfo = 178
    rt_sigsuspend = 179
    pread64 = 180
    pwrite64 = 181
    chown = 182
    getcwd = 183
    capget = 184
    capset = 185
    sigaltstack = 186
    sendfile = 187
    getpmsg = 188
    putpmsg = 189
    vfork = 190
    ugetrlimit = 191
    mmap2 = 192
    truncate64 = 193
    ftruncate64 = 194
    stat64 = 195
    lstat64 = 196
    fstat64 = 197
    lchown32 = 198
    getuid32 = 199
    getgid32 = 200
    geteuid32 = 201
    getegid32 = 202
    setreuid32 = 203
    setregid32 = 204
    getgroups32 = 205
    setgroups32 = 206
    fchown32 = 207
    setresuid32 = 208
    getresuid32 = 209
    setresgid32 = 210
    getresgid32 = 211
    chown32 = 212
    setuid32 = 213
    setgid32 = 214
    setfsuid32 = 215
    setfsgid32 = 216
    pivot_root = 217
    mincore = 218
    madvise = 219
    getdents64 = 220
    fcntl64 = 221
    gettid = 224
    readahead = 225
    setxattr = 226
    lsetxattr = 227
    fsetxattr = 228
    getxattr = 229
    lgetxattr = 230
    fgetxattr = 231
    listxattr = 232
    llistxattr = 233
    flistxattr = 234
    removexattr = 235
    lremovexattr = 236
    fremovexattr = 237
    tkill = 238
    sendfile64 = 239
    futex = 240
    sched_setaffinity = 241
    sched_getaffinity = 242
    set_thread_area = 243
    get_thread_area = 244
    io_setup = 245
    io_destroy = 246
    io_getevents = 247
    io_submit = 248
    io_cancel = 249
    fadvise64 = 250
    exit_group = 252
    lookup_dcookie = 253
    epoll_create = 254
    epoll_ctl = 255
    epoll_wait = 256
    remap_file_pages = 257
    set_tid_address = 258
    timer_create = 259
    timer_settime = 260
    timer_gettime = 261
    timer_getoverrun = 262
    timer_delete = 263
    clock_settime = 264
    clock_gettime = 265
    clock_getres = 266
    clock_nanosleep = 267
    statfs64 = 268
    fstatfs64 = 269
    tgkill = 270
    utimes = 271
    fadvise64_64 = 272
    vserver = 273
    mbind = 274
    get_mempolicy = 275
    set_mempolicy = 276
    mq_open = 277
    mq_unlink = 278
    mq_timedsend = 279
    mq_timedreceive = 280
    mq_notify = 281
    mq_getsetattr = 282
    kexec_load = 283
    waitid = 284
    add_key = 286
    request_key = 287
    keyctl = 288
    ioprio_set = 289
    ioprio_get = 290
    inotify_init = 291
    inotify_add_watch = 292
    inotify_rm_watch = 293
    migrate_pages = 294
    openat = 295
    mkdirat = 296
    mknodat = 297
    fchownat = 298
    futimesat = 299
    fstatat64 = 300
    unlinkat = 301
    renameat = 302
    linkat = 303
    symlinkat = 304
    readlinkat = 305
    fchmodat = 306
    faccessat = 307
    pselect6 = 308
    ppoll = 309
    unshare = 310
    set_robust_list = 311
    get_robust_list = 312
    splice = 313
    sync_file_range = 314
    tee = 315
    vmsplice = 316
    move_pages = 317
    getcpu = 318
    epoll_pwait = 319
    utimensat = 320
    signalfd = 321
    timerfd_create = 322
    eventfd = 323
    fallocate = 324
    timerfd_settime = 325
    timerfd_gettime = 326
    signalfd4 = 327
    eventfd2 = 328
    epoll_create1 = 329
    dup3 = 330
    pipe2 = 331
    inotify_init1 = 332
    preadv = 333
    pwritev = 334
    rt_tgsigqueueinfo = 335
    perf_event_open = 336
    recvmmsg = 337
    fanotify_init = 338
    fanotify_mark = 339
    prlimit64 = 340
    name_to_handle_at = 341
    open_by_handle_at = 342
    clock_adjtime = 343
    syncfs = 344
    sendmmsg = 345
    setns = 346
    process_vm_readv = 347
    process_vm_writev = 348
    kcmp = 349
    finit_module = 350
    sched_setattr = 351
    sched_getattr = 352
    renameat2 = 353
    seccomp = 354
    getrandom = 355
    memfd_create = 356
    bpf = 357
    execveat = 358
    socket = 359
    socketpair = 360
    bind = 361
    connect = 362
    listen = 363
    accept4 = 364
    getsockopt = 365
    setsockopt = 366
    getsockname = 367
    getpeername = 368
    sendto = 369
    sendmsg = 370
    recvfrom = 371
    recvmsg = 372
    shutdown = 373
    userfaultfd = 374
    membarrier = 375
    mlock2 = 376
    copy_file_range = 377
    preadv2 = 378
    pwritev2 = 379
    pkey_mprotect = 380
    pkey_alloc = 381
    pkey_free = 382
    statx = 383
    arch_prctl = 384
    io_pgetevents = 385
    rseq = 386
    semget = 393
    semctl = 394
    shmget = 395
    shmctl = 396
    shmat = 397
    shmdt = 398
    msgget = 399
    msgsnd = 400
    msgrcv = 401
    msgctl = 402
    clock_gettime64 = 403
    clock_settime64 = 404
    clock_adjtime64 = 405
    clock_getres_time64 = 406
    clock_nanosleep_time64 = 407
    timer_gettime64 = 408
    timer_settime64 = 409
    timerfd_gettime64 = 410
    timerfd_settime64 = 411
    utimensat_time64 = 412
    pselect6_time64 = 413
    ppoll_time64 = 414
    io_pgetevents_time64 = 416
    recvmmsg_time64 = 417
    mq_timedsend_time64 = 418
    mq_timedreceive_time64 = 419
    semtimedop_time64 = 420
    rt_sigtimedwait_time64 = 421
    futex_time64 = 422
    sched_rr_get_interval_time64 = 423
    pidfd_send_signal = 424
    io_uring_setup = 425
    io_uring_enter = 426
    io_uring_register = 427
    open_tree = 428
    move_mount = 429
    fsopen = 430
    fsconfig = 431
    fsmount = 432
    fspick = 433
    pidfd_open = 434
    clone3 = 435
    close_range = 436
    openat2 = 437
    pidfd_getfd = 438
    faccessat2 = 439
    process_madvise = 440
    epoll_pwait2 = 441
    mount_setattr = 442
    quotactl_fd = 443
    landlock_create_ruleset = 444
    landlock_add_rule = 445
    landlock_restrict_self = 446
    memfd_secret = 447
    process_mrelease = 448
    futex_waitv = 449
    set_mempolicy_home_node = 450
    cachestat = 451
    fchmodat2 = 452
    map_shadow_stack = 453
    futex_wake = 454
    futex_wait = 455
    futex_requeue = 456
    statmount = 457
    listmount = 458
    lsm_get_self_attr = 459
    lsm_set_self_attr = 460
    lsm_list_modules = 461
    mseal = 462
    setxattrat = 463
    getxattrat = 464
    listxattrat = 465
    removexattrat = 466
    open_tree_attr = 467
    file_getattr = 468
    file_setattr = 469
    listns = 470


def syscall_name(nr: int) -> str:
    """Name of i386 syscall ``nr``; unknown numbers are rendered like strace does (``syscall_0x1f4``)."""
    name = SYSCALL_NAMES.get(nr)
    if name is not None:
        return name
    return f"syscall_{nr & 0xFFFFFFFF:#x}"


# ---------------------------------------------------------------------------------------------------
# errno
# ---------------------------------------------------------------------------------------------------

#: errno value -> canonical kernel name (as strace prints it: EAGAIN, EDEADLK, EOPNOTSUPP).
#: 41 and 58 are unused on Linux.
ERRNO_NAMES: dict[int, str] = {
    1: "EPERM",
    2: "ENOENT",
    3: "ESRCH",
    4: "EINTR",
    5: "EIO",
    6: "ENXIO",
    7: "E2BIG",
    8: "ENOEXEC",
    9: "EBADF",
    10: "ECHILD",
    11: "EAGAIN",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    15: "ENOTBLK",
    16: "EBUSY",
    17: "EEXIST",
    18: "EXDEV",
    19: "ENODEV",
    20: "ENOTDIR",
    21: "EISDIR",
    22: "EINVAL",
    23: "ENFILE",
    24: "EMFILE",
    25: "ENOTTY",
    26: "ETXTBSY",
    27: "EFBIG",
    28: "ENOSPC",
    29: "ESPIPE",
    30: "EROFS",
    31: "EMLINK",
    32: "EPIPE",
    33: "EDOM",
    34: "ERANGE",
    35: "EDEADLK",
    36: "ENAMETOOLONG",
    37: "ENOLCK",
    38: "ENOSYS",
    39: "ENOTEMPTY",
    40: "ELOOP",
    42: "ENOMSG",
    43: "EIDRM",
    44: "ECHRNG",
    45: "EL2NSYNC",
    46: "EL3HLT",
    47: "EL3RST",
    48: "ELNRNG",
    49: "EUNATCH",
    50: "ENOCSI",
    51: "EL2HLT",
    52: "EBADE",
    53: "EBADR",
    54: "EXFULL",
    55: "ENOANO",
    56: "EBADRQC",
    57: "EBADSLT",
    59: "EBFONT",
    60: "ENOSTR",
    61: "ENODATA",
    62: "ETIME",
    63: "ENOSR",
    64: "ENONET",
    65: "ENOPKG",
    66: "EREMOTE",
    67: "ENOLINK",
    68: "EADV",
    69: "ESRMNT",
    70: "ECOMM",
    71: "EPROTO",
    72: "EMULTIHOP",
    73: "EDOTDOT",
    74: "EBADMSG",
    75: "EOVERFLOW",
    76: "ENOTUNIQ",
    77: "EBADFD",
    78: "EREMCHG",
    79: "ELIBACC",
    80: "ELIBBAD",
    81: "ELIBSCN",
    82: "ELIBMAX",
    83: "ELIBEXEC",
    84: "EILSEQ",
    85: "ERESTART",
    86: "ESTRPIPE",
    87: "EUSERS",
    88: "ENOTSOCK",
    89: "EDESTADDRREQ",
    90: "EMSGSIZE",
    91: "EPROTOTYPE",
    92: "ENOPROTOOPT",
    93: "EPROTONOSUPPORT",
    94: "ESOCKTNOSUPPORT",
    95: "EOPNOTSUPP",
    96: "EPFNOSUPPORT",
    97: "EAFNOSUPPORT",
    98: "EADDRINUSE",
    99: "EADDRNOTAVAIL",
    100: "ENETDOWN",
    101: "ENETUNREACH",
    102: "ENETRESET",
    103: "ECONNABORTED",
    104: "ECONNRESET",
    105: "ENOBUFS",
    106: "EISCONN",
    107: "ENOTCONN",
    108: "ESHUTDOWN",
    109: "ETOOMANYREFS",
    110: "ETIMEDOUT",
    111: "ECONNREFUSED",
    112: "EHOSTDOWN",
    113: "EHOSTUNREACH",
    114: "EALREADY",
    115: "EINPROGRESS",
    116: "ESTALE",
    117: "EUCLEAN",
    118: "ENOTNAM",
    119: "ENAVAIL",
    120: "EISNAM",
    121: "EREMOTEIO",
    122: "EDQUOT",
    123: "ENOMEDIUM",
    124: "EMEDIUMTYPE",
    125: "ECANCELED",
    126: "ENOKEY",
    127: "EKEYEXPIRED",
    128: "EKEYREVOKED",
    129: "EKEYREJECTED",
    130: "EOWNERDEAD",
    131: "ENOTRECOVERABLE",
    132: "ERFKILL",
    133: "EHWPOISON",
}

#: errno value -> glibc ``strerror`` message.
ERRNO_MESSAGES: dict[int, str] = {
    1: "Operation not permitted",
    2: "No such file or directory",
    3: "No such process",
    4: "Interrupted system call",
    5: "Input/output error",
    6: "No such device or address",
    7: "Argument list too long",
    8: "Exec format error",
    9: "Bad file descriptor",
    10: "No child processes",
    11: "Resource temporarily unavailable",
    12: "Cannot allocate memory",
    13: "Permission denied",
    14: "Bad address",
    15: "Block device required",
    16: "Device or resource busy",
    17: "File exists",
    18: "Invalid cross-device link",
    19: "No such device",
    20: "Not a directory",
    21: "Is a directory",
    22: "Invalid argument",
    23: "Too many open files in system",
    24: "Too many open files",
    25: "Inappropriate ioctl for device",
    26: "Text file busy",
    27: "File too large",
    28: "No space left on device",
    29: "Illegal seek",
    30: "Read-only file system",
    31: "Too many links",
    32: "Broken pipe",
    33: "Numerical argument out of domain",
    34: "Numerical result out of range",
    35: "Resource deadlock avoided",
    36: "File name too long",
    37: "No locks available",
    38: "Function not implemented",
    39: "Directory not empty",
    40: "Too many levels of symbolic links",
    42: "No message of desired type",
    43: "Identifier removed",
    44: "Channel number out of range",
    45: "Level 2 not synchronized",
    46: "Level 3 halted",
    47: "Level 3 reset",
    48: "Link number out of range",
    49: "Protocol driver not attached",
    50: "No CSI structure available",
    51: "Level 2 halted",
    52: "Invalid exchange",
    53: "Invalid request descriptor",
    54: "Exchange full",
    55: "No anode",
    56: "Invalid request code",
    57: "Invalid slot",
    59: "Bad font file format",
    60: "Device not a stream",
    61: "No data available",
    62: "Timer expired",
    63: "Out of streams resources",
    64: "Machine is not on the network",
    65: "Package not installed",
    66: "Object is remote",
    67: "Link has been severed",
    68: "Advertise error",
    69: "Srmount error",
    70: "Communication error on send",
    71: "Protocol error",
    72: "Multihop attempted",
    73: "RFS specific error",
    74: "Bad message",
    75: "Value too large for defined data type",
    76: "Name not unique on network",
    77: "File descriptor in bad state",
    78: "Remote address changed",
    79: "Can not access a needed shared library",
    80: "Accessing a corrupted shared library",
    81: ".lib section in a.out corrupted",
    82: "Attempting to link in too many shared libraries",
    83: "Cannot exec a shared library directly",
    84: "Invalid or incomplete multibyte or wide character",
    85: "Interrupted system call should be restarted",
    86: "Streams pipe error",
    87: "Too many users",
    88: "Socket operation on non-socket",
    89: "Destination address required",
    90: "Message too long",
    91: "Protocol wrong type for socket",
    92: "Protocol not available",
    93: "Protocol not supported",
    94: "Socket type not supported",
    95: "Operation not supported",
    96: "Protocol family not supported",
    97: "Address family not supported by protocol",
    98: "Address already in use",
    99: "Cannot assign requested address",
    100: "Network is down",
    101: "Network is unreachable",
    102: "Network dropped connection on reset",
    103: "Software caused connection abort",
    104: "Connection reset by peer",
    105: "No buffer space available",
    106: "Transport endpoint is already connected",
    107: "Transport endpoint is not connected",
    108: "Cannot send after transport endpoint shutdown",
    109: "Too many references: cannot splice",
    110: "Connection timed out",
    111: "Connection refused",
    112: "Host is down",
    113: "No route to host",
    114: "Operation already in progress",
    115: "Operation now in progress",
    116: "Stale file handle",
    117: "Structure needs cleaning",
    118: "Not a XENIX named type file",
    119: "No XENIX semaphores available",
    120: "Is a named type file",
    121: "Remote I/O error",
    122: "Disk quota exceeded",
    123: "No medium found",
    124: "Wrong medium type",
    125: "Operation canceled",
    126: "Required key not available",
    127: "Key has expired",
    128: "Key has been revoked",
    129: "Key was rejected by service",
    130: "Owner died",
    131: "State not recoverable",
    132: "Operation not possible due to RF-kill",
    133: "Memory page has hardware error",
}

#: Aliases sharing a value with a canonical name.
ERRNO_ALIASES: dict[str, int] = {
    "EWOULDBLOCK": 11,
    "EDEADLOCK": 35,
    "ENOTSUP": 95,
}

#: name -> errno value, canonical names plus aliases.
ERRNO: dict[str, int] = {**{name: nr for nr, name in ERRNO_NAMES.items()}, **ERRNO_ALIASES}

#: Kernel-internal restart codes (``include/linux/errno.h``).  A syscall implementation returns
#: ``-ERESTART*`` when interrupted by a signal; they never reach user space (the signal code turns
#: them into EINTR or a restart) but a tracer can observe them at syscall exit.
KERNEL_ERRNO: dict[str, int] = {
    "ERESTARTSYS": 512,
    "ERESTARTNOINTR": 513,
    "ERESTARTNOHAND": 514,
    "ENOIOCTLCMD": 515,
    "ERESTART_RESTARTBLOCK": 516,
}

#: Largest value the kernel returns as ``-errno`` (``MAX_ERRNO``); ``(unsigned)ret >= -4095`` is an error.
MAX_ERRNO: int = 4095


class E:
    """errno values as attributes (``E.ENOENT == 2``), including aliases and kernel restart codes."""

    EPERM = 1
    ENOENT = 2
    ESRCH = 3
    EINTR = 4
    EIO = 5
    ENXIO = 6
    E2BIG = 7
    ENOEXEC = 8
    EBADF = 9
    ECHILD = 10
    EAGAIN = 11
    EWOULDBLOCK = 11  # alias of EAGAIN
    ENOMEM = 12
    EACCES = 13
    EFAULT = 14
    ENOTBLK = 15
    EBUSY = 16
    EEXIST = 17
    EXDEV = 18
    ENODEV = 19
    ENOTDIR = 20
    EISDIR = 21
    EINVAL = 22
    ENFILE = 23
    EMFILE = 24
    ENOTTY = 25
    ETXTBSY = 26
    EFBIG = 27
    ENOSPC = 28
    ESPIPE = 29
    EROFS = 30
    EMLINK = 31
    EPIPE = 32
    EDOM = 33
    ERANGE = 34
    EDEADLK = 35
    EDEADLOCK = 35  # alias of EDEADLK
    ENAMETOOLONG = 36
    ENOLCK = 37
    ENOSYS = 38
    ENOTEMPTY = 39
    ELOOP = 40
    ENOMSG = 42
    EIDRM = 43
    ECHRNG = 44
    EL2NSYNC = 45
    EL3HLT = 46
    EL3RST = 47
    ELNRNG = 48
    EUNATCH = 49
    ENOCSI = 50
    EL2HLT = 51
    EBADE = 52
    EBADR = 53
    EXFULL = 54
    ENOANO = 55
    EBADRQC = 56
    EBADSLT = 57
    EBFONT = 59
    ENOSTR = 60
    ENODATA = 61
    ETIME = 62
    ENOSR = 63
    ENONET = 64
    ENOPKG = 65
    EREMOTE = 66
    ENOLINK = 67
    EADV = 68
    ESRMNT = 69
    ECOMM = 70
    EPROTO = 71
    EMULTIHOP = 72
    EDOTDOT = 73
    EBADMSG = 74
    EOVERFLOW = 75
    ENOTUNIQ = 76
    EBADFD = 77
    EREMCHG = 78
    ELIBACC = 79
    ELIBBAD = 80
    ELIBSCN = 81
    ELIBMAX = 82
    ELIBEXEC = 83
    EILSEQ = 84
    ERESTART = 85
    ESTRPIPE = 86
    EUSERS = 87
    ENOTSOCK = 88
    EDESTADDRREQ = 89
    EMSGSIZE = 90
    EPROTOTYPE = 91
    ENOPROTOOPT = 92
    EPROTONOSUPPORT = 93
    ESOCKTNOSUPPORT = 94
    EOPNOTSUPP = 95
    ENOTSUP = 95  # alias of EOPNOTSUPP
    EPFNOSUPPORT = 96
    EAFNOSUPPORT = 97
    EADDRINUSE = 98
    EADDRNOTAVAIL = 99
    ENETDOWN = 100
    ENETUNREACH = 101
    ENETRESET = 102
    ECONNABORTED = 103
    ECONNRESET = 104
    ENOBUFS = 105
    EISCONN = 106
    ENOTCONN = 107
    ESHUTDOWN = 108
    ETOOMANYREFS = 109
    ETIMEDOUT = 110
    ECONNREFUSED = 111
    EHOSTDOWN = 112
    EHOSTUNREACH = 113
    EALREADY = 114
    EINPROGRESS = 115
    ESTALE = 116
    EUCLEAN = 117
    ENOTNAM = 118
    ENAVAIL = 119
    EISNAM = 120
    EREMOTEIO = 121
    EDQUOT = 122
    ENOMEDIUM = 123
    EMEDIUMTYPE = 124
    ECANCELED = 125
    ENOKEY = 126
    EKEYEXPIRED = 127
    EKEYREVOKED = 128
    EKEYREJECTED = 129
    EOWNERDEAD = 130
    ENOTRECOVERABLE = 131
    ERFKILL = 132
    EHWPOISON = 133

    ERESTARTSYS = 512  # kernel-internal
    ERESTARTNOINTR = 513  # kernel-internal
    ERESTARTNOHAND = 514  # kernel-internal
    ENOIOCTLCMD = 515  # kernel-internal
    ERESTART_RESTARTBLOCK = 516  # kernel-internal


def errno_name(err: int) -> str:
    """Canonical name of errno ``err`` (sign ignored), or its decimal value if unknown."""
    err = abs(err)
    name = ERRNO_NAMES.get(err)
    if name is not None:
        return name
    for kname, value in KERNEL_ERRNO.items():
        if value == err:
            return kname
    return str(err)


def strerror(err: int) -> str:
    """glibc ``strerror`` text for errno ``err`` (sign ignored)."""
    err = abs(err)
    return ERRNO_MESSAGES.get(err, f"Unknown error {err}")


# ---------------------------------------------------------------------------------------------------
# Signals (x86 numbering)
# ---------------------------------------------------------------------------------------------------

SIGNALS: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
    16: "SIGSTKFLT",
    17: "SIGCHLD",
    18: "SIGCONT",
    19: "SIGSTOP",
    20: "SIGTSTP",
    21: "SIGTTIN",
    22: "SIGTTOU",
    23: "SIGURG",
    24: "SIGXCPU",
    25: "SIGXFSZ",
    26: "SIGVTALRM",
    27: "SIGPROF",
    28: "SIGWINCH",
    29: "SIGIO",
    30: "SIGPWR",
    31: "SIGSYS",
}

#: Kernel real-time signal range: 32..64 (``_NSIG`` is 64).  glibc reserves 32 and 33 for itself, so
#: its ``SIGRTMIN`` macro evaluates to 34.
SIGRTMIN: int = 32
SIGRTMAX: int = 64
NSIG: int = 64

SIGNAL_NUMBERS: dict[str, int] = {
    **{name: nr for nr, name in SIGNALS.items()},
    "SIGIOT": 6,
    "SIGPOLL": 29,
    "SIGRTMIN": SIGRTMIN,
    "SIGRTMAX": SIGRTMAX,
}


class SIG:
    """Signal numbers as attributes (``SIG.SIGCHLD == 17``)."""

    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGILL = 4
    SIGTRAP = 5
    SIGABRT = 6
    SIGIOT = 6  # alias of SIGABRT
    SIGBUS = 7
    SIGFPE = 8
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGSTKFLT = 16
    SIGCHLD = 17
    SIGCONT = 18
    SIGSTOP = 19
    SIGTSTP = 20
    SIGTTIN = 21
    SIGTTOU = 22
    SIGURG = 23
    SIGXCPU = 24
    SIGXFSZ = 25
    SIGVTALRM = 26
    SIGPROF = 27
    SIGWINCH = 28
    SIGIO = 29
    SIGPOLL = 29  # alias of SIGIO
    SIGPWR = 30
    SIGSYS = 31
    SIGRTMIN = 32
    SIGRTMAX = 64


def signal_name(sig: int) -> str:
    """Signal name as strace prints it: ``SIGCHLD``, ``SIGRTMIN`` (32), ``SIGRT_1`` .. ``SIGRT_32``
    (33..64), otherwise the decimal number (also for 0)."""
    name = SIGNALS.get(sig)
    if name is not None:
        return name
    if sig == SIGRTMIN:
        return "SIGRTMIN"
    if SIGRTMIN < sig <= SIGRTMAX:
        return f"SIGRT_{sig - SIGRTMIN}"
    return str(sig)


# ---------------------------------------------------------------------------------------------------
# clone flags (include/uapi/linux/sched.h)
# ---------------------------------------------------------------------------------------------------

CSIGNAL = 0x000000FF  # exit signal sent to the parent when the child exits
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000  # unused, ignored by the kernel
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
# Only valid with clone3() (and unshare() for CLONE_NEWTIME, which overlaps CSIGNAL):
CLONE_NEWTIME = 0x00000080
CLONE_CLEAR_SIGHAND = 0x100000000
CLONE_INTO_CGROUP = 0x200000000

#: bit -> name for every flag of the legacy clone() flag word (above CSIGNAL), ascending.
CLONE_FLAGS: dict[int, str] = {
    CLONE_VM: "CLONE_VM",
    CLONE_FS: "CLONE_FS",
    CLONE_FILES: "CLONE_FILES",
    CLONE_SIGHAND: "CLONE_SIGHAND",
    CLONE_PIDFD: "CLONE_PIDFD",
    CLONE_PTRACE: "CLONE_PTRACE",
    CLONE_VFORK: "CLONE_VFORK",
    CLONE_PARENT: "CLONE_PARENT",
    CLONE_THREAD: "CLONE_THREAD",
    CLONE_NEWNS: "CLONE_NEWNS",
    CLONE_SYSVSEM: "CLONE_SYSVSEM",
    CLONE_SETTLS: "CLONE_SETTLS",
    CLONE_PARENT_SETTID: "CLONE_PARENT_SETTID",
    CLONE_CHILD_CLEARTID: "CLONE_CHILD_CLEARTID",
    CLONE_DETACHED: "CLONE_DETACHED",
    CLONE_UNTRACED: "CLONE_UNTRACED",
    CLONE_CHILD_SETTID: "CLONE_CHILD_SETTID",
    CLONE_NEWCGROUP: "CLONE_NEWCGROUP",
    CLONE_NEWUTS: "CLONE_NEWUTS",
    CLONE_NEWIPC: "CLONE_NEWIPC",
    CLONE_NEWUSER: "CLONE_NEWUSER",
    CLONE_NEWPID: "CLONE_NEWPID",
    CLONE_NEWNET: "CLONE_NEWNET",
    CLONE_IO: "CLONE_IO",
}

#: Flags only clone3() accepts (bit -> name).
CLONE3_FLAGS: dict[int, str] = {
    CLONE_NEWTIME: "CLONE_NEWTIME",
    CLONE_CLEAR_SIGHAND: "CLONE_CLEAR_SIGHAND",
    CLONE_INTO_CGROUP: "CLONE_INTO_CGROUP",
}

# strace's clone_flags xlat deliberately omits CLONE_DETACHED ("ignored by kernel"), so strace shows
# that bit as a bare hex number; clone_flags_str does the same.
_STRACE_CLONE_FLAGS: tuple[tuple[int, str], ...] = tuple(
    (bit, name) for bit, name in CLONE_FLAGS.items() if bit != CLONE_DETACHED
)


def clone_flags_str(flags: int) -> str:
    """Render a legacy clone() flag word the way strace prints ``flags=``.

    Known flags in ascending bit order joined by ``|``, then leftover unknown bits as one hex number,
    then the exit signal (``flags & CSIGNAL``) by name if nonzero.  Unknown bits with no known flag
    get strace's ``/* CLONE_??? */`` comment.  ``0`` renders as ``"0"``.

    >>> clone_flags_str(0x01200011)
    'CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD'
    """
    flags &= 0xFFFFFFFF
    sig = flags & CSIGNAL
    rest = flags & ~CSIGNAL
    if not rest:
        return signal_name(sig)
    parts = []
    for bit, name in _STRACE_CLONE_FLAGS:
        if rest & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(f"{rest:#x}" if parts else f"{rest:#x} /* CLONE_??? */")
    if sig:
        parts.append(signal_name(sig))
    return "|".join(parts)
