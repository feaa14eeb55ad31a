/* The native fast path: Unicorn hooks written in C over the kernel model's own data.
 *
 * Loaded with ctypes (it includes no Python header and needs neither libpython nor Unicorn's headers: the
 * Unicorn functions it calls are handed over as pointers). emu/fastpath.py describes the same structure with
 * ctypes and owns every buffer named here; the kernel model's numpy arrays are the only memory touched.
 *
 * What it decides is nothing: it takes only the outcomes kernel_model/mm.py defines for states it can see in a
 * PTE and in the running mm's VMA table, exactly as the Python path would take them, and hands every other
 * case to the Python handler:
 *   - a TLB miss on a present user page that allows the access (setting the accessed and dirty bits as
 *     MM.handle_fault does), marking frames instructions are fetched from;
 *   - a write to a PTE marked copy-on-write in a private writable VMA: do_wp_page's reuse when the frame has
 *     one reference, else wp_page_copy into the frame at the top of the pool's free stack;
 *   - the first touch of an anonymous private page whose page table exists (do_anonymous_page), zeroed.
 * Each such fault is appended to a ring buffer with what the Python path would have reported at that moment
 * (eip, the retired-instruction count, the TLB fills so far); Python drains it in order before it looks at any
 * counter, so statistics, `-e fault`, `--events` and Machine.on("fault") see every fault as before.
 * The int 0x80 entry reads the registers into a preallocated pt_regs buffer in one call and writes eax back.
 *
 * Exact instruction counting with a block hook (used when no observer needs the eip of each fault, see
 * emu/cpu.py): each translated block's instruction count is decoded once with capstone and kept in a table keyed by
 * the block's physical address and size; the hook adds it when the block starts, and refuses (stops before) a
 * block that would take the slice past its budget, which Python then finishes exactly. Python corrects the count
 * when a block is left in the middle (an exception: the faulting instruction is counted, as Unicorn's count= mode
 * counts it), using fp_index. The result equals emu_start(count=) instruction for instruction.
 */
#include <stdint.h>
#include <string.h>

typedef void uc_engine;
typedef struct {
    uint64_t paddr;
    uint32_t perms;
} uc_tlb_entry;
typedef int (*uc_hook_add_t)(uc_engine *, size_t *, int, void *, void *, uint64_t, uint64_t, ...);
typedef int (*uc_reg_rw_t)(uc_engine *, int, void *);
typedef int (*uc_reg_batch_t)(uc_engine *, int *, void **, int);
typedef int (*py_fill_t)(uint64_t vaddr, int32_t access, uc_tlb_entry *entry);
typedef int32_t (*py_intr_t)(uint32_t intno);
typedef int (*uc_emu_stop_t)(uc_engine *);
typedef size_t (*cs_disasm_t)(size_t handle, const uint8_t *code, size_t size, uint64_t address, size_t count,
                              void **insn);
typedef void (*cs_free_t)(void *insn, size_t count);

typedef struct {
    uint64_t paddr;  /* physical address of the block's first byte, +1 (0: empty slot) */
    uint64_t head;   /* its first 8 bytes, so that rewritten code is decoded again */
    uint32_t size, n;
} fp_block;

/* i386 PTE bits and the model's software bits (kernel_model/mm.py) */
#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PTE_COW 0x200u
#define PTE_NX 0x400u
#define TASK_SIZE 0xC0000000u
/* fault kinds (kernel_model.mm.FAULT_NAMES order) */
#define FAULT_ZERO 0
#define FAULT_COW_COPY 2
#define FAULT_COW_REUSE 3
/* VMA table flags: the VMA's PROT_* bits, and */
#define VMA_SHARED 0x8u
#define VMA_ANON 0x10u /* no memory object and no ELF bytes: first touch is a zero-filled frame */
#define PROT_READ 1u
#define PROT_WRITE 2u
#define PROT_EXEC 4u

typedef struct {
    uint32_t kind, vaddr, old, new_frame, eip, fills;
    uint64_t insns;
    uint64_t free_frames;   /* the pool's free frames once the fault was served (frames in use, for observers) */
} fp_fault;

