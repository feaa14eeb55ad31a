/* malloc.c - checks heap allocation: many small blocks (brk-backed) and a few
 * large blocks >= 1 MiB (mmap2-backed in glibc), pattern fill/verify, free,
 * realloc growth preserving contents, and munmap on free of large blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSMALL 2000
#define NLARGE 4

static void fail(const char *msg, int i)
{
    printf("FAIL: %s (%d)\n", msg, i);
    exit(1);
}

int main(void)
{
    static unsigned char *small[NSMALL];
    unsigned char *large[NLARGE];
    unsigned long sum = 0;
    int i, j;

    for (i = 0; i < NSMALL; i++) {
        size_t n = 16 + (i % 200);
        small[i] = malloc(n);
        if (!small[i]) fail("small malloc", i);
        memset(small[i], (unsigned char)i, n);
    }
    for (i = 0; i < NSMALL; i++) {
        size_t n = 16 + (i % 200);
        for (j = 0; j < (int)n; j++)
            if (small[i][j] != (unsigned char)i) fail("small pattern", i);
        sum += small[i][0] * n;
    }
    for (i = 0; i < NSMALL; i += 2) {           /* free every other block */
        free(small[i]);
        small[i] = NULL;
    }

    for (i = 0; i < NLARGE; i++) {
        size_t n = (size_t)(1 + i) << 20;       /* 1, 2, 3, 4 MiB */
        large[i] = malloc(n);
        if (!large[i]) fail("large malloc", i);
        for (j = 0; j < (int)n; j += 4096)
            large[i][j] = (unsigned char)(j / 4096 + i);
        large[i][n - 1] = 0xAB;
    }
    for (i = 0; i < NLARGE; i++) {
        size_t n = (size_t)(1 + i) << 20;
        for (j = 0; j < (int)n; j += 4096) {
            if (large[i][j] != (unsigned char)(j / 4096 + i)) fail("large pattern", i);
            sum += large[i][j];
        }
        if (large[i][n - 1] != 0xAB) fail("large tail", i);
    }

    /* realloc: grow a small block into a large one, contents preserved */
    {
        unsigned char *p = malloc(100);
        if (!p) fail("realloc base", 0);
        for (i = 0; i < 100; i++) p[i] = (unsigned char)(i * 7);
        p = realloc(p, 5000);
        if (!p) fail("realloc 5000", 0);
        memset(p + 100, 0x5A, 4900);
        p = realloc(p, 2 << 20);
        if (!p) fail("realloc 2MiB", 0);
        for (i = 0; i < 100; i++)
            if (p[i] != (unsigned char)(i * 7)) fail("realloc content", i);
        for (i = 100; i < 5000; i++)
            if (p[i] != 0x5A) fail("realloc fill", i);
        p = realloc(p, 50);                     /* shrink */
        if (!p) fail("realloc shrink", 0);
        for (i = 0; i < 50; i++) {
            if (p[i] != (unsigned char)(i * 7)) fail("shrink content", i);
            sum += p[i];
        }
        free(p);
    }

    for (i = 0; i < NLARGE; i++) free(large[i]);
    for (i = 1; i < NSMALL; i += 2) free(small[i]);

    /* calloc memory must be zero */
    {
        unsigned char *z = calloc(1, 3 << 20);
        if (!z) fail("calloc", 0);
        for (i = 0; i < (3 << 20); i += 1024)
            if (z[i]) fail("calloc zero", i);
        free(z);
    }

    printf("checksum %lu\n", sum);
    printf("malloc ok\n");
    return 0;
}
