/* fifo.c - named pipes: mkfifo, a writer that waits for its reader, data through the FIFO, EOF after the writer
 * closes, ENXIO for a non-blocking writer without a reader, fstat of the open FIFO, mknod of a regular file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char dir[] = "/tmp/fifo-XXXXXX", path[64], reg[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(reg, sizeof reg, "%s/r", dir);
    printf("mkfifo: %d\n", mkfifo(path, 0600));
    int e = mkfifo(path, 0600);
    printf("mkfifo again: %d %s\n", e, strerror(errno));
    int fd = open(path, O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer without reader: %d %s\n", fd, strerror(errno));
    fd = open(path, O_RDONLY | O_NONBLOCK);
    char buf[64];
    printf("nonblocking reader: %s, read %zd\n", fd >= 0 ? "opened" : "failed", read(fd, buf, sizeof buf));
    close(fd);
    pid_t c = fork();
    if (c == 0) {
        int w = open(path, O_WRONLY); /* waits for the parent's open */
        write(w, "through the fifo", 16);
        close(w);
        _exit(0);
    }
    int r = open(path, O_RDONLY);
    struct stat st;
    fstat(r, &st);
    printf("fstat: fifo %d mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    ssize_t n, total = 0;
    while ((n = read(r, buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    printf("read %zd: %s, then EOF %zd\n", total, buf, n);
    close(r);
    waitpid(c, NULL, 0);
    int rw = open(path, O_RDWR); /* never waits */
    write(rw, "x", 1);
    printf("O_RDWR reads back: %zd\n", read(rw, buf, 1));
    close(rw);
    e = open(path, O_RDONLY | O_DIRECTORY);
    printf("O_DIRECTORY on a fifo: %d %s\n", e, strerror(errno));
    printf("mknod regular: %d", mknod(reg, S_IFREG | 0644, 0));
    stat(reg, &st);
    printf(" regular %d\n", S_ISREG(st.st_mode));
    unlink(path);
    unlink(reg);
    rmdir(dir);
    return 0;
}