/* Every field is 8 bytes wide so that the ctypes mirror needs no padding rules. */
typedef struct {
    uint8_t *mem;           /* physical memory (FramePool.mem) */
    int32_t *refcount;      /* FramePool.refcount */
    uint8_t *exec_bytes;    /* FramePool.exec_bytes */
    int32_t *free_stack;    /* FramePool.stack: free frames, the next one to hand out last */
    int64_t *pool_state;    /* FramePool.state: [0] free frames, [1] peak frames in use */
    int64_t nframes;
    int64_t pgd;            /* the running mm's page directory frame */
    uint32_t *vmas;         /* the running mm's VMAs: (start, end, flags) triples sorted by start */
    int64_t nvmas;
    int64_t anon_ok;        /* first touches may be served here (no guard regions in this mm) */
    int64_t tlb_fills;      /* since the last drain */
    fp_fault *ring;
    int64_t nfaults;
    int64_t ring_cap;
    uint64_t *insn_cell;    /* Unicorn's retired-instruction counter of the emu_start in progress */
    uc_reg_rw_t reg_read;
    uc_reg_rw_t reg_write;
    uc_reg_batch_t reg_read_batch;
    py_fill_t py_fill;
    py_intr_t py_intr;
    int32_t *reg_ids;       /* the pt_regs registers read at int 0x80 */
    void **reg_ptrs;
    int64_t nregs;
    uint64_t eax_out;       /* the syscall's return value, written back when py_intr says so */
    int64_t access_write, access_fetch, reg_eip, reg_eax;
    int64_t native_faults, python_fills; /* for `emu run --stats` */
    /* exact counting by blocks */
    int64_t counting;       /* 1: the block hook counts (emu_start runs without count=) */
    int64_t committed;      /* instructions of this slice so far (the current block counted whole) */
    int64_t budget;         /* the slice's instruction budget */
    int64_t blk_base, blk_pc, blk_size; /* the block entered last and the count before it */
    int64_t stop_requested; /* the CPU was asked to stop: blocks entered after that do not run */
    int64_t budget_stop;    /* the block hook refused the block at blk_pc (it would pass the budget) */
    int64_t stop_pc, stop_size;
    uc_emu_stop_t emu_stop;
    int64_t cs_handle;
    cs_disasm_t cs_disasm;
    cs_free_t cs_free;
    fp_block *blocks;
    int64_t blocks_mask;    /* table size - 1 (a power of two) */
    int64_t blocks_used, blocks_decoded, blocks_run;
    int64_t special_va[3], special_frame[3]; /* pages above TASK_SIZE that hold code: vDSO, boot */
    int64_t held_trap;      /* an instruction hook holds a trap: refuse every fill until the CPU has stopped */
    int64_t vmas_stale;     /* a VMA changed since the table was built: faults that need it go to Python */
} fp_state;

/* Unicorn TLB permissions by (PTE_NX, writable), as emu.cpu.PERMS */
static const uint32_t PERMS[4] = {1 | 4, 1, 1 | 2 | 4, 1 | 2};

static const uint32_t *find_vma(const fp_state *st, uint32_t va)
{
    int64_t lo = 0, hi = st->nvmas - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        const uint32_t *v = st->vmas + 3 * mid;
        if (va < v[0])
            hi = mid - 1;
        else if (va >= v[1])
            lo = mid + 1;
        else
            return v;
    }
    return 0;
}

/* alloc_page from the pool's free stack, as FramePool.alloc; -1 when it is empty */
static int64_t alloc_frame(fp_state *st)
{
    int64_t n = st->pool_state[0];
    if (n <= 0)
        return -1;
    int64_t f = st->free_stack[n - 1];
    st->pool_state[0] = n - 1;
    st->refcount[f] = 1;
    int64_t used = st->nframes - 1 - (n - 1);
    if (used > st->pool_state[1])
        st->pool_state[1] = used;
    return f;
}

static void record(fp_state *st, uc_engine *uc, uint32_t kind, uint32_t va, uint32_t old, uint32_t new_frame)
{
    fp_fault *r = st->ring + st->nfaults++;
    uint64_t eip = 0;
    st->reg_read(uc, (int)st->reg_eip, &eip);
    r->kind = kind;
    r->vaddr = va;
    r->old = old;
    r->new_frame = new_frame;
    r->eip = (uint32_t)eip;
    r->fills = (uint32_t)st->tlb_fills;
    r->insns = st->counting ? (uint64_t)st->committed : st->insn_cell ? *st->insn_cell : 0;
    r->free_frames = (uint64_t)st->pool_state[0];
    st->native_faults++;
}

