/* Forks children that sleep forever, says "ready", then spins (argument "spin") or waits for them ("wait"): only
 * a signal to the emulator ends it. The children sleep on a timer, not in pause(): with every task in pause()
 * and wait() nothing could ever wake the guest, and the emulator would end the run itself (a deadlock), while
 * with timers pending it sleeps on the host clock, which is the path "wait" tests. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 0; i < 4; i++)
        if (fork() == 0)
            for (;;) sleep(1000);
    puts("ready");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "wait") == 0)
        for (;;) wait(NULL);
    for (volatile unsigned n = 0;; n++) {}
}
