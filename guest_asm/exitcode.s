# exitcode: no output, exit_group(42).
        .include "lib.inc"
        .text
        .globl _start
_start:
        EXIT    42
