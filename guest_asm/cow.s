# cow: copy-on-write semantics of fork for 8 pages of .bss.
# Before forking, every dword of page i of `arr` is set to OLD|i.
# Round 1: fork; the child overwrites all 8 pages with CHILD|i, checks them,
#   prints "child sees its own writes" and exit_group(0). The parent waits
#   (wait4) and then checks that all 8 pages still hold OLD|i
#   ("parent's pages unchanged after child's writes").
# Round 2: fork; the parent immediately overwrites all 8 pages with PARENT|i,
#   then waits. The child (whenever it runs, before or after the parent's
#   writes) must see the pre-fork values OLD|i: prints
#   "child sees pre-fork values" and exit_group(0) (1 on mismatch). After
#   wait4 the parent checks the child's status is 0 and that it still sees its
#   own PARENT|i values.
# Only the child prints before the parent's wait4 returns, so the output order
# is deterministic.
        .include "lib.inc"

        .equ NPAGES, 8
        .equ OLD,    0xaaaa0000
        .equ CHILD,  0xcccc0000
        .equ PARENT, 0xeeee0000

        .bss
        .align 4096
arr:    .space NPAGES*PAGE_SIZE
        .align 4
status: .space 4

# FILL value : every dword of page i := value|i
        .macro FILL value
        xorl    %ecx, %ecx
.Lfill\@:
        movl    %ecx, %eax
        shrl    $10, %eax               # page index = dword index / 1024
        orl     $\value, %eax
        movl    %eax, arr(,%ecx,4)
        incl    %ecx
        cmpl    $(NPAGES*PAGE_SIZE/4), %ecx
        jne     .Lfill\@
        .endm

# VERIFY value, "msg" : FAIL unless every dword of page i == value|i
        .macro VERIFY value, msg
        xorl    %ecx, %ecx
.Lverify\@:
        movl    %ecx, %eax
        shrl    $10, %eax
        orl     $\value, %eax
        CHECK_EQ %eax, "arr(,%ecx,4)", "\msg"
        incl    %ecx
        cmpl    $(NPAGES*PAGE_SIZE/4), %ecx
        jne     .Lverify\@
        .endm

        .macro WAIT_CHILD
        movl    $-1, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_POS %eax, "wait4 failed"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        .endm

        .text
        .globl _start
_start:
        FILL    OLD
        VERIFY  OLD, "pre-fork fill"

        # ---------------- round 1: child writes
        SYS     SYS_fork
        testl   %eax, %eax
        jz      child1
        jg      1f
        FAIL    "fork failed"
child1:
        FILL    CHILD
        VERIFY  CHILD, "child does not see its own writes"
        PRINT   "child sees its own writes\n"
        EXIT    0
1:      WAIT_CHILD
        SHOW_DEC "parent: first child exit status = ", %eax
        CHECK_EQ $0, %eax, "first child failed"
        VERIFY  OLD, "parent's pages changed by the child's writes"
        PRINT   "parent's pages unchanged after child's writes\n"

        # ---------------- round 2: parent writes
        SYS     SYS_fork
        testl   %eax, %eax
        jz      child2
        jg      2f
        FAIL    "second fork failed"
child2:
        VERIFY  OLD, "child does not see the pre-fork values"
        PRINT   "child sees pre-fork values\n"
        EXIT    0
2:      FILL    PARENT
        WAIT_CHILD
        SHOW_DEC "parent: second child exit status = ", %eax
        CHECK_EQ $0, %eax, "second child failed"
        VERIFY  PARENT, "parent lost its own writes"
        PRINT   "parent sees its own writes\n"
        EXIT    0
