/* Huge counts through every path that copies between a guest and the kernel, against 4 KiB buffers (a guard page
 * after them) and a 1 GiB read-only mapping nobody touched: each call prints its result, for a comparison with
 * native Linux; the emulator must stay within --mem plus its constant while doing it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#define G (1u << 30)

static void show(const char *what, long r) { printf("%s %ld %d\n", what, r, r < 0 ? errno : 0); errno = 0; }

int main(int argc, char **argv) {
    char *big = mmap(0, G, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_NONE);
    if (big == MAP_FAILED || p == MAP_FAILED) return 1;
    int dn = open("/dev/null", O_WRONLY), dz = open("/dev/zero", O_RDONLY);
    show("getrandom", syscall(SYS_getrandom, p, G, 0));
    struct iovec v[2] = {{big, G / 2}, {big + G / 2, G / 2}};
    show("writev null", writev(dn, v, 2));
    show("write null", write(dn, big, G));
    int pf[2];
    pipe2(pf, O_NONBLOCK);
    show("write pipe", write(pf[1], big, G));
    show("writev full pipe", writev(pf[1], v, 2));
    show("read zero", read(dz, p, G));
    struct iovec w[2] = {{p, 4096}, {big, G}};
    show("readv zero", readv(dz, w, 2));
    int f = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(f, G);
    show("sendfile", sendfile(dn, f, NULL, G));
    lseek(f, 0, SEEK_SET);
    show("read file", read(f, p, G));
    show("pwrite", pwrite(f, big, G / 4, 0));
    show("pread", pread(f, p, G, 0));
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s);
    show("write socket", write(s[0], big, G));
    show("send socket", send(s[0], big, G, 0));
    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    show("send dgram", send(d[0], big, G, 0));
    unlink(argv[1]);
    return 0;
}
