# regs: register preservation across int $0x80 and error returns.
#   * ebx, ecx, edx, esi, edi, ebp are loaded with distinctive values, then
#     getpid (nr 20, ignores its argument registers) is called; the six
#     registers are printed in hex afterwards (the kernel must preserve them)
#     and also checked against the values loaded.
#   * getpid's eax must be > 0 (only "> 0" is printed, never the pid).
#   * write(1, (void *)0x10, 4) must return -14 (EFAULT).
#   * syscall 500 (unknown) must return -38 (ENOSYS).
        .include "lib.inc"

        .equ V_EBX, 0xb1b2b3b4
        .equ V_ECX, 0xc1c2c3c4
        .equ V_EDX, 0xd1d2d3d4
        .equ V_ESI, 0x51525354
        .equ V_EDI, 0xd5d6d7d8
        .equ V_EBP, 0xe1e2e3e4

        .bss
        .align 4
saved:  .space 7*4          # eax, ebx, ecx, edx, esi, edi, ebp after getpid

        .text
        .globl _start
_start:
        movl    $V_EBX, %ebx
        movl    $V_ECX, %ecx
        movl    $V_EDX, %edx
        movl    $V_ESI, %esi
        movl    $V_EDI, %edi
        movl    $V_EBP, %ebp
        movl    $SYS_getpid, %eax
        int     $0x80
        movl    %eax, saved+0
        movl    %ebx, saved+4
        movl    %ecx, saved+8
        movl    %edx, saved+12
        movl    %esi, saved+16
        movl    %edi, saved+20
        movl    %ebp, saved+24

        SHOW_HEX "ebx after getpid: ", saved+4
        SHOW_HEX "ecx after getpid: ", saved+8
        SHOW_HEX "edx after getpid: ", saved+12
        SHOW_HEX "esi after getpid: ", saved+16
        SHOW_HEX "edi after getpid: ", saved+20
        SHOW_HEX "ebp after getpid: ", saved+24
        CHECK_EQ $V_EBX, saved+4,  "ebx clobbered by getpid"
        CHECK_EQ $V_ECX, saved+8,  "ecx clobbered by getpid"
        CHECK_EQ $V_EDX, saved+12, "edx clobbered by getpid"
        CHECK_EQ $V_ESI, saved+16, "esi clobbered by getpid"
        CHECK_EQ $V_EDI, saved+20, "edi clobbered by getpid"
        CHECK_EQ $V_EBP, saved+24, "ebp clobbered by getpid"
        PRINT   "registers preserved across getpid: ok\n"

        movl    saved+0, %eax
        CHECK_POS %eax, "getpid returned <= 0"
        PRINT   "getpid eax > 0: yes\n"

        # write(1, 0x10, 4) -> -EFAULT
        movl    $1, %ebx
        movl    $0x10, %ecx
        movl    $4, %edx
        SYS     SYS_write
        SHOW_DEC "write(1, 0x10, 4) = ", %eax
        CHECK_EQ $-14, %eax, "write with bad pointer did not return -EFAULT"

        # unknown syscall -> -ENOSYS
        xorl    %ebx, %ebx
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        SYS     500
        SHOW_DEC "syscall 500 = ", %eax
        CHECK_EQ $-38, %eax, "syscall 500 did not return -ENOSYS"
        EXIT    0
