/* compute_kernel.S - the CPU-bound loop of the compute benchmark, shared byte for byte by the guest (linked into
 * build/compute) and by the bare-Unicorn run (build/compute_kernel.bin, the raw .text of this file).
 *
 *   uint32_t compute_kernel(uint32_t iters, uint32_t *arr)   -- cdecl; arr has 16384 words (64 KiB)
 *
 * Per iteration: an LCG step, a read-modify-write of a pseudo-random word and a read of a strided word.
 * Instructions retired: 11 before the loop, 15 per iteration, 6 after it: 17 + 15 * iters (iters > 0).
 * Position independent (no absolute addresses), so the bytes run anywhere. */
    .text
    .globl compute_kernel
    .type compute_kernel, @function
compute_kernel:
    push %ebx
    push %esi
    push %edi
    push %ebp
    mov 20(%esp), %ecx          /* iters */
    mov 24(%esp), %esi          /* arr */
    mov $0x12345678, %eax       /* x: LCG state */
    xor %edx, %edx              /* acc */
    xor %edi, %edi              /* i */
    test %ecx, %ecx
    jz 2f
1:  imul $1103515245, %eax, %eax
    add $12345, %eax
    mov %eax, %ebx
    shr $16, %ebx
    and $16383, %ebx
    mov %eax, %ebp
    xor %edi, %ebp
    add %ebp, (%esi,%ebx,4)     /* arr[(x >> 16) & 16383] += x ^ i */
    lea (%edi,%edi,8), %ebx
    and $16383, %ebx
    add (%esi,%ebx,4), %edx     /* acc += arr[(9 * i) & 16383] */
    rol $5, %edx
    inc %edi
    cmp %ecx, %edi
    jne 1b
2:  mov %edx, %eax
    pop %ebp
    pop %edi
    pop %esi
    pop %ebx
    ret
    .size compute_kernel, . - compute_kernel
    .section .note.GNU-stack, "", @progbits