static int install(uc_tlb_entry *e, uint32_t pte)
{
    uint32_t writable = (pte & PTE_W) && (pte & PTE_D);
    e->paddr = pte & 0xFFFFF000u;
    e->perms = PERMS[((pte >> 10) & 1) | writable << 1];
    return 1;
}

static int slow(fp_state *st, uint64_t vaddr, int access, uc_tlb_entry *e)
{
    st->python_fills++;
    return st->py_fill(vaddr, access, e);
}

static int hook_tlb_fill(uc_engine *uc, uint64_t vaddr, int access, uc_tlb_entry *e, fp_state *st)
{
    if (st->held_trap)
        return 0;
    if (vaddr >= TASK_SIZE)
        return slow(st, vaddr, access, e); /* the GDT, vDSO and boot pages, and kernel addresses */
    uint32_t va = (uint32_t)vaddr;
    st->tlb_fills++;
    uint32_t *words = (uint32_t *)st->mem;
    uint32_t pde = words[st->pgd * 1024 + (va >> 22)];
    if (!(pde & PTE_P))
        return slow(st, vaddr, access, e);
    uint32_t *ptep = words + (uint64_t)(pde >> 12) * 1024 + ((va >> 12) & 1023);
    uint32_t pte = *ptep;
    int write = access == st->access_write, fetch = access == st->access_fetch;
    if ((pte & (PTE_P | PTE_U)) == (PTE_P | PTE_U)) {
        if (fetch) {
            if (pte & PTE_NX)
                return slow(st, vaddr, access, e);
            if (!(pte & PTE_A))
                *ptep = pte |= PTE_A;
            st->exec_bytes[pte >> 12] = 1;
            return install(e, pte);
        }
        if (!write) {
            if (!(pte & PTE_A))
                *ptep = pte |= PTE_A;
            return install(e, pte);
        }
        if (pte & PTE_W) {
            if ((pte & (PTE_A | PTE_D)) != (PTE_A | PTE_D))
                *ptep = pte |= PTE_A | PTE_D;
            return install(e, pte);
        }
        if (!(pte & PTE_COW) || st->nfaults >= st->ring_cap || st->vmas_stale)
            return slow(st, vaddr, access, e);
        const uint32_t *v = find_vma(st, va);
        if (!v || !(v[2] & PROT_WRITE) || (v[2] & VMA_SHARED))
            return slow(st, vaddr, access, e);
        uint32_t old = pte >> 12;
        if (st->refcount[old] == 1) { /* wp_page_reuse */
            *ptep = pte = (pte | PTE_W | PTE_A | PTE_D) & ~PTE_COW;
            record(st, uc, FAULT_COW_REUSE, va, old, old);
            return install(e, pte);
        }
        int64_t nf = alloc_frame(st); /* wp_page_copy */
        if (nf < 0)
            return slow(st, vaddr, access, e);
        memcpy(st->mem + ((uint64_t)nf << 12), st->mem + ((uint64_t)old << 12), 4096);
        st->refcount[old] -= 1; /* shared, so it stays above zero */
        *ptep = pte = ((uint32_t)nf << 12) | (pte & 0xFFFu & ~PTE_COW) | PTE_W | PTE_A | PTE_D;
        record(st, uc, FAULT_COW_COPY, va, old, (uint32_t)nf);
        return install(e, pte);
    }
    if (pte != 0 || !st->anon_ok || st->nfaults >= st->ring_cap || st->vmas_stale)
        return slow(st, vaddr, access, e);
    const uint32_t *v = find_vma(st, va);
    if (!v || (v[2] & (VMA_ANON | VMA_SHARED)) != VMA_ANON)
        return slow(st, vaddr, access, e);
    uint32_t prot = v[2] & 7;
    if (!prot || (write && !(prot & PROT_WRITE)) || (fetch && !(prot & PROT_EXEC)))
        return slow(st, vaddr, access, e); /* the Python path raises the SIGSEGV */
    int64_t nf = alloc_frame(st); /* do_anonymous_page */
    if (nf < 0)
        return slow(st, vaddr, access, e);
    memset(st->mem + ((uint64_t)nf << 12), 0, 4096);
    pte = ((uint32_t)nf << 12) | PTE_P | PTE_U | PTE_A;
    if (prot & PROT_WRITE)
        pte |= PTE_W | (write ? PTE_D : 0);
    if (!(prot & PROT_EXEC))
        pte |= PTE_NX;
    *ptep = pte;
    if (fetch)
        st->exec_bytes[nf] = 1;
    record(st, uc, FAULT_ZERO, va, 0, (uint32_t)nf);
    return install(e, pte);
}

