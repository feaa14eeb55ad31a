/* Forks children that sleep forever, says "ready", then spins (argument "spin") or waits for them ("wait"): only
 * a signal to the emulator ends it. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 0; i < 4; i++)
        if (fork() == 0)
            for (;;) pause();
    puts("ready");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "wait") == 0)
        for (;;) wait(NULL);
    for (volatile unsigned n = 0;; n++) {}
}
