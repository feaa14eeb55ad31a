/* sysctl_write: a guest's write to /proc/sys/kernel/msgmni becomes the model's limit (msgget then fails with
   ENOSPC past it), and a value that does not parse is refused with EINVAL. */
#include <stdio.h>
#include <sys/msg.h>
#include <errno.h>
int main(void){ FILE *f = fopen("/proc/sys/kernel/msgmni", "w"); fprintf(f, "%d", 3); fclose(f);
 int ids[4]; for (int i = 0; i < 4; i++) { ids[i] = msgget(0x500 + i, IPC_CREAT|IPC_EXCL|0600); printf("%d %d\n", ids[i] >= 0, ids[i] < 0 ? errno : 0); }
 for (int i = 0; i < 4; i++) if (ids[i] >= 0) msgctl(ids[i], IPC_RMID, 0);
 f = fopen("/proc/sys/kernel/msgmni", "r"); int v; fscanf(f, "%d", &v); printf("msgmni %d\n", v); 
 f = fopen("/proc/sys/kernel/msgmni", "w"); int r = fprintf(f, "garbage"); r = fclose(f); printf("bad write close %d errno %d\n", r, errno); return 0; }
