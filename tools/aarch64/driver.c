/* A freestanding AArch64 Linux program that runs the machine code the LLVM tier emits for
 * AArch64 (wasm2py.llvm.emit_object) and reports what it did, for the differential tests
 * in tests/test_aarch64.py (see tools/aarch64/README.md).
 *
 * It implements the runtime side of the native ABI (wasm2py/llvm/abi.py) in C: the runtime
 * struct with the trap status, stack limit, fuel and trap trace; one instance's context with
 * its memory, globals, tables, segments, funcref records and callbacks; and host functions
 * reached through the module's own trampolines, which call a recording stub.
 *
 * No libc: system calls by number (the kernel's generic table: read 63, write 64, mmap 222,
 * exit_group 94). Everything instance-specific arrives on stdin as 64-bit words built by
 * tools/aarch64/harness.py (the layout is described there); the results go to stdout in the
 * same form. The slot numbers, status codes and struct offsets come from abi.h, generated from
 * abi.py, so this file follows the Python side without edits.
 */
#include "abi.h"

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;

/* -- the module's side, from the glue object the harness emits next to it ---------------- */
typedef void (*entry_fn)(u64 *ctx, i32 rem, u64 *slots);
extern const entry_fn w2p_entries[];   /* entry wrapper of each defined function */
extern void *const *const w2p_functable;   /* native function of each defined function */
extern void *const *const w2p_tramptable;  /* host trampoline of each type */
extern void *const *const w2p_bodytable;   /* body of each defined function (null: none) */

/* -- system calls ---------------------------------------------------------------------------- */
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

static __attribute__((noreturn)) void exit_group(int status) {
    for (;;) sys6(94, status, 0, 0, 0, 0, 0);
}

/* A broken input or a resource the guest cannot get: say which on stderr, exit with 2. */
static __attribute__((noreturn)) void fail(const char *why) {
    u64 n = 0;
    while (why[n]) n++;
    sys6(64, 2, (long)"driver: ", 8, 0, 0, 0);
    sys6(64, 2, (long)why, (long)n, 0, 0, 0);
    sys6(64, 2, (long)"\n", 1, 0, 0, 0);
    exit_group(2);
}

/* Zeroed memory that is only committed when touched (memories and tables reserve their maximum
 * up front, as the runtime does, so their base never moves). */
static void *reserve(u64 n) {
    if (n == 0) n = 8;
    n = (n + 4095) & ~4095UL;
    long p = sys6(222, 0, (long)n, 3 /* RW */, 0x22 | 0x4000 /* PRIVATE|ANON|NORESERVE */,
                  -1, 0);
    if (p < 0 && p > -4096) fail("mmap failed");
    return (void *)p;
}

/* The compiler lowers memory.fill/copy/init and table.copy/init to these calls. (Built with
 * -ffreestanding, which keeps clang from turning the loops back into calls to themselves.) */
void *memset(void *d, int c, u64 n) {
    u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, u64 n) {
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, u64 n) {
    u8 *p = d;
    const u8 *q = s;
    if (p < q) {
        while (n--) *p++ = *q++;
    } else {
        while (n--) p[n] = q[n];
    }
    return d;
}

/* -- input and output ------------------------------------------------------------------------ */
static u64 *in;
static u64 in_pos, in_words;

static u64 next(void) {
    if (in_pos >= in_words) fail("input ends early");
    return in[in_pos++];
}

/* The input starts with its length in words (after the magic). */
static void read_all(u8 *buf, u64 n) {
    while (n) {
        long r = sys6(63, 0, (long)buf, (long)n, 0, 0, 0);
        if (r <= 0) fail("cannot read the input");
        buf += r;
        n -= (u64)r;
    }
}

static void read_input(void) {
    u64 head[2];
    read_all((u8 *)head, sizeof head);
    if (head[0] != 0x3436686372616177UL) fail("bad input magic");
    in_words = head[1];
    in = reserve(in_words * 8);
    read_all((u8 *)in, in_words * 8);
}

