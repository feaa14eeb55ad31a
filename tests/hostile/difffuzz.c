/* The differential syscall fuzzer's guest (tests/test_difffuzz.py), run natively (in a throwaway root, in new
 * namespaces) and under the emulator with the same input.
 *
 * stdin: u32 nprog, then per program u32 nrec and nrec records of 7 u32 (eax, ebx, ecx, edx, esi, edi, ebp).
 * Each program runs in a fresh child, which first builds the same world every time (the pages and descriptors
 * below, whose addresses and numbers the fuzzer draws arguments from) and then makes its calls with int $0x80,
 * storing each result in a shared page. stdout: per program u32 wait status (0xffffffff: killed after 3 s), u32
 * calls completed, then one u32 result per completed call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RW ((char *)0x10000000)  /* read-write page with strings */
#define RO ((char *)0x10001000)  /* the same strings, read-only; 0x10002000 stays unmapped */
#define RESULTS ((volatile uint32_t *)0x0e000000)
#define MAXREC 64

extern uint32_t raw_syscall(const uint32_t *rec);
__asm__(".globl raw_syscall\nraw_syscall:\n"
        "  push %ebp\n  push %ebx\n  push %esi\n  push %edi\n  mov 20(%esp), %eax\n"
        "  mov 4(%eax), %ebx\n  mov 8(%eax), %ecx\n  mov 12(%eax), %edx\n  mov 16(%eax), %esi\n"
        "  mov 20(%eax), %edi\n  mov 24(%eax), %ebp\n  mov 0(%eax), %eax\n  int $0x80\n"
        "  pop %edi\n  pop %esi\n  pop %ebx\n  pop %ebp\n  ret\n");

static uint32_t input[1 << 20];
static volatile pid_t child;

static void on_alarm(int sig) { (void)sig; if (child > 0) kill(child, SIGKILL); }

static void put(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) { ssize_t w = write(fd, c, n); if (w <= 0) _exit(3); c += w; n -= w; }
}

static void fill(char *page) {
    static const char *strings[] = {"f", "d", "newname", "/", "..", "f/x", "link", "", "d/sub"};
    memset(page, 0, 4096);
    for (unsigned i = 0; i < sizeof strings / sizeof *strings; i++) strcpy(page + 16 * i, strings[i]);
    for (int i = 0; i < 256; i++) page[0x400 + i] = (char)i;  /* bytes 0..255 */
    memset(page + 0x800, 0x41, 0x7ff);  /* 'A' * 2047, NUL-terminated by the page's last bytes */
}

static void world(void) {
    if (mmap(RW, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != RW) _exit(4);
    if (mmap(RO, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != RO) _exit(4);
    fill(RW);
    fill(RO);
    mprotect(RO, 4096, PROT_READ);
    int junk = open("junk", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(junk, 1);
    dup2(junk, 2);
    close(junk);
    int f = open("f", O_RDWR | O_CREAT, 0644);
    dup2(f, 3);
    int p[2];
    pipe2(p, O_NONBLOCK);
    dup2(p[0], 4);
    dup2(p[1], 5);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    dup2(d, 6);
    for (int fd = 7; fd < 64; fd++) close(fd);
}

int main(void) {
    size_t got = 0;
    ssize_t n;
    while ((n = read(0, (char *)input + got, sizeof input - got)) > 0) got += n;
    struct rlimit core = {0, 0}, nofile = {1024, 1024};
    setrlimit(RLIMIT_CORE, &core);
    setrlimit(RLIMIT_NOFILE, &nofile);
    umask(022);
    mkdir("d", 0755);
    int out = dup(1);
    if (mmap((void *)RESULTS, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        != (void *)RESULTS) return 2;
    signal(SIGALRM, on_alarm);
    uint32_t *in = input, nprog = *in++;
    for (uint32_t prog = 0; prog < nprog; prog++) {
        uint32_t nrec = *in++;
        const uint32_t *recs = in;
        in += 7 * nrec;
        RESULTS[0] = 0;
        child = fork();
        if (child == 0) {
            close(out);
            world();
            signal(SIGALRM, SIG_DFL);
            for (uint32_t i = 0; i < nrec && i < MAXREC; i++) {
                uint32_t r = raw_syscall(recs + 7 * i);
                RESULTS[1 + i] = r;
                RESULTS[0] = i + 1;
            }
            _exit(0);
        }
        alarm(3);
        int st = 0;
        while (waitpid(child, &st, 0) < 0) {}
        uint32_t status = alarm(0) == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0xffffffffu : (uint32_t)st;
        uint32_t done = RESULTS[0];
        put(out, &status, 4);
        put(out, &done, 4);
        put(out, (const void *)(RESULTS + 1), 4 * done);
        child = 0;
    }
    return 0;
}
