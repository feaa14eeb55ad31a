# clone_thread: a minimal raw thread.
#   clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
#         CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID  (= 0x00310f00),
#         stack_top, &ptid, 0 /* no TLS */, &ctid)
#   ctid starts as 0xffffffff (non-zero). The thread increments `counter`
#   1000 times (registers only, no stack use) and calls exit (nr 1), which
#   ends only the thread; the kernel then writes 0 to ctid and futex-wakes it.
#   The main thread loops: v = ctid; if v == 0 done; futex(&ctid, FUTEX_WAIT,
#   v, NULL). Afterwards it checks counter == 1000, ptid > 0 and ptid == the
#   tid clone returned, prints "thread joined, counter=1000" and exit_group(0).
        .include "lib.inc"

        .equ THREAD_FLAGS, CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID
        .equ STACK_SIZE, 4096

        .data
        .align 4
ctid:    .long 0xffffffff

        .bss
        .align 16
tstack:  .space STACK_SIZE
tstack_top:
        .align 4
ptid:    .space 4
counter: .space 4
tid:     .space 4

        .text
        .globl _start
_start:
        movl    $THREAD_FLAGS, %ebx
        movl    $tstack_top, %ecx
        movl    $ptid, %edx
        xorl    %esi, %esi
        movl    $ctid, %edi
        SYS     SYS_clone
        testl   %eax, %eax
        jz      thread
        jg      main
        FAIL    "clone thread failed"

thread:
        movl    $1000, %ecx
1:      incl    counter
        decl    %ecx
        jnz     1b
        RAWEXIT 0

main:
        movl    %eax, tid
2:      movl    ctid, %edx              # futex value
        testl   %edx, %edx
        jz      3f
        movl    $ctid, %ebx
        movl    $FUTEX_WAIT, %ecx
        xorl    %esi, %esi              # no timeout
        SYS     SYS_futex               # 0, -EAGAIN or -EINTR: just re-check
        jmp     2b
3:      CHECK_EQ $1000, counter, "counter != 1000 after join"
        movl    ptid, %eax
        CHECK_POS %eax, "ptid not set by CLONE_PARENT_SETTID"
        CHECK_EQ tid, %eax, "ptid != tid returned by clone"
        PRINT   "ptid set by CLONE_PARENT_SETTID: ok\n"
        PRINT   "ctid cleared by CLONE_CHILD_CLEARTID: ok\n"
        SHOW_DEC "thread joined, counter=", counter
        EXIT    0
