# syscall_fuzz: reads records of seven 32-bit words (eax, ebx, ecx, edx, esi, edi, ebp) from stdin until EOF,
# then makes each syscall in turn with exactly those registers and writes each result (eax, 4 bytes) to stdout.
# All input is read before the first call, so the calls may close or replace any descriptor. Used by the
# hypothesis test that drives random syscalls through the emulator; with no input it just exits 0.
        .include "lib.inc"

        .equ MAXREC, 512
        .equ RECSZ, 28

        .bss
        .align 4096
input:  .space MAXREC*RECSZ
count:  .space 4
cursor: .space 4

        .text
        .globl _start
_start:
        xorl    %edi, %edi                      # bytes read so far
1:      movl    $0, %ebx
        leal    input(%edi), %ecx
        movl    $(MAXREC*RECSZ), %edx
        subl    %edi, %edx
        jz      2f
        movl    $SYS_read, %eax
        int     $0x80
        testl   %eax, %eax
        jle     2f
        addl    %eax, %edi
        jmp     1b
2:      movl    %edi, %eax                      # number of whole records
        xorl    %edx, %edx
        movl    $RECSZ, %ecx
        divl    %ecx
        movl    %eax, count
        movl    $input, cursor
3:      cmpl    $0, count
        je      4f
        movl    cursor, %ebp
        movl    0(%ebp), %eax
        movl    4(%ebp), %ebx
        movl    8(%ebp), %ecx
        movl    12(%ebp), %edx
        movl    16(%ebp), %esi
        movl    20(%ebp), %edi
        movl    24(%ebp), %ebp
        int     $0x80
        movl    cursor, %ebp
        movl    %eax, 0(%ebp)                   # overwrite the record's eax slot with the result
        movl    $1, %ebx
        movl    %ebp, %ecx
        movl    $4, %edx
        movl    $SYS_write, %eax
        int     $0x80
        addl    $RECSZ, cursor
        decl    count
        jmp     3b
4:      RAWEXIT 0
