/* locks.c - fcntl record locks between two processes: F_GETLK reports the holder, F_SETLK fails with EAGAIN,
 * F_SETLKW waits until the holder unlocks, closing any descriptor drops the process's locks, a split unlock
 * keeps the rest, EDEADLK for a wait that would deadlock, and OFD locks belong to the open file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void getlk(int fd, const char *who, short type, off_t start, off_t len, pid_t holder)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    fcntl(fd, F_GETLK, &fl);
    printf("%s: F_GETLK [%ld,+%ld) -> %s start %ld len %ld holder %s\n", who, (long)start, (long)len,
           fl.l_type == F_UNLCK ? "F_UNLCK" : fl.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK", (long)fl.l_start,
           (long)fl.l_len, fl.l_type == F_UNLCK ? "-" : fl.l_pid == holder ? "parent" : "other");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/locks-XXXXXX";
    int fd = mkstemp(path);
    write(fd, "0123456789abcdefghij", 20);
    int go[2], done[2];
    pipe(go);
    pipe(done);
    pid_t parent = getpid();
    printf("parent write lock [0,10): %d\n", lk(fd, F_SETLK, F_WRLCK, 0, 10));
    printf("parent unlock [4,6): %d\n", lk(fd, F_SETLK, F_UNLCK, 4, 2));
    pid_t c = fork();
    if (c == 0) {
        int cfd = open(path, O_RDWR);
        getlk(cfd, "child", F_RDLCK, 0, 20, parent);
        getlk(cfd, "child", F_WRLCK, 4, 2, parent);
        int r = lk(cfd, F_SETLK, F_RDLCK, 8, 4);
        printf("child F_SETLK read [8,12): %d %s\n", r, strerror(errno));
        printf("child read lock [12,20): %d\n", lk(cfd, F_SETLK, F_RDLCK, 12, 8));
        write(go[1], "g", 1);
        r = lk(cfd, F_SETLKW, F_WRLCK, 0, 4); /* waits for the parent's unlock */
        printf("child F_SETLKW write [0,4) after the parent let go: %d\n", r);
        char ch;
        read(done[0], &ch, 1);
        _exit(0);
    }
    char ch;
    read(go[0], &ch, 1);
    usleep(200000); /* the child is now waiting for [0,4) */
    int r = lk(fd, F_SETLKW, F_WRLCK, 12, 2); /* child holds [12,20) and waits for us: deadlock */
    printf("parent F_SETLKW on the child's range while it waits for ours: %d %s\n", r, strerror(errno));
    int other = open(path, O_RDONLY);
    usleep(100000);
    close(other); /* closing any descriptor drops all our locks: the child gets [0,4) */
    usleep(200000);
    getlk(fd, "parent", F_WRLCK, 0, 4, c);
    write(done[1], "d", 1);
    waitpid(c, NULL, 0);
    getlk(fd, "parent after the child exited", F_WRLCK, 0, 20, c);

    int a = open(path, O_RDWR), b = open(path, O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    printf("OFD lock through a: %d\n", fcntl(a, F_OFD_SETLK, &fl));
    r = fcntl(b, F_OFD_SETLK, &fl);
    printf("OFD lock through b, same process: %d %s\n", r, strerror(errno));
    close(a);
    printf("after a's close, b: %d\n", fcntl(b, F_OFD_SETLK, &fl));
    fl.l_pid = 1;
    r = fcntl(b, F_OFD_GETLK, &fl);
    printf("OFD F_GETLK with l_pid set: %d %s\n", r, strerror(errno));
    int ro = open(path, O_RDONLY);
    r = lk(ro, F_SETLK, F_WRLCK, 0, 1);
    printf("write lock on a read-only descriptor: %d %s\n", r, strerror(errno));
    unlink(path);
    return 0;
}
