/* pollselect.c - poll and select on pipes: nothing ready times out, data makes the read end ready, a
 * closed writer gives POLLHUP/EOF, and a blocked poll is woken by a child's write. */
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    struct pollfd pf[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
    int n = poll(pf, 1, 10);
    printf("empty pipe, poll(10 ms): %d\n", n);
    n = poll(pf, 2, 0);
    printf("write end writable: %d revents %s\n", n, pf[1].revents & POLLOUT ? "POLLOUT" : "-");
    write(p[1], "x", 1);
    n = poll(pf, 1, -1);
    printf("after a write: %d revents %s\n", n, pf[0].revents & POLLIN ? "POLLIN" : "-");
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = { 0, 0 };
    n = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select: %d readable %d\n", n, FD_ISSET(p[0], &rd));
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_usec = 1000;
    n = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select on an empty pipe with a timeout: %d\n", n);
    pid_t child = fork();
    if (child == 0) { usleep(1000); write(p[1], "y", 1); _exit(0); }
    n = poll(pf, 1, -1);
    printf("woken by the child's write: %d %s\n", n, pf[0].revents & POLLIN ? "POLLIN" : "-");
    waitpid(child, NULL, 0);
    read(p[0], &c, 1);
    close(p[1]);
    n = poll(pf, 1, -1);
    printf("writer closed: %d %s, read %zd\n", n, pf[0].revents & POLLHUP ? "POLLHUP" : "-", read(p[0], &c, 1));
    return 0;
}
