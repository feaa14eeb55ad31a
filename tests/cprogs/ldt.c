/* ldt.c - modify_ldt: an LDT entry written, read back, used through %fs, kept by a fork child, and gone after
 * exec (the exec'd program starts with an empty LDT). */
#include <asm/ldt.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int value = 42;

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned char buf[64];
    if (argc > 1) { /* after exec */
        printf("after exec: LDT read %ld bytes\n", syscall(SYS_modify_ldt, 0, buf, sizeof buf));
        return 0;
    }
    printf("empty LDT read: %ld\n", syscall(SYS_modify_ldt, 0, buf, sizeof buf));
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = 1;
    d.base_addr = (unsigned long)&value;
    d.limit = 4;
    d.seg_32bit = 1;
    d.useable = 1;
    printf("write entry 1: %ld\n", syscall(SYS_modify_ldt, 0x11, &d, sizeof d));
    printf("bad size: %ld\n", syscall(SYS_modify_ldt, 1, &d, 8));
    long n = syscall(SYS_modify_ldt, 0, buf, sizeof buf);
    printf("LDT read %ld bytes, entry 1 present %d\n", n, n >= 16 && (buf[8 + 5] & 0x80) ? 1 : 0);
    int v;
    asm volatile("movw %w0, %%fs" ::"q"(1 << 3 | 4 | 3));
    asm volatile("movl %%fs:0, %0" : "=r"(v));
    printf("through %%fs: %d\n", v);
    asm volatile("movl %0, %%fs:0" ::"r"(7));
    pid_t c = fork();
    if (c == 0) {
        asm volatile("movl %%fs:0, %0" : "=r"(v));
        printf("child through %%fs: %d\n", v);
        asm volatile("movw %w0, %%fs" ::"q"(0));
        execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
        _exit(1);
    }
    waitpid(c, NULL, 0);
    printf("parent value: %d\n", value);
    return 0;
}
