/* pagemap.c - /proc/self/pagemap shows copy-on-write page by page: present, file-or-shared and exclusively-mapped
 * bits of an untouched page, a written one, the same page in a fork child before and after it writes, and a
 * populated file mapping; the frame of a copied page differs from the parent's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t entry(void *addr)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e = 0;
    pread(fd, &e, 8, (off_t)((uintptr_t)addr / 4096) * 8);
    close(fd);
    return e;
}

static void show(const char *what, void *addr)
{
    uint64_t e = entry(addr);
    printf("%-28s present %d file/shared %d exclusive %d\n", what, (int)(e >> 63 & 1), (int)(e >> 61 & 1),
           (int)(e >> 56 & 1));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("untouched anonymous", p);
    p[4096] = 1;
    show("written anonymous", p + 4096);
    uint64_t before = entry(p + 4096) & ((1ULL << 55) - 1);
    pid_t c = fork();
    if (c == 0) {
        show("child, shared after fork", p + 4096);
        p[4096] = 2;
        show("child, after its write", p + 4096);
        uint64_t after = entry(p + 4096) & ((1ULL << 55) - 1);
        printf("child's frame was copied: %s\n", before == 0 || after != before ? "yes" : "no");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show("parent, child gone", p + 4096);
    char name[] = "/tmp/pagemap-XXXXXX", page[4096] = {1};
    int fd = mkstemp(name);
    write(fd, page, sizeof page);
    char *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    show("populated file mapping", f);
    char *f2 = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    show("same page mapped twice", f2);
    unlink(name);
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 1;
    show("shared anonymous", s);
    off_t bad = 4;
    int pm = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e;
    printf("unaligned read: %zd\n", pread(pm, &e, 8, bad));
    return 0;
}
