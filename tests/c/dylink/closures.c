/* Run-time closures with WASIX's closure_allocate / closure_prepare / closure_free: function
 * pointers made while the program runs, each calling a backing function with its arguments
 * and results in memory and an environment pointer. */
#include "tiny.h"

extern void __wasm_call_ctors(void);

#define IMPORT(name) __attribute__((import_module("wasix_32v1"), import_name(#name)))
IMPORT(closure_allocate) int closure_allocate(uint32_t *closure);
IMPORT(closure_prepare) int closure_prepare(uint32_t backing, uint32_t closure,
                                            const unsigned char *arg_types, uint32_t nargs,
                                            const unsigned char *result_types, uint32_t nresults,
                                            void *env);
IMPORT(closure_free) int closure_free(uint32_t closure);

enum { T_I32 = 0, T_I64 = 1, T_F32 = 2, T_F64 = 3 };

struct env {
    int bias;
    int calls;
};

/* (i32 a, i64 b) -> i32: a + b + bias; the values are packed, in order, without padding */
static void add_backing(unsigned char *values, unsigned char *results, void *p) {
    struct env *e = p;
    int a;
    int64_t b;
    memcpy(&a, values, 4);
    memcpy(&b, values + 4, 8);
    int r = a + (int)b + e->bias;
    e->calls++;
    memcpy(results, &r, 4);
}

/* (f64 x, f32 y) -> f64: x * bias + y */
static void mul_backing(unsigned char *values, unsigned char *results, void *p) {
    struct env *e = p;
    double x;
    float y;
    memcpy(&x, values, 8);
    memcpy(&y, values + 8, 4);
    double r = x * e->bias + y;
    e->calls++;
    memcpy(results, &r, 8);
}

typedef int (*add_fn)(int, int64_t);
typedef double (*mul_fn)(double, float);

static uint32_t ptr(void (*f)(unsigned char *, unsigned char *, void *)) {
    return (uint32_t)(uintptr_t)f;
}

void _start(void) {
    __wasm_call_ctors();
    static const unsigned char add_args[] = {T_I32, T_I64}, add_res[] = {T_I32};
    static const unsigned char mul_args[] = {T_F64, T_F32}, mul_res[] = {T_F64};
    static const unsigned char bad[] = {9};
    struct env e1 = {100, 0}, e2 = {3, 0}, e3 = {-5, 0};
    uint32_t a, b, c;

    print_line("allocate a", closure_allocate(&a));
    print_line("allocate b", closure_allocate(&b));
    print_line("distinct", a != b);
    print_line("prepare a", closure_prepare(ptr(add_backing), a, add_args, 2, add_res, 1, &e1));
    add_fn fa = (add_fn)(uintptr_t)a;
    print_line("a(1, 2)", fa(1, 2));
    print_line("a(10, 20)", fa(10, 20));
    print_line("prepare b", closure_prepare(ptr(add_backing), b, add_args, 2, add_res, 1, &e3));
    add_fn fb = (add_fn)(uintptr_t)b;
    print_line("b(7, 8)", fb(7, 8));
    /* re-preparing a slot redefines its function, with another signature and environment */
    print_line("re-prepare a", closure_prepare(ptr(mul_backing), a, mul_args, 2, mul_res, 1, &e2));
    mul_fn ga = (mul_fn)(uintptr_t)a;
    print_f64("a(2.5, 0.25)", ga(2.5, 0.25f));
    print_line("calls e1", e1.calls);
    print_line("calls e2", e2.calls);
    print_line("calls e3", e3.calls);
    print_line("bad type", closure_prepare(ptr(add_backing), b, bad, 1, add_res, 1, &e1));
    print_line("b(1, 1) still", fb(1, 1));
    /* a freed slot is handed out again */
    print_line("free a", closure_free(a));
    print_line("allocate c", closure_allocate(&c));
    print_line("c reuses a", c == a);
    print_line("free b", closure_free(b));
    print_line("free c", closure_free(c));
}
