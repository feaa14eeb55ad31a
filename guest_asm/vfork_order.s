# vfork_order: vfork (nr 190) semantics.
# Part 1: global `shared` starts at 0. vfork; the child stores 1234 into
#   `shared`, prints "child ran first" and calls exit(0) (nr 1). The parent
#   only resumes after the child exited, so when vfork returns in the parent
#   `shared` must already be 1234 (memory is shared and the child ran first).
#   The parent prints "parent: child wrote 1234", reaps the child with wait4
#   and prints its exit status (0).
# Part 2: vfork again; the child sets `shared` = 5678 and then
#   execve("/proc/self/exe", {"vfork_order", "exec", NULL}, {NULL}).
#   The re-executed program sees argv[1] == "exec", prints "exec'd child" and
#   exit_group(5). The parent resumes as soon as the child's execve succeeded;
#   it checks `shared` == 5678 (the child ran up to execve before the parent
#   woke), waits for the child with wait4 and only then prints
#   "parent woke after child's exec" and the status 5. (Printing before wait4
#   would race with the exec'd child's output.)
        .include "lib.inc"

        .data
        .align 4
shared: .long 0

        .section .rodata
self_exe:   .asciz "/proc/self/exe"
arg0:       .asciz "vfork_order"
arg1:       .asciz "exec"
        .align 4
exec_argv:  .long arg0, arg1, 0
exec_envp:  .long 0

        .bss
        .align 4
status:     .space 4
child_pid:  .space 4

        .text
        .globl _start
_start:
        # argc at (%esp), argv[0] at 4(%esp), argv[1] at 8(%esp)
        cmpl    $2, (%esp)
        jl      part1
        movl    8(%esp), %esi
        cmpl    $0x63657865, (%esi)          # "exec"
        jne     part1
        cmpb    $0, 4(%esi)
        jne     part1
        PRINT   "exec'd child\n"
        EXIT    5

part1:
        SYS     SYS_vfork
        testl   %eax, %eax
        jz      child1
        jg      1f
        FAIL    "vfork failed"
child1:
        movl    $1234, shared
        RAWPRINT "child ran first\n"
        RAWEXIT 0
1:      movl    %eax, child_pid
        CHECK_EQ $1234, shared, "parent resumed before the vfork child wrote shared"
        PRINT   "parent: child wrote 1234\n"
        movl    child_pid, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_EQ child_pid, %eax, "wait4 did not return the vfork child's pid"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        SHOW_DEC "parent: first child exit status = ", %eax
        CHECK_EQ $0, %eax, "first vfork child status != 0"

part2:
        SYS     SYS_vfork
        testl   %eax, %eax
        jz      child2
        jg      2f
        FAIL    "second vfork failed"
child2:
        movl    $5678, shared
        movl    $self_exe, %ebx
        movl    $exec_argv, %ecx
        movl    $exec_envp, %edx
        SYS     SYS_execve
        RAWPRINT "FAIL: execve of /proc/self/exe failed\n"
        RAWEXIT 127
2:      movl    %eax, child_pid
        CHECK_EQ $5678, shared, "parent woke before the vfork child reached execve"
        movl    child_pid, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_EQ child_pid, %eax, "wait4 did not return the exec'd child's pid"
        PRINT   "parent woke after child's exec\n"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        SHOW_DEC "parent: exec'd child exit status = ", %eax
        CHECK_EQ $5, %eax, "exec'd child status != 5"
        EXIT    0