static u64 out_buf[4096];
static u64 out_n;

static void flush(void) {
    u8 *p = (u8 *)out_buf;
    u64 left = out_n * 8;
    while (left) {
        long w = sys6(64, 1, (long)p, (long)left, 0, 0, 0);
        if (w <= 0) fail("cannot write the output");
        p += w;
        left -= (u64)w;
    }
    out_n = 0;
}

static void put(u64 w) {
    if (out_n == sizeof out_buf / sizeof out_buf[0]) flush();
    out_buf[out_n++] = w;
}

/* -- the runtime and the instance ------------------------------------------------------------ */
enum { K_I32, K_I64, K_F32, K_F64, K_V128, K_FUNCREF, K_EXTERNREF };
enum { OUT_MAGIC = 0x3436686372616177UL, OUT_HOST = 1, OUT_CALL = 2, OUT_END = 3 };

static u64 rt[W2P_RT_SLOTS];
static u64 trace[2 + 2 * (W2P_TRACE_FRAMES + 1)];
static u64 *ctx, ctx_size;
static u64 *records;
static u64 nfuncs;

/* A zeroed area that grows in place up to a limit. Memories and tables reserve 64 MiB beyond
 * their size and extend the reservation when they grow past it: qemu keeps flags per guest
 * page, so reserving a 4 GiB maximum up front (as the runtime does) costs 50 ms per program.
 * Each area starts at an address of its own (``hint``) far from everything else, so there is
 * room to extend it; if that address is taken, the area reserves its whole limit anywhere. */
struct area {
    u8 *base;
    u64 reserved, limit, hint;
};

#define SLACK (64UL << 20)
#define MAP_FIXED_NOREPLACE 0x100000

static long map_at(u64 addr, u64 n) {
    return sys6(222, (long)addr, (long)n, 3, 0x22 | 0x4000 | MAP_FIXED_NOREPLACE, -1, 0);
}

static void area_fit(struct area *a, u64 bytes) {
    if (a->base && bytes <= a->reserved) return;
    u64 more = bytes > a->reserved ? bytes - a->reserved : 0;
    if (more < SLACK) more = SLACK;
    if (a->reserved + more > a->limit) more = a->limit - a->reserved;
    more = (more + 4095) & ~4095UL;
    if (!a->base) {
        if (more && map_at(a->hint, more) == (long)a->hint) {
            a->base = (u8 *)a->hint;
        } else {
            more = (a->limit + 4095) & ~4095UL;
            a->base = reserve(more);
        }
    } else if (more) {
        u64 want = (u64)a->base + a->reserved;
        if (map_at(want, more) != (long)want) fail("cannot extend a reservation in place");
    }
    a->reserved += more;
}

/* Memories: memory k's (base, byte size) live in the context slots the input names
 * (abi.Layout.memory_slots), so the driver follows the ABI's slot assignment without knowing it. */
#define MAX_MEMORIES 16
static u64 nmems;
static struct area marea[MAX_MEMORIES];
static u64 mem_pages[MAX_MEMORIES], mem_max[MAX_MEMORIES], mem_size_slot[MAX_MEMORIES];

#define MAX_TABLES 64
static u64 ntables;
static u64 *tdesc[MAX_TABLES];
static struct area tarea[MAX_TABLES];

#define MAX_GLOBALS 1024
static u64 nglobals;
static u64 *gcells[MAX_GLOBALS];

#define MAX_IMPORTS 256
#define MAX_RESULTS 16
static u64 nimp;
static u64 imp_params[MAX_IMPORTS];   /* parameter slots */
static u64 imp_nres[MAX_IMPORTS];
static u64 imp_kinds[MAX_IMPORTS][MAX_RESULTS];
static u64 imp_calls[MAX_IMPORTS];

/* A reference from the input (funcref: function index + 1, externref: handle; 0 is null) as
 * jitted code holds it (funcref: the address of the function's record). */
static u64 ref_in(u64 kind, u64 v) {
    if (kind == K_FUNCREF && v) {
        if (v > nfuncs) fail("funcref index out of range");
        return (u64)(records + W2P_REC_WORDS * (v - 1));
    }
    return v;
}

