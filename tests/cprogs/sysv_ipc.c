/* sysv: SysV shm across fork (shared, never COW), shmctl IPC_STAT nattch, RMID with attachers, a SEM_UNDO
   semaphore released by exit, a blocking semop woken by another process, CLONE_SYSVSEM threads sharing undo,
   message queues between processes with types, IPC_NOWAIT and E2BIG. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
union semun { int val; struct semid_ds *buf; unsigned short *array; };
struct msg { long mtype; char text[64]; };
static int semid;
static void *thr(void *a) { (void)a; struct sembuf op = {0, 1, SEM_UNDO}; semop(semid, &op, 1); return 0; }
int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int shmid = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    int *p = shmat(shmid, 0, 0);
    struct shmid_ds ds; shmctl(shmid, IPC_STAT, &ds);
    printf("segsz %zu nattch %lu mode %o\n", ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777);
    pid_t c = fork();
    if (c == 0) { shmctl(shmid, IPC_STAT, &ds); printf("child nattch %lu\n", (unsigned long)ds.shm_nattch); p[0] = 42; p[1024] = 43; _exit(0); }
    waitpid(c, 0, 0);
    printf("parent sees %d %d\n", p[0], p[1024]);
    shmctl(shmid, IPC_RMID, 0);
    shmctl(shmid, IPC_STAT, &ds);
    printf("after rmid: nattch %lu dest %d\n", (unsigned long)ds.shm_nattch, !!(ds.shm_perm.mode & SHM_DEST));
    int dt = shmdt(p);
    int st = shmctl(shmid, IPC_STAT, &ds);
    printf("shmdt %d, stat after %d errno %d\n", dt, st, errno);

    semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    union semun arg; arg.val = 1; semctl(semid, 0, SETVAL, arg);
    c = fork();
    if (c == 0) { struct sembuf op = {0, -1, SEM_UNDO}; semop(semid, &op, 1); printf("child took it: %d\n", semctl(semid, 0, GETVAL)); _exit(0); }
    waitpid(c, 0, 0);
    printf("undone at exit: %d pid-is-child %d\n", semctl(semid, 0, GETVAL), semctl(semid, 0, GETPID) == c);
    struct sembuf nb = {1, -1, IPC_NOWAIT};
    int rs = semop(semid, &nb, 1);
    printf("nowait: %d errno %d\n", rs, errno);
    c = fork();
    if (c == 0) { usleep(1000); struct sembuf up = {1, 1, 0}; semop(semid, &up, 1); _exit(0); }
    struct sembuf down = {1, -1, 0};
    printf("blocking semop: %d\n", semop(semid, &down, 1));
    waitpid(c, 0, 0);
    pthread_t th; pthread_create(&th, 0, thr, 0); pthread_join(th, 0);
    printf("thread's undo is ours: %d\n", semctl(semid, 0, GETVAL));
    semctl(semid, 0, IPC_RMID);

    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    c = fork();
    if (c == 0) {
        struct msg m = {2, "two"}; msgsnd(q, &m, 4, 0);
        m.mtype = 1; strcpy(m.text, "one"); msgsnd(q, &m, 4, 0);
        _exit(0);
    }
    waitpid(c, 0, 0);
    struct msg r;
    printf("type 1 first: %zd %s\n", msgrcv(q, &r, 64, 1, 0), r.text);
    printf("any: %zd %ld %s\n", msgrcv(q, &r, 64, 0, 0), r.mtype, r.text);
    { long rv = msgrcv(q, &r, 64, 0, IPC_NOWAIT); printf("empty nowait: %ld errno %d\n", rv, errno); }
    struct msg big = {3, "0123456789"}; msgsnd(q, &big, 11, 0);
    { long rv = msgrcv(q, &r, 4, 0, IPC_NOWAIT); printf("too small: %ld errno %d\n", rv, errno); }
    printf("noerror: %zd\n", msgrcv(q, &r, 4, 0, IPC_NOWAIT | MSG_NOERROR));
    struct msqid_ds qs; msgctl(q, IPC_STAT, &qs);
    printf("qnum %lu qbytes %lu\n", (unsigned long)qs.msg_qnum, (unsigned long)qs.msg_qbytes);
    msgctl(q, IPC_RMID, 0);
    { long rv = msgctl(q, IPC_STAT, &qs); printf("gone: %ld errno %d\n", rv, errno); }
    return 0;
}
