# exit_plain: no output, plain exit (nr 1) with status 7.
        .include "lib.inc"
        .text
        .globl _start
_start:
        RAWEXIT 7