/* memory.grow of memory k (delta in pages, i64 for memory64 and zero-extended for memory32):
 * the old size in pages, or -1. */
static i64 memory_grow(u64 *c, u32 k, u64 delta) {
    if (k >= nmems) fail("memory.grow of a memory the input did not give");
    u64 old = mem_pages[k];
    if (delta > mem_max[k] || old + delta > mem_max[k]) return -1;
    area_fit(&marea[k], (old + delta) * 65536);
    mem_pages[k] = old + delta;
    c[mem_size_slot[k]] = mem_pages[k] * 65536;
    return (i64)old;
}

static i64 table_grow(u64 *c, u32 t, u64 init, u64 delta) {
    (void)c;
    u64 *d = tdesc[t];
    u64 old = d[W2P_TAB_SIZE];
    if (delta > d[W2P_TAB_MAX] || old + delta > d[W2P_TAB_MAX]) return -1;
    area_fit(&tarea[t], (old + delta) * 8);
    u64 *e = (u64 *)d[W2P_TAB_ENTRIES];
    for (u64 k = 0; k < delta; k++) e[old + k] = init;
    d[W2P_TAB_SIZE] = old + delta;
    return (i64)old;
}

/* Jitted code wrote table entries: the runtime copies them to the Python tier's list; here the
 * native table is the only one. */
static void table_sync(u64 *c, u32 t, u64 start, u64 n) {
    (void)c; (void)t; (void)start; (void)n;
}

/* Exceptions. An exnref is the address of a record [tag index, slot count, slots*] in a bump
 * area (never freed: a run is short). Per tag of the module: its uid (what try_table compares,
 * the runtime's, so an imported tag matches its exporter's) and its parameters' slot count. */
#define MAX_TAGS 256
static u64 ntags, tag_uid[MAX_TAGS], tag_nslots[MAX_TAGS];
static struct area exn_area;
static u64 exn_used;

/* throw (tag >= 0: a new exception with the values in slots) and throw_ref (tag -1: the exnref
 * in slots[0]): start unwinding, as NativeRuntime.start_unwinding does. */
static void throw_exn(u64 *c, i32 tag, u64 *s) {
    u64 *rec;
    if (tag < 0) {
        rec = (u64 *)s[0];
    } else {
        if ((u64)tag >= ntags) fail("throw of a tag the input did not give");
        u64 n = tag_nslots[tag];
        area_fit(&exn_area, exn_used + (2 + n) * 8);
        rec = (u64 *)(exn_area.base + exn_used);
        exn_used += (2 + n) * 8;
        rec[0] = (u64)tag;
        rec[1] = n;
        for (u64 j = 0; j < n; j++) rec[2 + j] = s[j];
    }
    u64 *r = (u64 *)c[W2P_CTX_RT];
    r[W2P_RT_EXN] = (u64)rec;
    r[W2P_RT_EXN_TAG] = tag_uid[rec[0]];
    r[W2P_RT_TRAP] = W2P_EXCEPTION;
}

/* A catch clause with values: the caught exception's values into slots. */
static void catch_exn(u64 *c, u64 handle, u64 *s) {
    (void)c;
    u64 *rec = (u64 *)handle;
    for (u64 j = 0; j < rec[1]; j++) s[j] = rec[2 + j];
}

/* Declared subtyping between the module's types (call_indirect of a non-final type): the pairs
 * (sub, super) of distinct type ids, from the input. */
#define MAX_SUBS 65536
static u64 nsubs, subs[MAX_SUBS][2];

static i32 type_sub(u64 a, u64 b) {
    if (a == b) return 1;
    for (u64 k = 0; k < nsubs; k++)
        if (subs[k][0] == a && subs[k][1] == b) return 1;
    return 0;
}

/* The result generator of host functions, shared with harness.host_result (splitmix64). */
static u64 mix(u64 x) {
    x += 0x9E3779B97F4A7C15UL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
    return x ^ (x >> 31);
}

