/* forkloop.c fork|vfork PAGES ITERS - process creation loop rate.
 * Writes one byte in each of PAGES private anonymous pages (so they are resident), then times ITERS rounds of
 * fork() (or vfork()) + child _exit(0) + waitpid() in the parent. */
#include <sys/mman.h>
#include <sys/wait.h>
#include "bench.h"

int main(int argc, char **argv)
{
    int use_vfork = argc > 1 && strcmp(argv[1], "vfork") == 0;
    long pages = arg_long(argc, argv, 2, 16), iters = arg_long(argc, argv, 3, 1000);
    volatile char *buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long i;
    int st;

    if (buf == MAP_FAILED)
        fail("mmap");
    for (i = 0; i < pages; i++)
        buf[i * PAGE] = 1;
    long long t0 = now_ns();
    for (i = 0; i < iters; i++) {
        pid_t pid = use_vfork ? vfork() : fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0)
            _exit(0);
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
            fail("waitpid");
    }
    long long t1 = now_ns();
    result("name=%s pages=%ld iters=%ld ns=%lld", use_vfork ? "vfork" : "fork", pages, iters, t1 - t0);
    return 0;
}
