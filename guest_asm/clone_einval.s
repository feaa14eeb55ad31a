# clone_einval: invalid clone flag combinations are rejected with -EINVAL.
#   clone(CLONE_THREAD)            - CLONE_THREAD without CLONE_SIGHAND -> -22
#   clone(CLONE_SIGHAND)           - CLONE_SIGHAND without CLONE_VM     -> -22
#   clone(CLONE_NEWNS|CLONE_FS)    - NEWNS together with FS             -> -22
# newsp/ptid/tls/ctid are all 0. Should a clone unexpectedly succeed, the
# child exits immediately with exit(0) and the parent FAILs.
        .include "lib.inc"

        .macro TRY_CLONE flags, label
        movl    $\flags, %ebx
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %edi, %edi
        SYS     SYS_clone
        testl   %eax, %eax
        jnz     .Lparent\@
        RAWEXIT 0                       # unexpected child: leave quietly
.Lparent\@:
        SHOW_DEC "\label", %eax
        CHECK_EQ $-22, %eax, "expected -EINVAL"
        .endm

        .text
        .globl _start
_start:
        TRY_CLONE CLONE_THREAD, "clone(CLONE_THREAD) = "
        TRY_CLONE CLONE_SIGHAND, "clone(CLONE_SIGHAND) = "
        TRY_CLONE (CLONE_NEWNS|CLONE_FS), "clone(CLONE_NEWNS|CLONE_FS) = "
        EXIT    0