static u64 host_word(u64 k, u64 n, u64 j) { return mix((k << 40) ^ (n << 8) ^ j); }

/* Every imported function: the module's trampoline for its type spills the arguments into
 * ``slots`` and calls this with the environment [rt, callback, import index]. It logs the call
 * and answers with values that depend only on (import, call number, result position). */
static void host_call(u64 *env, i32 rem, u64 *slots) {
    (void)rem;
    u64 k = env[2];
    u64 n = imp_calls[k]++;
    put(OUT_HOST);
    put(k);
    put(imp_params[k]);
    for (u64 j = 0; j < imp_params[k]; j++) put(slots[j]);
    u64 s = 0;
    for (u64 j = 0; j < imp_nres[k]; j++) {
        u64 v = host_word(k, n, j);
        switch (imp_kinds[k][j]) {
        case K_I32: slots[s++] = v & 0xFFFFFFFFUL; break;
        case K_I64: slots[s++] = v; break;
        case K_F32: slots[s++] = v & 0xFF7FFFFFUL; break;             /* never inf/NaN */
        case K_F64: slots[s++] = v & 0xFFEFFFFFFFFFFFFFUL; break;
        case K_V128: slots[s++] = v; slots[s++] = host_word(k, n, j + 128); break;
        default: slots[s++] = 0; break;                                 /* null refs */
        }
    }
}

