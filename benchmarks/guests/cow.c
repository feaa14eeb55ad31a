/* cow.c PAGES REPS - copy-on-write fault rate.
 * mmaps PAGES private anonymous pages and writes one byte in each (so every page has a frame), then REPS times:
 * fork; the child writes one byte in each of the PAGES pages (each write is a write-protect fault that copies the
 * page, since the parent still maps the frame), timing only that loop, adds the nanoseconds to a counter in a
 * MAP_SHARED page and _exits; the parent waits. Prints faults = PAGES*REPS and the summed child ns. */
#include <sys/mman.h>
#include <sys/wait.h>
#include "bench.h"

int main(int argc, char **argv)
{
    long pages = arg_long(argc, argv, 1, 256), reps = arg_long(argc, argv, 2, 1);
    volatile char *buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile long long *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long i, r;
    int st;

    if (buf == MAP_FAILED || shared == MAP_FAILED)
        fail("mmap");
    for (i = 0; i < pages; i++)
        buf[i * PAGE] = 1;
    shared[0] = 0;
    for (r = 0; r < reps; r++) {
        pid_t pid = fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0) {
            long long t0 = now_ns();
            for (i = 0; i < pages; i++)
                buf[i * PAGE + 1] = 2;
            long long t1 = now_ns();
            shared[0] += t1 - t0;
            _exit(0);
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail("waitpid");
    }
    for (i = 0; i < pages; i++)
        if (buf[i * PAGE] != 1 || buf[i * PAGE + 1] != 0)
            fail("parent memory changed by the child");
    result("name=cow pages=%ld reps=%ld faults=%ld ns=%lld", pages, reps, pages * reps, shared[0]);
    return 0;
}
