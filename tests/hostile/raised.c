/* Syscalls that once made the emulator raise a Python exception: each result and errno is printed, for a
 * comparison with native Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s %ld %d\n", what, r, r < 0 ? errno : 0); errno = 0; }

int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    show("futimens NULL", syscall(SYS_utimensat, fd, 0, 0, 0));
    show("futimens bad nsec", syscall(SYS_utimensat, fd, 0, bad, 0));
    show("fchown16 high", syscall(SYS_fchown, fd, 0xb7ffe000, 0));
    show("fchown32 high", syscall(SYS_fchown32, fd, 0xb7ffe000, 0));
    show("fchown32 -1", syscall(SYS_fchown32, fd, -1, -1));
    show("ftruncate64 -1", syscall(SYS_ftruncate64, fd, 0xffffffff, 0xffffffff));
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_NONE);
    show("getrandom 1G into 4K", syscall(SYS_getrandom, p, 0x40000000, 0));
    show("getrandom at guard", syscall(SYS_getrandom, p + 4096, 16, 0));
    /* LTP mmap06: mapping a descriptor that is not open for reading (os.pread raised EBADF) */
    write(fd, "data", 4);
    int wo = open(argv[1], O_WRONLY);
    show("mmap write-only", (long)mmap(0, 4096, PROT_READ, MAP_PRIVATE, wo, 0));
    show("mmap write-only shared", (long)mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, wo, 0));
    unlink(argv[1]);
    return 0;
}
