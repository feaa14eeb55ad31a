# fork_regs: fork (nr 2) return values and register state in both processes.
#   * ebx..ebp and esp are set/recorded before fork; after fork both the
#     parent and the child check that ebx, ecx, edx, esi, edi, ebp and esp are
#     unchanged.
#   * child: eax == 0, prints "child: eax = 0" (+ regs line), exit_group(3).
#   * parent: eax > 0, waits with wait4(-1, &status, 0, 0), checks wait4
#     returned the pid fork gave it, then prints "parent: eax > 0" and the
#     decoded exit status ((status >> 8) & 0xff) = 3. The parent prints only
#     after wait4, so the output order is deterministic.
        .include "lib.inc"

        .equ V_EBX, 0x0b0b0b0b
        .equ V_ECX, 0x0c0c0c0c
        .equ V_EDX, 0x0d0d0d0d
        .equ V_ESI, 0x05050505
        .equ V_EDI, 0x0d1d1d1d
        .equ V_EBP, 0x0bebebeb

        .bss
        .align 4
esp_before: .space 4
child_pid:  .space 4
status:     .space 4

        .macro CHECK_REGS who
        CHECK_EQ $V_EBX, %ebx, "\who: ebx changed by fork"
        CHECK_EQ $V_ECX, %ecx, "\who: ecx changed by fork"
        CHECK_EQ $V_EDX, %edx, "\who: edx changed by fork"
        CHECK_EQ $V_ESI, %esi, "\who: esi changed by fork"
        CHECK_EQ $V_EDI, %edi, "\who: edi changed by fork"
        CHECK_EQ $V_EBP, %ebp, "\who: ebp changed by fork"
        CHECK_EQ esp_before, %esp, "\who: esp changed by fork"
        .endm

        .text
        .globl _start
_start:
        movl    %esp, esp_before
        movl    $V_EBX, %ebx
        movl    $V_ECX, %ecx
        movl    $V_EDX, %edx
        movl    $V_ESI, %esi
        movl    $V_EDI, %edi
        movl    $V_EBP, %ebp
        movl    $SYS_fork, %eax
        int     $0x80
        testl   %eax, %eax
        jz      child
        jg      parent
        FAIL    "fork failed"

child:
        CHECK_REGS child
        CHECK_EQ $0, %eax, "child: eax != 0"
        PRINT   "child: eax = 0\n"
        PRINT   "child: ebx ecx edx esi edi ebp esp preserved\n"
        EXIT    3

parent:
        CHECK_REGS parent
        movl    %eax, child_pid
        CHECK_POS %eax, "parent: eax <= 0"
        movl    $-1, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_EQ child_pid, %eax, "parent: wait4 did not return the child's pid"
        PRINT   "parent: eax > 0\n"
        PRINT   "parent: ebx ecx edx esi edi ebp esp preserved\n"
        PRINT   "parent: wait4 returned the child's pid\n"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        SHOW_DEC "parent: child exit status = ", %eax
        EXIT    0
