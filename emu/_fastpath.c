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
    int32_t summary;  /* the cycle model's summary of the block (cm_block index), -1: none, -2: not made yet */
    uint32_t runs;    /* executions the cycle model has priced (a block is summarized once it is hot) */
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

typedef struct cm_state cm_state;

typedef struct {
    uint32_t kind, vaddr, old, new_frame, eip, fills;
    uint64_t insns;
    uint64_t free_frames;   /* the pool's free frames once the fault was served (frames in use, for observers) */
    uint64_t cycles;        /* the cycle model's cycles not yet taken by Python, at the fault (fixed point) */
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
    cm_state *cm;           /* the cycle model (below), or 0 when blocks are not priced */
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

static int64_t cm_running(const cm_state *cm);

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
    r->cycles = st->cm ? (uint64_t)cm_running(st->cm) : 0;
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

void fp_cm_flush(fp_state *st, uint64_t eip, int64_t drain);

static void hook_intr(uc_engine *uc, uint32_t intno, fp_state *st)
{
    if (st->cm) { /* a kernel entry: what ran before it is priced and completes (eip: after int, at a fault) */
        uint64_t eip = 0;
        st->reg_read(uc, (int)st->reg_eip, &eip);
        fp_cm_flush(st, eip, 1);
    }
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

static int64_t cm_summarize(fp_state *st, uint32_t pc, uint32_t size);

/* The table entry of the block of size bytes at pc (decoded and, when the cycle model runs, summarized on first
 * sight), or 0 when its code has no frame. */
static fp_block *block_lookup(fp_state *st, uint32_t pc, uint32_t size)
{
    uint64_t pa = code_paddr(st, pc);
    if (pa == ~(uint64_t)0)
        return 0;
    uint64_t head = 0;
    memcpy(&head, st->mem + pa, (4096 - (pa & 0xFFF)) >= 8 ? 8 : 4096 - (pa & 0xFFF));
    uint64_t key = pa + 1, h = (pa * 0x9E3779B97F4A7C15ull) ^ size;
    for (int64_t probe = 0; probe < 16; probe++) {
        fp_block *b = st->blocks + ((h + (uint64_t)probe) & (uint64_t)st->blocks_mask);
        if (b->paddr == key && b->size == size && b->head == head)
            return b;
        if (b->paddr == 0 || (b->paddr == key && b->size == size)) {
            int64_t n = decode_count(st, pc, size);
            if (n < 0)
                return 0;
            st->blocks_decoded++;
            if (b->paddr == 0)
                st->blocks_used++;
            b->paddr = key;
            b->size = size;
            b->head = head;
            b->n = (uint32_t)n;
            b->summary = st->cm ? -2 : -1;
            b->runs = 0;
            return b;
        }
    }
    /* a crowded neighbourhood: forget every block and start again (summaries already made stay valid) */
    memset(st->blocks, 0, (size_t)(st->blocks_mask + 1) * sizeof(fp_block));
    st->blocks_used = 0;
    return block_lookup(st, pc, size);
}

static void cm_next(fp_state *st, uint64_t next_pc);
static void cm_enter(fp_state *st, uint64_t address, uint32_t size, fp_block *b);

static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, fp_state *st)
{
    if (st->stop_requested || (!st->counting && !st->cm))
        return; /* the CPU stops at this block's start: it does not run */
    if (st->cm)
        cm_next(st, address); /* the block before this one is priced now that its successor is known */
    fp_block *b = block_lookup(st, (uint32_t)address, size);
    if (st->counting) {
        int64_t n = b ? b->n : 0; /* no frame: the fetch faults and Python settles the count */
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
    if (st->cm)
        cm_enter(st, address, size, b);
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

/* ---- the cycle model ------------------------------------------------------------------------------------
 *
 * emu/cyclemodel.py summarizes each translated block once (capstone, with the latency table of emu/uarch/): how
 * long its instructions occupy the front end and ports (`issue`), and for every register, flag or memory slot it
 * writes, the latency from each value it reads (terms: out <- in + lat, or out <- block start + lat). Here, in the
 * block hook, the block entered last is priced when the next one is entered (so its successor, which says
 * whether its branch was taken, and the memory accesses it made are known):
 *   - a scoreboard of ready times per resource, carried from block to block, so loop-carried chains count;
 *   - the issue clock T advances by max(issue, the completion of the instructions a reorder buffer's length
 *     earlier): a chain longer than the issue time drags T along, independent work overlaps;
 *   - a gshare predictor over conditional branches, a branch target buffer for indirect jumps and calls, a
 *     return stack; a miss costs the table's misprediction penalty;
 *   - rep-string instructions (Unicorn runs one iteration per block) cost the table's per-element price, plus
 *     a start-up price at the first iteration;
 *   - when the memory model is on, a memory hook runs every data access through a TLB (two levels) and
 *     L1/L2/L3 caches (set-associative, LRU, physical lines); a load's latency beyond an L1 hit is added to the
 *     chains that pass through the block's loads.
 * Cycles are fixed point (CM_ONE per cycle) and everything is integer, so a run's figures are deterministic. */
#define CM_ONE 60
#define CM_NRES 22
#define CM_START 22
#define CM_FLAGS 8
#define CM_VIA_LOAD 0x100 /* a term's out: resource | loads on its path x CM_VIA_LOAD */
#define CM_RING 1024
enum { CM_PLAIN, CM_JCC, CM_JMP_IND, CM_RET, CM_CALL, CM_CALL_IND, CM_REP, CM_JMP };

typedef struct {
    int32_t n, issue, kind;
    uint32_t target, fall, bpc; /* jcc: taken target and fall-through; calls: the return address in fall */
    int32_t first, nterms;
    int32_t rep_cost, rep_start; /* rep string: fixed-point cycles per element and at the first element */
    /* what its executions priced in detail cost, by source (a running mean, 1/8 weight), for the slices the
     * model samples: there an execution is charged this instead of being priced again */
    int32_t have_cost, mem_per_load;
    int32_t cost[4]; /* pipeline, branch, memory, string; fixed point x 16 */
} cm_block;

typedef struct {
    int32_t out, in, lat;
} cm_term;

typedef struct {
    uint64_t *tags; /* sets x ways keys (line + 1); with LRU, most recently used first */
    int64_t sets, ways;
    int64_t random; /* replacement: 0 LRU, 1 a pseudo-random victim (deterministic) */
} cm_cache;

typedef int64_t (*py_block_t)(uint32_t pc, uint32_t size, const uint8_t *code);

struct cm_state {
    /* parameters, fixed point */
    int64_t rob, mispredict, taken, l2_extra, l3_extra, mem_extra, tlb2_extra, walk_extra;
    int64_t memory_on;
    int64_t detail; /* this slice is priced in detail (and with the memory model, its accesses watched) */
    int64_t cold, hot_after; /* a block's first hot_after executions cost cold per instruction (not summarized) */
    /* the summaries (emu/cyclemodel.py writes them) */
    cm_block *blk;
    cm_term *terms;
    py_block_t py_block;
    /* branch prediction */
    uint8_t *pht;
    int64_t pht_mask, hist_bits, ghist;
    uint32_t *btb;
    int64_t btb_mask;
    int64_t ras[32];
    int64_t ras_top;
    cm_cache l1, l2, l3, tlb1, tlb2;
    /* the pipeline */
    int64_t T;
    int64_t R[CM_NRES + 1]; /* ready times; R[CM_START] holds the issue clock while a block is evaluated */
    int64_t ring_insns[CM_RING], ring_done[CM_RING];
    int64_t ring_head, ring_tail, cum_insns, rob_floor;
    int64_t pending, pend_pc, pend_size; /* the block entered last (summary index, -1: none, -2: cold) */
    int64_t pend_n;
    fp_block *pend_blk;
    uint64_t victim; /* the random replacement's state */
    int64_t extra_sum, extra_loads;      /* its loads' latency beyond an L1 hit, and how many loads */
    int64_t last_rep_pc;
    /* cycles by source since Python last took them, fixed point */
    int64_t c_pipe, c_branch, c_mem, c_rep;
    /* event counts, cumulative */
    int64_t branches, mispredicts, indirect, indirect_miss, loads, stores, l1_miss, l2_miss, l3_miss, tlb1_miss,
        tlb2_miss, rep_elems, priced_blocks, cold_blocks, summarized, sampled_blocks;
};

static int64_t cm_running(const cm_state *cm)
{
    return cm->c_pipe + cm->c_branch + cm->c_mem + cm->c_rep;
}

static int64_t cm_summarize(fp_state *st, uint32_t pc, uint32_t size)
{
    uint8_t buf[8192];
    if (size == 0 || size > sizeof buf || !read_code(st, pc, size, buf))
        return -1;
    return st->cm->py_block(pc, size, buf);
}

/* Evaluate block b at issue clock T with the given extra load latency: the new ready times of what it writes
 * (in out, mask of resources written) and its completion. */
static int64_t cm_eval(cm_state *cm, const cm_block *b, int64_t T, int64_t extra, int64_t *out, uint32_t *mask)
{
    uint32_t m = 0;
    int64_t done = T + b->issue;
    const cm_term *t = cm->terms + b->first, *end = t + b->nterms;
    cm->R[CM_START] = T; /* a term from the block's start reads the issue clock like a resource */
    for (; t < end; t++) {
        int o = t->out & 0xFF;
        int64_t v = cm->R[t->in] + t->lat + (t->out >> 8) * extra;
        uint32_t bit = 1u << o;
        if (!(m & bit) || v > out[o]) {
            out[o] = v;
            m |= bit;
        }
    }
    for (uint32_t r = m; r; r &= r - 1) {
        int o = __builtin_ctz(r);
        if (out[o] > done)
            done = out[o];
    }
    *mask = m;
    return done;
}

static void cm_ras_push(cm_state *cm, int64_t addr)
{
    cm->ras[cm->ras_top & 31] = addr;
    cm->ras_top++;
}

/* Did the predictors guess where block b went (to next_pc)? Updates them. */
static int cm_predicted(cm_state *cm, const cm_block *b, uint64_t next_pc)
{
    uint32_t next = (uint32_t)next_pc;
    switch (b->kind) {
    case CM_JCC: {
        int taken;
        if (next == b->target)
            taken = 1;
        else if (next == b->fall)
            taken = 0;
        else
            return 1; /* left another way (an interrupt): nothing to learn */
        uint64_t i = ((uint64_t)b->bpc ^ ((uint64_t)b->bpc >> 13) ^ (uint64_t)cm->ghist) & (uint64_t)cm->pht_mask;
        int ctr = cm->pht[i], guess = ctr >= 2;
        cm->pht[i] = (uint8_t)(taken ? (ctr < 3 ? ctr + 1 : 3) : (ctr > 0 ? ctr - 1 : 0));
        cm->ghist = ((cm->ghist << 1) | taken) & ((1 << cm->hist_bits) - 1);
        cm->branches++;
        return guess == taken;
    }
    case CM_CALL:
        cm_ras_push(cm, b->fall);
        return 1;
    case CM_RET: {
        cm->indirect++;
        if (cm->ras_top <= 0)
            return 0;
        cm->ras_top--;
        return cm->ras[cm->ras_top & 31] == (int64_t)next;
    }
    case CM_JMP_IND:
    case CM_CALL_IND: {
        cm->indirect++;
        if (b->kind == CM_CALL_IND)
            cm_ras_push(cm, b->fall);
        uint64_t i = ((uint64_t)b->bpc ^ ((uint64_t)b->bpc >> 11)) & (uint64_t)cm->btb_mask;
        int hit = cm->btb[i] == next;
        cm->btb[i] = next;
        return hit;
    }
    default:
        return 1;
    }
}

/* Price block idx (entered at pc), whose successor is next_pc when have_next. */
static void cm_charge(cm_state *cm, cm_block *b, int64_t pipe, int64_t branch, int64_t mem, int64_t rep)
{
    if (!cm->detail)
        return;
    int64_t v[4] = {pipe, branch, mem, rep};
    if (!b->have_cost) {
        for (int i = 0; i < 4; i++)
            b->cost[i] = (int32_t)(v[i] * 16);
        b->have_cost = 1;
    } else { /* x16, so that the 1/8 steps do not stick at a remainder */
        for (int i = 0; i < 4; i++)
            b->cost[i] += (int32_t)((v[i] * 16 - b->cost[i]) / 8);
    }
}

static void cm_price(cm_state *cm, int64_t idx, int64_t pc, uint64_t next_pc, int have_next)
{
    cm_block *b = cm->blk + idx;
    int64_t T = cm->T;
    if (!cm->detail && b->have_cost && b->kind != CM_REP) {
        /* a sampled-out slice: what this block cost, on average, when it was last priced in detail */
        int64_t p = (b->cost[0] + 8) >> 4, br = (b->cost[1] + 8) >> 4, m = (b->cost[2] + 8) >> 4;
        cm->T = T + p + br + m;
        cm->c_pipe += p;
        cm->c_branch += br;
        cm->c_mem += m;
        cm->cum_insns += b->n;
        cm->sampled_blocks++;
        return;
    }
    cm->priced_blocks++;
    if (b->kind == CM_REP) {
        int64_t c = b->rep_cost + (cm->last_rep_pc != pc ? b->rep_start : 0);
        cm->last_rep_pc = pc;
        cm->T = T + c;
        cm->c_rep += c;
        cm->rep_elems++;
        cm->cum_insns += 1;
        return;
    }
    cm->last_rep_pc = -1;
    int64_t out[CM_NRES];
    uint32_t mask;
    /* the loads' mean latency beyond an L1 hit, per load on a path: measured in a slice the memory model watches,
     * else the block's mean from the last one that did */
    int64_t extra = cm->extra_loads ? cm->extra_sum / cm->extra_loads : (cm->detail ? 0 : b->mem_per_load);
    if (cm->extra_loads)
        b->mem_per_load += (int32_t)((extra - b->mem_per_load) / 4);
    int64_t done = cm_eval(cm, b, T, extra, out, &mask);
    /* the reorder buffer: this block dispatches only once the instructions rob earlier have completed */
    cm->cum_insns += b->n;
    while (cm->ring_tail < cm->ring_head && cm->ring_insns[cm->ring_tail % CM_RING] <= cm->cum_insns - cm->rob) {
        if (cm->ring_done[cm->ring_tail % CM_RING] > cm->rob_floor)
            cm->rob_floor = cm->ring_done[cm->ring_tail % CM_RING];
        cm->ring_tail++;
    }
    if (cm->ring_head - cm->ring_tail >= CM_RING)
        cm->ring_tail++; /* a long run of tiny blocks: the oldest is forgotten */
    cm->ring_insns[cm->ring_head % CM_RING] = cm->cum_insns;
    cm->ring_done[cm->ring_head % CM_RING] = done;
    cm->ring_head++;
    int64_t Tn = T + b->issue;
    /* the front end follows at most one taken branch a cycle */
    if (b->kind != CM_PLAIN && T + cm->taken > Tn && (b->kind != CM_JCC || (have_next && next_pc == b->target)))
        Tn = T + cm->taken;
    if (cm->rob_floor > Tn)
        Tn = cm->rob_floor;
    int64_t mem = 0;
    if (extra > 0) { /* what the block would have cost had its loads hit L1: the rest is the memory's */
        int64_t out0[CM_NRES];
        uint32_t mask0;
        cm_eval(cm, b, T, 0, out0, &mask0);
        int64_t chain = 0, chain0 = 0;
        for (uint32_t r = mask; r; r &= r - 1) {
            int o = __builtin_ctz(r);
            if (out[o] - cm->R[o] > chain)
                chain = out[o] - cm->R[o];
            if (out0[o] - cm->R[o] > chain0)
                chain0 = out0[o] - cm->R[o];
        }
        mem = chain > chain0 ? chain - chain0 : 0;
    }
    for (uint32_t r = mask; r; r &= r - 1) {
        int o = __builtin_ctz(r);
        cm->R[o] = out[o];
    }
    int64_t adv = Tn - T, branch = 0;
    if (mem > adv)
        mem = adv;
    cm->c_mem += mem;
    cm->c_pipe += adv - mem;
    if (have_next && !cm_predicted(cm, b, next_pc)) {
        /* the front end restarts once the branch has resolved: its condition (the flags) is ready */
        int64_t resolve = b->kind == CM_JCC && cm->R[CM_FLAGS] > Tn ? cm->R[CM_FLAGS] : Tn, pen;
        if (b->kind == CM_JCC)
            cm->mispredicts++;
        else
            cm->indirect_miss++;
        pen = resolve - Tn + cm->mispredict;
        Tn += pen;
        cm->c_branch += pen;
        branch = pen;
    }
    cm_charge(cm, b, adv - mem, branch, mem, 0);
    cm->T = Tn;
}

/* A block not yet hot: n instructions at the table's cold price each (no chains, no prediction). */
static void cm_cold(cm_state *cm, int64_t n)
{
    int64_t c = n * cm->cold;
    cm->T += c;
    cm->c_pipe += c;
    cm->cum_insns += n;
    cm->cold_blocks++;
    cm->last_rep_pc = -1;
}

static void cm_price_pending(cm_state *cm, uint64_t next_pc, int have_next)
{
    if (cm->pending >= 0)
        cm_price(cm, cm->pending, cm->pend_pc, next_pc, have_next);
    else if (cm->pending == -2)
        cm_cold(cm, cm->pend_n);
    cm->pending = -1;
}

static void cm_next(fp_state *st, uint64_t next_pc)
{
    cm_state *cm = st->cm;
    cm_price_pending(cm, next_pc, 1);
    cm->pend_size = 0; /* priced: nothing is left for a flush (the next block may be refused) */
    cm->pend_blk = 0;
}

/* How an execution of b is priced: -2 cold (its first hot_after executions), else its summary (made now, once). */
static int64_t cm_how(fp_state *st, fp_block *b, uint32_t pc)
{
    cm_state *cm = st->cm;
    b->runs++;
    if (b->runs <= (uint64_t)cm->hot_after)
        return -2;
    if (b->summary == -2) {
        b->summary = -1; /* (a pool reset inside cm_summarize clears the table: b is re-filled below) */
        int32_t idx = (int32_t)cm_summarize(st, pc, b->size);
        b->summary = idx;
        cm->summarized++;
    }
    return b->summary >= 0 ? b->summary : -2;
}

static void cm_enter(fp_state *st, uint64_t address, uint32_t size, fp_block *b)
{
    cm_state *cm = st->cm;
    cm->pending = b ? cm_how(st, b, (uint32_t)address) : -1;
    cm->pend_n = b ? b->n : 0;
    cm->pend_blk = b;
    cm->pend_pc = (int64_t)address;
    cm->pend_size = size;
    cm->extra_sum = cm->extra_loads = 0;
}

/* Wait for everything in flight: the issue clock catches up with every ready time (a kernel entry, rdtsc). */
static void cm_drain(cm_state *cm)
{
    int64_t T = cm->T;
    for (int o = 0; o < CM_NRES; o++)
        if (cm->R[o] > T)
            T = cm->R[o];
    for (int64_t i = cm->ring_tail; i < cm->ring_head; i++)
        if (cm->ring_done[i % CM_RING] > T)
            T = cm->ring_done[i % CM_RING];
    if (cm->rob_floor > T)
        T = cm->rob_floor;
    cm->c_pipe += T - cm->T;
    cm->T = T;
    cm->ring_tail = cm->ring_head;
    cm->rob_floor = T;
}

/* The CPU stopped with eip next: price the block entered last (only the part of it before eip, when it was left
 * in the middle), and with drain, let everything in flight complete. */
void fp_cm_flush(fp_state *st, uint64_t eip, int64_t drain)
{
    cm_state *cm = st->cm;
    if (!cm)
        return;
    if (cm->pend_size) {
        uint64_t pc = (uint64_t)cm->pend_pc, end = pc + (uint64_t)cm->pend_size;
        if (eip > pc && eip < end) {
            /* left in the middle: the prefix ran, priced as a block of its own (as the block Unicorn translates
             * for it when the native counter stops a slice there), and the whole block did not run */
            if (cm->pend_blk)
                cm->pend_blk->runs--;
            cm->pending = -1;
            fp_block *p = block_lookup(st, (uint32_t)pc, (uint32_t)(eip - pc));
            if (p) {
                cm->pending = cm_how(st, p, (uint32_t)pc);
                cm->pend_n = p->n;
                cm_price_pending(cm, eip, 0);
            }
        } else if (eip != pc) {
            cm_price_pending(cm, eip, 1);
        } else if (cm->pend_blk) {
            cm->pend_blk->runs--; /* eip == pc: the block did not run at all (a fetch fault at its start) */
        }
    }
    cm->pending = -1;
    cm->pend_blk = 0;
    cm->pend_size = 0;
    cm->extra_sum = cm->extra_loads = 0;
    if (drain)
        cm_drain(cm);
}

static int cm_access(cm_state *cm, cm_cache *c, uint64_t line)
{
    uint64_t key = line + 1;
    uint64_t *t = c->tags + (line & (uint64_t)(c->sets - 1)) * (uint64_t)c->ways;
    if (t[0] == key)
        return 1;
    if (c->random) {
        for (int64_t i = 1; i < c->ways; i++)
            if (t[i] == key)
                return 1;
        cm->victim = cm->victim * 6364136223846793005ull + 1442695040888963407ull;
        t[(cm->victim >> 33) % (uint64_t)c->ways] = key;
        return 0;
    }
    for (int64_t i = 1; i < c->ways; i++)
        if (t[i] == key) {
            memmove(t + 1, t, (size_t)i * 8);
            t[0] = key;
            return 1;
        }
    memmove(t + 1, t, (size_t)(c->ways - 1) * 8);
    t[0] = key;
    return 0;
}

static void hook_mem(uc_engine *uc, int type, uint64_t addr, int size, int64_t value, fp_state *st)
{
    (void)uc;
    (void)size;
    (void)value;
    cm_state *cm = st->cm;
    if (st->stop_requested)
        return; /* after the CPU was asked to stop: what still runs is not the guest's (see hook_block) */
    int64_t extra = 0;
    uint32_t va = (uint32_t)addr;
    if (!cm_access(cm, &cm->tlb1, va >> 12)) {
        cm->tlb1_miss++;
        if (!cm_access(cm, &cm->tlb2, va >> 12)) {
            cm->tlb2_miss++;
            extra += cm->walk_extra;
        } else {
            extra += cm->tlb2_extra;
        }
    }
    uint64_t pa = code_paddr(st, va);
    uint64_t line = (pa == ~(uint64_t)0 ? (uint64_t)va : pa) >> 6;
    if (!cm_access(cm, &cm->l1, line)) {
        cm->l1_miss++;
        if (!cm_access(cm, &cm->l2, line)) {
            cm->l2_miss++;
            if (!cm_access(cm, &cm->l3, line)) {
                cm->l3_miss++;
                extra += cm->mem_extra;
            } else {
                extra += cm->l3_extra;
            }
        } else {
            extra += cm->l2_extra;
        }
    }
    if (type == st->access_write) {
        cm->stores++;
        return; /* a store retires into the store buffer: its miss does not stall the chains */
    }
    cm->loads++;
    cm->extra_sum += extra;
    cm->extra_loads++;
}

/* Price blocks from now on (and with the memory model, watch every data access). */
int fp_install_cm(fp_state *st, cm_state *cm, uc_engine *uc, uc_hook_add_t hook_add, size_t *handles,
                  int32_t block_type, int32_t mem_type, int64_t have_block_hook)
{
    st->cm = cm;
    cm->pending = -1;
    cm->last_rep_pc = -1;
    int err = 0;
    if (!have_block_hook)
        err = hook_add(uc, &handles[0], block_type, (void *)hook_block, st, 1, 0);
    (void)mem_type; /* the memory hook is added and removed per slice (fp_cm_memory) */
    return err;
}

typedef int (*uc_hook_del_t)(uc_engine *, size_t);

/* Watch data accesses (on) or stop (off): the memory model runs in the slices the cycle model prices in detail. */
int fp_cm_memory(fp_state *st, uc_engine *uc, uc_hook_add_t hook_add, uc_hook_del_t hook_del, size_t *handle,
                 int32_t mem_type, int64_t on)
{
    if (on && !*handle)
        return hook_add(uc, handle, mem_type, (void *)hook_mem, st, 1, 0);
    if (!on && *handle) {
        int err = hook_del(uc, *handle);
        *handle = 0;
        return err;
    }
    return 0;
}

int fp_cm_size(void)
{
    return (int)sizeof(cm_state) * 1000 + (int)sizeof(cm_block) * 10 + (int)sizeof(cm_term) / 4;
}

/* The host's CPUID leaf (subleaf sub), into out[4]; 0 when this is not an x86 host. */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
int fp_host_cpuid(uint32_t leaf, uint32_t sub, uint32_t *out)
{
#if defined(__x86_64__) || defined(__i386__)
    __cpuid_count(leaf, sub, out[0], out[1], out[2], out[3]);
    return 1;
#else
    (void)leaf;
    (void)sub;
    out[0] = out[1] = out[2] = out[3] = 0;
    return 0;
#endif
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
