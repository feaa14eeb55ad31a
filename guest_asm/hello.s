# hello: write "Hello from i386 asm\n" to stdout and exit_group(0).
        .include "lib.inc"
        .text
        .globl _start
_start:
        PRINT   "Hello from i386 asm\n"
        EXIT    0
