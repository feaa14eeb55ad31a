# clone_stack: clone (nr 120) with a caller-supplied child stack.
# i386 clone argument order: ebx = flags, ecx = new stack pointer,
# edx = parent_tidptr, esi = tls, edi = child_tidptr.
# Part 1: clone(SIGCHLD, stack1_top, 0, 0, 0) (fork-like, separate memory).
#   The child checks stack1 <= esp <= stack1_top, prints
#   "child on new stack" and exit_group(9). The parent waits with wait4 and
#   prints the exit status (9).
# Part 2: clone(CLONE_VM|SIGCHLD, stack2_top, 0, 0, 0). The child runs in the
#   parent's address space on stack2, checks its esp, stores 0x600dcafe into
#   the global `flag` and exit(0) (nr 1). The parent waits with wait4 and
#   checks `flag` == 0x600dcafe ("CLONE_VM child write visible").
        .include "lib.inc"

        .equ STACK_SIZE, 4096
        .equ MAGIC,      0x600dcafe

        .bss
        .align 16
stack1: .space STACK_SIZE
stack1_top:
stack2: .space STACK_SIZE
stack2_top:
        .align 4
flag:       .space 4
status:     .space 4
child_pid:  .space 4

        .text
        .globl _start
_start:
        # ---------------- part 1
        movl    $SIGCHLD, %ebx
        movl    $stack1_top, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %edi, %edi
        SYS     SYS_clone
        testl   %eax, %eax
        jz      child1
        jg      1f
        FAIL    "clone(SIGCHLD) failed"
child1:
        cmpl    $stack1, %esp
        jb      bad_stack
        cmpl    $stack1_top, %esp
        ja      bad_stack
        PRINT   "child on new stack\n"
        EXIT    9
bad_stack:
        FAIL    "clone child esp is not inside its new stack"

1:      movl    %eax, child_pid
        movl    $-1, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_EQ child_pid, %eax, "wait4 did not return the clone child's pid"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        SHOW_DEC "parent: clone child exit status = ", %eax
        CHECK_EQ $9, %eax, "clone child status != 9"

        # ---------------- part 2
        movl    $0, flag
        movl    $(CLONE_VM|SIGCHLD), %ebx
        movl    $stack2_top, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %edi, %edi
        SYS     SYS_clone
        testl   %eax, %eax
        jz      child2
        jg      2f
        FAIL    "clone(CLONE_VM|SIGCHLD) failed"
child2:
        cmpl    $stack2, %esp
        jb      bad_stack
        cmpl    $stack2_top, %esp
        ja      bad_stack
        movl    $MAGIC, flag
        RAWEXIT 0

2:      movl    %eax, child_pid
        movl    $-1, %ebx
        movl    $status, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        CHECK_EQ child_pid, %eax, "wait4 did not return the CLONE_VM child's pid"
        movl    status, %eax
        shrl    $8, %eax
        andl    $0xff, %eax
        SHOW_DEC "parent: CLONE_VM child exit status = ", %eax
        CHECK_EQ $0, %eax, "CLONE_VM child status != 0"
        CHECK_EQ $MAGIC, flag, "CLONE_VM child write not visible in parent"
        PRINT   "CLONE_VM child write visible\n"
        EXIT    0
