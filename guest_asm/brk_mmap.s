# brk_mmap: heap growth with brk and anonymous memory with mmap2/mprotect/munmap.
#   1. brk(0) returns the current break (non-zero, page aligned for a fresh
#      static program)
#   2. brk(old + 3 pages) returns exactly the new break
#   3. every dword of the 3 new pages is written, then read back and checked
#   4. brk(old) shrinks the heap back and returns old
#   5. mmap2(NULL, 5 pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
#      -1, 0) returns a page-aligned address whose memory reads as zero
#   6. the 5 pages are filled with a pattern and checked
#   7. mprotect(addr + 1 page, 1 page, PROT_READ) == 0 and the page is still
#      readable with its old contents
#   8. munmap(addr, 5 pages) == 0
        .include "lib.inc"

        .equ NPAGES_BRK,  3
        .equ NPAGES_MMAP, 5
        .equ PATTERN,     0x5a5a0000

        .text
        .globl _start
_start:
        # ---- 1. brk(0)
        xorl    %ebx, %ebx
        SYS     SYS_brk
        CHECK_NE $0, %eax, "brk(0) returned 0"
        movl    %eax, %ebp                      # ebp = old break
        testl   $(PAGE_SIZE-1), %ebp
        jz      1f
        FAIL    "initial break not page aligned"
1:      PRINT   "brk(0) returned the current break: ok\n"

        # ---- 2. grow by 3 pages
        leal    (NPAGES_BRK*PAGE_SIZE)(%ebp), %ebx
        movl    %ebx, %esi
        SYS     SYS_brk
        CHECK_EQ %esi, %eax, "brk(old + 3 pages) did not return the new break"
        PRINT   "brk grew by 3 pages: ok\n"

        # ---- 3. write every dword, read back
        movl    %ebp, %edi
        xorl    %ecx, %ecx
2:      leal    PATTERN(%ecx), %eax
        movl    %eax, (%edi,%ecx,4)
        incl    %ecx
        cmpl    $(NPAGES_BRK*PAGE_SIZE/4), %ecx
        jne     2b
        xorl    %ecx, %ecx
3:      leal    PATTERN(%ecx), %eax
        CHECK_EQ %eax, "(%edi,%ecx,4)", "brk page readback mismatch"
        incl    %ecx
        cmpl    $(NPAGES_BRK*PAGE_SIZE/4), %ecx
        jne     3b
        PRINT   "brk pages written and read back: ok\n"

        # ---- 4. shrink back
        movl    %ebp, %ebx
        SYS     SYS_brk
        CHECK_EQ %ebp, %eax, "brk(old) did not shrink back"
        PRINT   "brk shrank back to the old break: ok\n"

        # ---- 5. mmap2 anonymous
        xorl    %ebx, %ebx                      # addr = NULL
        movl    $(NPAGES_MMAP*PAGE_SIZE), %ecx  # length
        movl    $3, %edx                        # PROT_READ|PROT_WRITE
        movl    $0x22, %esi                     # MAP_PRIVATE|MAP_ANONYMOUS
        movl    $-1, %edi                       # fd
        pushl   %ebp
        xorl    %ebp, %ebp                      # pgoffset
        SYS     SYS_mmap2
        popl    %ebp
        CHECK_NOT_ERR %eax, "mmap2 failed"
        testl   $(PAGE_SIZE-1), %eax
        jz      4f
        FAIL    "mmap2 address not page aligned"
4:      movl    %eax, %edi                      # edi = mapping
        xorl    %ecx, %ecx
5:      CHECK_EQ $0, "(%edi,%ecx,4)", "fresh anonymous mapping not zero"
        incl    %ecx
        cmpl    $(NPAGES_MMAP*PAGE_SIZE/4), %ecx
        jne     5b
        PRINT   "mmap2 5 anonymous pages, zero filled: ok\n"

        # ---- 6. fill and check
        xorl    %ecx, %ecx
6:      movl    %ecx, %eax
        notl    %eax
        movl    %eax, (%edi,%ecx,4)
        incl    %ecx
        cmpl    $(NPAGES_MMAP*PAGE_SIZE/4), %ecx
        jne     6b
        xorl    %ecx, %ecx
7:      movl    %ecx, %eax
        notl    %eax
        CHECK_EQ %eax, "(%edi,%ecx,4)", "mmap readback mismatch"
        incl    %ecx
        cmpl    $(NPAGES_MMAP*PAGE_SIZE/4), %ecx
        jne     7b
        PRINT   "mmap pages filled and checked: ok\n"

        # ---- 7. mprotect page 1 read-only
        leal    PAGE_SIZE(%edi), %ebx
        movl    $PAGE_SIZE, %ecx
        movl    $1, %edx                        # PROT_READ
        SYS     SYS_mprotect
        CHECK_EQ $0, %eax, "mprotect(PROT_READ) failed"
        movl    $(PAGE_SIZE/4), %ecx
8:      movl    %ecx, %eax
        notl    %eax
        CHECK_EQ %eax, "(%edi,%ecx,4)", "read-only page lost its contents"
        incl    %ecx
        cmpl    $(2*PAGE_SIZE/4), %ecx
        jne     8b
        PRINT   "mprotect one page PROT_READ, still readable: ok\n"

        # ---- 8. munmap everything
        movl    %edi, %ebx
        movl    $(NPAGES_MMAP*PAGE_SIZE), %ecx
        SYS     SYS_munmap
        CHECK_EQ $0, %eax, "munmap failed"
        PRINT   "munmap 5 pages: ok\n"
        EXIT    0
