/* flock_falloc.c - flock(2) between processes (shared with shared, exclusive refused with LOCK_NB, a waiter
 * let in when the holder unlocks, shared by dup, independent of fcntl locks) and fallocate(2) (allocation
 * extends the size, KEEP_SIZE does not, a punched hole reads as zeros also through a mapping). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/flock-XXXXXX";
    int fd = mkstemp(path);
    printf("LOCK_EX: %d\n", flock(fd, LOCK_EX));
    int p2[2];
    pipe(p2);
    pid_t c = fork();
    if (c == 0) {
        int other = open(path, O_RDWR);
        int r = flock(other, LOCK_SH | LOCK_NB);
        printf("child LOCK_SH|LOCK_NB on its own open: %d %s\n", r, r ? strerror(errno) : "");
        printf("child shares the inherited lock: %d\n", flock(fd, LOCK_EX | LOCK_NB));
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        printf("child fcntl lock is independent: %d\n", fcntl(other, F_SETLK, &fl));
        close(fd); /* the parent's close will now drop the last reference to the locked open file */
        write(p2[1], "w", 1);
        r = flock(other, LOCK_EX); /* waits until the parent's open file unlocks */
        printf("child LOCK_EX after the parent unlocked: %d\n", r);
        _exit(0);
    }
    char ch;
    read(p2[0], &ch, 1);
    int fd2 = open(path, O_RDWR);
    int r = flock(fd2, LOCK_EX | LOCK_NB);
    printf("parent new open while the lock is held: %d %s\n", r, r ? strerror(errno) : "");
    usleep(100000);
    close(fd); /* the last reference to the locked open file: the child's wait ends */
    waitpid(c, NULL, 0); /* and its own lock goes with its exit */
    printf("parent after the child exited: %d\n", flock(fd2, LOCK_EX | LOCK_NB));
    printf("bad operation: %d\n", flock(fd2, 0));

    struct stat st;
    printf("fallocate 8192: %d", fallocate(fd2, 0, 0, 8192));
    fstat(fd2, &st);
    printf(" size %ld\n", (long)st.st_size);
    printf("KEEP_SIZE to 16384: %d", fallocate(fd2, FALLOC_FL_KEEP_SIZE, 0, 16384));
    fstat(fd2, &st);
    printf(" size %ld\n", (long)st.st_size);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
    memset(m, 'x', 8192);
    msync(m, 8192, MS_SYNC);
    r = fallocate(fd2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096);
    char b[2];
    pread(fd2, b, 1, 4096);
    printf("punch hole: %d, read %d, mapped %d, before it %c\n", r, b[0], m[4096], m[0]);
    r = fallocate(fd2, FALLOC_FL_PUNCH_HOLE, 0, 10);
    printf("punch without KEEP_SIZE: %d %s\n", r, strerror(errno));
    r = fallocate(fd2, 0, 0, 0);
    printf("zero length: %d %s\n", r, strerror(errno));
    int ro = open(path, O_RDONLY);
    r = fallocate(ro, 0, 0, 10);
    printf("read-only descriptor: %d %s\n", r, strerror(errno));
    int pp[2];
    pipe(pp);
    r = fallocate(pp[1], 0, 0, 10);
    printf("pipe: %d %s\n", r, strerror(errno));
    unlink(path);
    return 0;
}