static void hook_intr(uc_engine *uc, uint32_t intno, fp_state *st)
{
    if (intno == 0x80)
        st->reg_read_batch(uc, st->reg_ids, st->reg_ptrs, (int)st->nregs); /* SAVE_ALL */
    if (st->py_intr(intno) & 1)
        st->reg_write(uc, (int)st->reg_eax, &st->eax_out);
}

/* ---- exact counting by blocks ---------------------------------------------------------------------------- */

/* Physical address of a code byte of the running mm, or ~0 when it has no frame. */
static uint64_t code_paddr(const fp_state *st, uint32_t va)
{
    if (va >= TASK_SIZE) {
        for (int i = 0; i < 3; i++)
            if (st->special_frame[i] && (va & 0xFFFFF000u) == (uint64_t)st->special_va[i])
                return ((uint64_t)st->special_frame[i] << 12) | (va & 0xFFF);
        return ~(uint64_t)0;
    }
    const uint32_t *words = (const uint32_t *)st->mem;
    uint32_t pde = words[st->pgd * 1024 + (va >> 22)];
    if (!(pde & PTE_P))
        return ~(uint64_t)0;
    uint32_t pte = words[(uint64_t)(pde >> 12) * 1024 + ((va >> 12) & 1023)];
    if (!(pte & PTE_P))
        return ~(uint64_t)0;
    return (uint64_t)(pte & 0xFFFFF000u) | (va & 0xFFF);
}

/* Copy [va, va+len) of the running mm's code into buf; 0 when a page has no frame. */
static int read_code(const fp_state *st, uint32_t va, uint32_t len, uint8_t *buf)
{
    uint32_t done = 0;
    while (done < len) {
        uint64_t pa = code_paddr(st, va + done);
        if (pa == ~(uint64_t)0)
            return 0;
        uint32_t chunk = 4096 - ((va + done) & 0xFFF);
        if (chunk > len - done)
            chunk = len - done;
        memcpy(buf + done, st->mem + pa, chunk);
        done += chunk;
    }
    return 1;
}

/* How many whole instructions the len bytes at va hold (capstone stops at the first it cannot decode). */
static int64_t decode_count(fp_state *st, uint32_t va, uint32_t len)
{
    uint8_t buf[8192];
    if (len == 0)
        return 0;
    if (len > sizeof buf || !read_code(st, va, len, buf))
        return -1;
    void *insn = 0;
    size_t n = st->cs_disasm((size_t)st->cs_handle, buf, len, va, 0, &insn);
    if (insn)
        st->cs_free(insn, n);
    return (int64_t)n;
}

static int64_t block_insns(fp_state *st, uint32_t pc, uint32_t size)
{
    uint64_t pa = code_paddr(st, pc);
    if (pa == ~(uint64_t)0)
        return -1;
    uint64_t head = 0;
    memcpy(&head, st->mem + pa, (4096 - (pa & 0xFFF)) >= 8 ? 8 : 4096 - (pa & 0xFFF));
    uint64_t key = pa + 1, h = (pa * 0x9E3779B97F4A7C15ull) ^ size;
    for (int64_t probe = 0; probe < 16; probe++) {
        fp_block *b = st->blocks + ((h + (uint64_t)probe) & (uint64_t)st->blocks_mask);
        if (b->paddr == key && b->size == size && b->head == head)
            return b->n;
        if (b->paddr == 0 || (b->paddr == key && b->size == size)) {
            int64_t n = decode_count(st, pc, size);
            if (n < 0)
                return -1;
            st->blocks_decoded++;
            if (b->paddr == 0)
                st->blocks_used++;
            b->paddr = key;
            b->size = size;
            b->head = head;
            b->n = (uint32_t)n;
            return n;
        }
    }
    /* a crowded neighbourhood: forget every block and start again */
    memset(st->blocks, 0, (size_t)(st->blocks_mask + 1) * sizeof(fp_block));
    st->blocks_used = 0;
    return block_insns(st, pc, size);
}

