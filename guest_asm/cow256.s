# cow256: copy-on-write page accounting over 256 pages.
#
# Before fork: one byte at the start of each of the 256 pages of `arr`
# (.bss, page aligned) is set to 1. The status word for wait4 lives on its own
# .bss page that nothing touches before the fork.
#
# Writable pages touched AFTER the fork:
#   child : exactly the 100 pages arr+0*4096 .. arr+99*4096 (one byte each,
#           value 2). Nothing else: no stack writes (no push/call, everything
#           in registers), the message it writes comes from .rodata, then
#           exit(0) with nr 1. (A FAIL path also only uses .rodata + registers.)
#   parent: nothing until wait4 returns (the kernel writes the status word into
#           its own page, first touched now: a zero-fill fault, not a COW one).
#           Right after wait4 returns, the parent does `addb $2` on the first
#           byte of pages 0..99 (100 writes; 1 -> 3, or 2 -> 4 if the child's
#           write had leaked), then checks and prints with register-only
#           macros (RAWPRINT), so it never writes its stack after the fork.
#   So the parent's 100 writes happen after the child has exited and must all
#   be page reuses (no copies), and they are the parent's only COW faults.
        .include "lib.inc"

        .equ NPAGES,  256
        .equ NCHILD,  100

        .bss
        .align 4096
arr:    .space NPAGES*PAGE_SIZE
        .align 4096
status: .space 4

        .text
        .globl _start
_start:
        # ---- before fork: touch all 256 pages
        xorl    %ecx, %ecx
1:      movb    $1, arr(%ecx)
        addl    $PAGE_SIZE, %ecx
        cmpl    $(NPAGES*PAGE_SIZE), %ecx
        jne     1b

        SYS     SYS_fork
        testl   %eax, %eax
        jz      child
        jg      parent
        FAIL    "fork failed"

        # ---- child: registers only, no stack
child:
        xorl    %ecx, %ecx
2:      movb    $2, arr(%ecx)
        addl    $PAGE_SIZE, %ecx
        cmpl    $(NCHILD*PAGE_SIZE), %ecx
        jne     2b
        RAWPRINT "child wrote 100 pages\n"
        RAWEXIT 0

        # ---- parent
parent:
        movl    $-1, %ebx
        movl    $status, %ecx           # &status (a page untouched before the fork)
        xorl    %edx, %edx
        xorl    %esi, %esi
        SYS     SYS_wait4
        movl    %eax, %edi              # keep wait4's result for later
        xorl    %ecx, %ecx
3:      addb    $2, arr(%ecx)           # the 100 writes, right after wait4
        addl    $PAGE_SIZE, %ecx
        cmpl    $(NCHILD*PAGE_SIZE), %ecx
        jne     3b

        CHECK_POS %edi, "wait4 failed"
        CHECK_EQ $0, status, "child exit status != 0"
        xorl    %ecx, %ecx
4:      cmpb    $3, arr(%ecx)
        je      5f
        FAIL    "parent page 0..99 wrong (child's write leaked?)"
5:      addl    $PAGE_SIZE, %ecx
        cmpl    $(NCHILD*PAGE_SIZE), %ecx
        jne     4b
6:      cmpb    $1, arr(%ecx)
        je      7f
        FAIL    "parent page 100..255 changed"
7:      addl    $PAGE_SIZE, %ecx
        cmpl    $(NPAGES*PAGE_SIZE), %ecx
        jne     6b
        RAWPRINT "parent: child exit status 0, pages 0..99 = 3, pages 100..255 = 1\n"
        RAWPRINT "cow256 done\n"
        RAWEXIT 0
