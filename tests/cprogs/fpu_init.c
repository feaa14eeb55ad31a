/* fpu_init: the x87 and SSE state a program starts with (control word 0x37f, MXCSR 0x1f80): long double and float
   sums that single precision or unmasked exceptions would change. */
#include <stdio.h>
int main(void) {
    unsigned short cw; unsigned int mx;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    printf("cw=%#x mxcsr=%#x\n", cw, mx);
    long double s = 16777216.0L; s += 1; s += 1;
    float f = 16777216.0f; volatile float one = 1; f += one; f += one;
    double d = 0.1; double t = 0; for (int i = 0; i < 10; i++) t += d;
    printf("%.1Lf %.1f %.17g\n", s, (double)f, t);
    volatile double z = 0; printf("%g\n", 1.0 / z);
    return 0;
}