static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, fp_state *st)
{
    if (st->stop_requested || !st->counting)
        return; /* the CPU stops at this block's start: it does not run */
    int64_t n = block_insns(st, (uint32_t)address, size);
    if (n < 0)
        n = 0; /* its code has no frame: the fetch faults and Python settles the count */
    st->blocks_run++;
    if (st->committed + n > st->budget) {
        st->budget_stop = 1;
        st->stop_pc = (int64_t)address;
        st->stop_size = size;
        st->stop_requested = 1;
        st->emu_stop(uc);
        return;
    }
    st->blk_base = st->committed;
    st->blk_pc = (int64_t)address;
    st->blk_size = size;
    st->committed += n;
}

/* Instructions of the last block entered that start before eip, or -1 when eip is not inside it. */
int64_t fp_index(fp_state *st, uint64_t eip)
{
    if (st->blk_size <= 0 || eip < (uint64_t)st->blk_pc || eip >= (uint64_t)(st->blk_pc + st->blk_size))
        return -1;
    return decode_count(st, (uint32_t)st->blk_pc, (uint32_t)(eip - (uint64_t)st->blk_pc));
}

/* The address after the first r instructions at pc (within len bytes), or 0 when they cannot be decoded. */
uint64_t fp_after(fp_state *st, uint64_t pc, uint32_t len, int64_t r)
{
    uint32_t lo = 0, hi = len; /* the smallest prefix that holds r whole instructions */
    if (decode_count(st, (uint32_t)pc, len) < r)
        return 0;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (decode_count(st, (uint32_t)pc, mid) >= r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return pc + lo;
}

/* Register the hooks with Unicorn; returns Unicorn's error code (0 for success). */
int fp_install(fp_state *st, uc_engine *uc, uc_hook_add_t hook_add, size_t *handles, int32_t tlb_fill_type,
               int32_t intr_type)
{
    int err = hook_add(uc, &handles[0], tlb_fill_type, (void *)hook_tlb_fill, st, 1, 0);
    if (!err)
        err = hook_add(uc, &handles[1], intr_type, (void *)hook_intr, st, 1, 0);
    return err;
}

/* Count instructions by blocks from now on (the caller runs emu_start without count=). */
int fp_install_block(fp_state *st, uc_engine *uc, uc_hook_add_t hook_add, size_t *handle, int32_t block_type)
{
    st->counting = 1;
    return hook_add(uc, handle, block_type, (void *)hook_block, st, 1, 0);
}

/* The gdb stub's code hook (emu/gdbstub.py): for every instruction it compares the address with the
 * breakpoints and calls back into Python only at one of them, or at every instruction while gdb steps. */
typedef void (*dbg_cb_t)(uint64_t address);
#define DBG_MAX_BPS 64
typedef struct {
    int64_t step;                /* 1: stop at the next instruction */
    int64_t nbps;                /* breakpoints in use */
    uint64_t bps[DBG_MAX_BPS];
    dbg_cb_t cb;
} fp_dbg;

static void hook_code_dbg(uc_engine *uc, uint64_t address, uint32_t size, fp_dbg *d)
{
    (void)uc;
    (void)size;
    if (!d->step) {
        int64_t i;
        for (i = 0; i < d->nbps; i++)
            if (d->bps[i] == address)
                break;
        if (i == d->nbps)
            return;
    }
    d->cb(address);
}

int fp_install_dbg(fp_dbg *d, uc_engine *uc, uc_hook_add_t hook_add, size_t *handle, int32_t code_type)
{
    return hook_add(uc, handle, code_type, (void *)hook_code_dbg, d, 1, 0);
}

int fp_dbg_size(void)
{
    return (int)sizeof(fp_dbg);
}

/* The layout version emu/fastpath.py checks, so that a stale build is never used with a newer mirror. */
int fp_abi(void)
{
    return (int)(sizeof(fp_state) / 8) * 100 + (int)sizeof(fp_fault);
}
