/* A guest that writes terminal control sequences and names a file with them: `emu trace` must show them escaped
 * as strace does. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    write(1, "\x1b[31mred\x07\r\n\x9b\xff\"\\", 16);
    open("/tmp/\x1b]0;title\x07", O_RDONLY);
    return 0;
}