static void setup(u64 sp) {
    ctx_size = next();
    ctx = reserve(ctx_size * 8);
    ctx[W2P_CTX_RT] = (u64)rt;
    rt[W2P_RT_TRACE] = (u64)trace;
    /* the NaN rule: jitted code loads the canonical NaNs from here (see abi.RT_NAN_F32) */
    rt[W2P_RT_NAN_F32] = W2P_CANON_NAN_F32;
    rt[W2P_RT_NAN_F64] = W2P_CANON_NAN_F64;
    u64 stack_size = next();
    rt[W2P_RT_STACK_LIMIT] = sp - stack_size + W2P_STACK_MARGIN;
    ctx[W2P_CTX_MEM_GROW] = (u64)memory_grow;
    ctx[W2P_CTX_TABLE_GROW] = (u64)table_grow;
    ctx[W2P_CTX_TABLE_SYNC] = (u64)table_sync;
    ctx[W2P_CTX_THROW] = (u64)throw_exn;
    ctx[W2P_CTX_CATCH] = (u64)catch_exn;
    ctx[W2P_CTX_TYPE_SUB] = (u64)type_sub;
    /* types */
    for (u64 n = next(); n; n--) {
        u64 slot = next();
        ctx[slot] = next();
    }
    /* functions: imports first (through the trampoline of their type), then defined ones */
    nfuncs = next();
    nimp = next();
    if (nimp > MAX_IMPORTS) fail("too many imported functions");
    records = reserve(nfuncs * W2P_REC_WORDS * 8);
    ctx[W2P_CTX_FUNCREFS] = (u64)records;
    ctx[W2P_CTX_BODIES] = (u64)w2p_bodytable;
    for (u64 k = 0; k < nimp; k++) {
        u64 typeidx = next(), tid = next(), fslot = next(), eslot = next();
        imp_params[k] = next();
        imp_nres[k] = next();
        if (imp_nres[k] > MAX_RESULTS) fail("too many results");
        for (u64 j = 0; j < imp_nres[k]; j++) imp_kinds[k][j] = next();
        u64 *env = reserve(3 * 8);
        env[W2P_ENV_RT] = (u64)rt;
        env[W2P_ENV_CALLBACK] = (u64)host_call;
        env[2] = k;
        u64 *rec = records + W2P_REC_WORDS * k;
        rec[W2P_REC_TYPE] = tid;
        rec[W2P_REC_FN] = (u64)w2p_tramptable[typeidx];
        rec[W2P_REC_ENV] = (u64)env;
        ctx[fslot] = rec[W2P_REC_FN];
        ctx[eslot] = rec[W2P_REC_ENV];
    }
    for (u64 i = nimp; i < nfuncs; i++) {
        u64 *rec = records + W2P_REC_WORDS * i;
        rec[W2P_REC_TYPE] = next();
        rec[W2P_REC_FN] = (u64)w2p_functable[i - nimp];
        rec[W2P_REC_ENV] = (u64)ctx;
    }
    /* memories: per memory its (base, size) slots, size, maximum, then the non-zero 4 KiB
     * pages. Each reserves at an address of its own: memory 0 at 256 GiB, below the tables'
     * (320 GiB on), memory k > 0 at k TiB, above them. */
    nmems = next();
    if (nmems > MAX_MEMORIES) fail("too many memories");
    for (u64 k = 0; k < nmems; k++) {
        u64 base_slot = next(), size_slot = next();
        mem_pages[k] = next();
        mem_max[k] = next();
        mem_size_slot[k] = size_slot;
        marea[k].limit = mem_max[k] * 65536;
        marea[k].hint = k ? 0x10000000000UL * k : 0x4000000000UL;
        area_fit(&marea[k], mem_pages[k] * 65536);
        u8 *mem = marea[k].base;
        for (u64 n = next(); n; n--) {
            u64 *page = (u64 *)(mem + 4096 * next());
            for (int w = 0; w < 512; w++) page[w] = next();
        }
        ctx[base_slot] = (u64)mem;
        ctx[size_slot] = mem_pages[k] * 65536;
    }
    /* globals: 16-byte cells */
    nglobals = next();
    if (nglobals > MAX_GLOBALS) fail("too many globals");
    for (u64 g = 0; g < nglobals; g++) {
        u64 slot = next(), kind = next();
        u64 *cell = reserve(16);
        cell[0] = ref_in(kind, next());
        cell[1] = next();
        ctx[slot] = (u64)cell;
        gcells[g] = cell;
    }
    /* tables: descriptor [entries, size, max], the entries reserved up to the maximum */
    ntables = next();
    if (ntables > MAX_TABLES) fail("too many tables");
    for (u64 t = 0; t < ntables; t++) {
        u64 slot = next(), kind = next(), size = next(), max = next();
        u64 *d = reserve(3 * 8);
        tarea[t].limit = max * 8;
        tarea[t].hint = 0x5000000000UL + (t << 33);
        area_fit(&tarea[t], size * 8);
        u64 *e = (u64 *)tarea[t].base;
        for (u64 i = 0; i < size; i++) e[i] = ref_in(kind, next());
        d[W2P_TAB_ENTRIES] = (u64)e;
        d[W2P_TAB_SIZE] = size;
        d[W2P_TAB_MAX] = max;
        tdesc[t] = d;
        ctx[slot] = (u64)d;
    }
    /* data segments: (pointer, length) */
    for (u64 n = next(); n; n--) {
        u64 pslot = next(), lslot = next(), len = next();
        u64 *p = reserve(len);
        for (u64 w = 0; w < (len + 7) / 8; w++) p[w] = next();
        ctx[pslot] = (u64)p;
        ctx[lslot] = len;
    }
    /* element segments: (pointer, length) of encoded references */
    for (u64 n = next(); n; n--) {
        u64 pslot = next(), lslot = next(), kind = next(), len = next();
        u64 *p = reserve(len * 8);
        for (u64 i = 0; i < len; i++) p[i] = ref_in(kind, next());
        ctx[pslot] = (u64)p;
        ctx[lslot] = len;
    }
    /* tags: (uid slot, uid, parameter slots) */
    ntags = next();
    if (ntags > MAX_TAGS) fail("too many tags");
    for (u64 k = 0; k < ntags; k++) {
        u64 slot = next();
        tag_uid[k] = next();
        tag_nslots[k] = next();
        ctx[slot] = tag_uid[k];
    }
    exn_area.limit = 1UL << 30;
    exn_area.hint = 0xF000000000UL; /* between the tables and memory 1 */
    /* subtyping: (sub, super) pairs */
    nsubs = next();
    if (nsubs > MAX_SUBS) fail("too many subtype pairs");
    for (u64 k = 0; k < nsubs; k++) {
        subs[k][0] = next();
        subs[k][1] = next();
    }
}

