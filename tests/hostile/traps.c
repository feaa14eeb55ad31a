/* CPU exceptions a user-mode program can raise: for each, the signal, si_code, whether si_addr is set, where eip
 * points (relative to the instruction), and the trap number and error code of the signal frame. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
static sigjmp_buf jb;
static volatile unsigned long start;
static void h(int sig, siginfo_t *si, void *uc_) {
  ucontext_t *uc = uc_;
  unsigned long eip = uc->uc_mcontext.gregs[REG_EIP];
  printf("  sig %d code %d addr %s eip %+ld trapno %d err %#x\n", sig, si->si_code,
         si->si_addr ? "set" : "0", (long)(eip - start), (int)uc->uc_mcontext.gregs[REG_TRAPNO],
         (unsigned)uc->uc_mcontext.gregs[REG_ERR]);
  siglongjmp(jb, 1);
}
#define T(name, code) do { printf("%s\n", name); fflush(stdout); if (!sigsetjmp(jb, 1)) { \
  __asm__ volatile("call 1f\n1: pop %%eax\n add $(2f-1b), %%eax\n mov %%eax, %0\n" "2: " code "\n" : "=m"(start) : : "eax", "ecx", "edx", "memory"); \
  printf("  no signal\n"); } } while (0)
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  for (int s = 1; s < 32; s++) sigaction(s, &sa, 0);
  T("inb", "mov $0x80, %%dx; inb %%dx, %%al");
  T("outb", "mov $0x80, %%dx; outb %%al, %%dx");
  T("inb imm", "inb $0x60, %%al");
  T("sysenter", "sysenter");
  T("syscall", "syscall");
  T("rdpmc", "xor %%ecx, %%ecx; rdpmc");
  T("int 0x81", "int $0x81");
  T("int3", "int3");
  T("int 3 (cd 03)", ".byte 0xcd, 0x03");
  T("into", "mov $0x7f, %%al; add $1, %%al; into");
  T("ud2", "ud2");
  T("hlt", "hlt");
  T("cli", "cli");
  T("sti", "sti");
  T("iret", "iret");
  T("lgdt", "lgdt (%%esp)");
  T("mov cr0", "mov %%cr0, %%eax");
  T("wrmsr", "wrmsr");
  T("rdmsr", "rdmsr");
  T("int1 (f1)", ".byte 0xf1");
  T("bound", "push $0; push $0; mov $5, %%eax; bound %%eax, (%%esp); add $8, %%esp");
  T("div0", "xor %%ecx, %%ecx; div %%ecx");
  T("rdtscp", "rdtscp");
  T("lock nop", ".byte 0xf0, 0x90");
  T("outsb", "mov $0x80, %%dx; outsb");
  T("rep insb", "mov $0x80, %%dx; mov $4, %%ecx; lea -64(%%esp), %%edi; rep insb");
  return 0;
}
