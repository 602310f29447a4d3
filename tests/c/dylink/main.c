/* The main program (linked with -pie against liba.so): data and function pointers cross
 * between it and liba in both directions. libb.so is loaded by the host after this ran. */
#include "tiny.h"

extern void __wasm_call_ctors(void);

int main_counter = 1000;
int main_scale(int x) { return 3 * x; }

/* defined in liba.so */
extern int liba_table[4];
extern int *liba_counter_ptr;
extern int (*liba_ops[2])(int);
extern int liba_apply(int (*f)(int), int x);
extern int (*liba_get_op(void))(int);

/* for the host: call a function pointer (a table slot), read an int */
int call_ptr(int (*f)(int), int x) { return f(x); }
int read_int(const int *p) { return *p; }
int main_counter_now(void) { return main_counter; }

void _start(void) {
    __wasm_call_ctors();
    print_line("main_counter", main_counter);           /* liba's constructor added 1 */
    print_line("liba_table[3]", liba_table[3]);         /* liba's constructor added 2 */
    print_line("counter via liba", *liba_counter_ptr);  /* a data relocation to main's symbol */
    print_line("liba_ops[0](21)", liba_ops[0](21));     /* liba's static function */
    print_line("liba_ops[1](21)", liba_ops[1](21));     /* main's function, stored by liba */
    print_line("same pointer", liba_ops[1] == main_scale);
    print_line("liba_apply(main_scale, 5)", liba_apply(main_scale, 5));
    print_line("liba_get_op()(9)", liba_get_op()(9));
    int *squares = malloc(10 * sizeof(int));
    int sum = 0;
    for (int i = 0; i < 10; i++) squares[i] = i * i;
    for (int i = 0; i < 10; i++) sum += squares[i];
    print_line("sum of squares", sum);
    main_counter += 100;
}