static u64 slots[4096];

/* The calls: (function index, fuel, argument slots, result slot count) each; every call is
 * reported with its trap status, the fuel left, its result slots and its trap trace, and an
 * uncaught exception with its tag index and values. */
static void run_calls(void) {
    i32 rem = (i32)next();
    for (u64 n = next(); n; n--) {
        u64 index = next(), fuel = next(), nargs = next();
        if (index < nimp || index >= nfuncs || nargs > 4096) fail("bad call");
        for (u64 j = 0; j < nargs; j++) slots[j] = next();
        u64 nres = next();
        if (nres > 4096) fail("too many result slots");
        rt[W2P_RT_FUEL] = fuel;
        w2p_entries[index - nimp](ctx, rem, slots);
        put(OUT_CALL);
        put(rt[W2P_RT_TRAP]);
        put(rt[W2P_RT_FUEL]);
        put(nres);
        for (u64 j = 0; j < nres; j++) put(slots[j]);
        u64 frames = trace[0] < W2P_TRACE_FRAMES ? trace[0] : W2P_TRACE_FRAMES;
        put(frames);
        for (u64 f = 0; f < frames; f++) {
            put(trace[2 + 2 * f] == (u64)ctx);
            put(trace[3 + 2 * f]);
        }
        if (rt[W2P_RT_TRAP] == W2P_EXCEPTION) {
            u64 *rec = (u64 *)rt[W2P_RT_EXN];
            put(rec[0]);
            put(rec[1]);
            for (u64 j = 0; j < rec[1]; j++) put(rec[2 + j]);
        }
        rt[W2P_RT_TRAP] = 0;
        trace[0] = 0;
    }
}

/* The final state: memories (size and non-zero 4 KiB pages each), globals, tables, context. */
static void report_state(void) {
    put(OUT_END);
    put(nmems);
    for (u64 m = 0; m < nmems; m++) {
        u8 *mem = marea[m].base;
        put(mem_pages[m]);
        u64 pages = mem_pages[m] * 16, nonzero = 0;
        for (u64 p = 0; p < pages; p++) {
            u64 *w = (u64 *)(mem + 4096 * p);
            for (int k = 0; k < 512; k++)
                if (w[k]) { nonzero++; break; }
        }
        put(nonzero);
        for (u64 p = 0; p < pages; p++) {
            u64 *w = (u64 *)(mem + 4096 * p);
            int any = 0;
            for (int k = 0; k < 512; k++)
                if (w[k]) { any = 1; break; }
            if (!any) continue;
            put(p);
            for (int k = 0; k < 512; k++) put(w[k]);
        }
    }
    put(nglobals);
    for (u64 g = 0; g < nglobals; g++) {
        put(gcells[g][0]);
        put(gcells[g][1]);
    }
    put(ntables);
    for (u64 t = 0; t < ntables; t++) {
        u64 *d = tdesc[t];
        put(d[W2P_TAB_SIZE]);
        u64 *e = (u64 *)d[W2P_TAB_ENTRIES];
        for (u64 i = 0; i < d[W2P_TAB_SIZE]; i++) put(e[i]);
    }
    /* the context, so the harness can check that every slot the ABI fills is filled here */
    put(ctx_size);
    for (u64 k = 0; k < ctx_size; k++) put(ctx[k]);
}

__attribute__((used)) void w2p_main(u64 sp) {
    read_input();
    setup(sp);
    put(OUT_MAGIC);
    put((u64)records);
    put(nfuncs);
    run_calls();
    report_state();
    flush();
    exit_group(0);
}

/* The process starts here with sp at argc; the stack limit is derived from it. */
__attribute__((naked, noreturn)) void _start(void) {
    __asm__ volatile("mov x0, sp\n"
                     "bl w2p_main\n"
                     "brk #0\n");
}
