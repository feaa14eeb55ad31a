/* fileio.c - checks open/read/lseek/fstat/close and errno for a missing file.
 * Usage: fileio FILE   (FILE must be at least 15 bytes long)
 * Prints the size and a checksum from read(), 10 bytes at offset 5, fstat's
 * st_size, then "missing file: ENOENT" for an open of a non-existent path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned char buf[4096];
    unsigned long sum = 0, size = 0;
    struct stat st;
    ssize_t n;
    int fd, i;

    if (argc < 2) {
        printf("FAIL: usage: fileio FILE\n");
        return 1;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        printf("FAIL: open: %s\n", strerror(errno));
        return 1;
    }
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (i = 0; i < n; i++)
            sum = (sum * 31 + buf[i]) & 0xffffffffUL;
        size += n;
    }
    if (n < 0) {
        printf("FAIL: read: %s\n", strerror(errno));
        return 1;
    }
    printf("size %lu checksum %lu\n", size, sum);

    if (lseek(fd, 5, SEEK_SET) != 5) {
        printf("FAIL: lseek\n");
        return 1;
    }
    n = read(fd, buf, 10);
    if (n != 10) {
        printf("FAIL: read at 5 returned %d\n", (int)n);
        return 1;
    }
    printf("bytes 5..14: ");
    fwrite(buf, 1, 10, stdout);
    printf("\n");

    if (lseek(fd, 0, SEEK_CUR) != 15) {
        printf("FAIL: lseek SEEK_CUR\n");
        return 1;
    }
    if (fstat(fd, &st) != 0) {
        printf("FAIL: fstat: %s\n", strerror(errno));
        return 1;
    }
    printf("st_size %lu\n", (unsigned long)st.st_size);
    if ((unsigned long)st.st_size != size) {
        printf("FAIL: st_size != bytes read\n");
        return 1;
    }
    if (close(fd) != 0) {
        printf("FAIL: close\n");
        return 1;
    }
    if (read(fd, buf, 1) != -1 || errno != EBADF) {
        printf("FAIL: read after close did not give EBADF\n");
        return 1;
    }
    printf("read after close: EBADF\n");

    errno = 0;
    fd = open("/nonexistent-emu-test-dir/missing.txt", O_RDONLY);
    if (fd >= 0 || errno != ENOENT) {
        printf("FAIL: missing file open fd=%d errno=%d\n", fd, errno);
        return 1;
    }
    printf("missing file: ENOENT (%s)\n", strerror(errno));
    return 0;
}
