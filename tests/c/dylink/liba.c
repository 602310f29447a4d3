/* A side module (-shared) the main needs: its data points into the main, the main points into
 * it. */
extern int main_counter;
extern int main_scale(int);

int liba_table[4] = {10, 20, 30, 40};
int *liba_counter_ptr = &main_counter;

static int liba_double(int x) { return 2 * x; }
static int liba_negate(int x) { return -x; }

int (*liba_ops[2])(int) = {liba_double, main_scale};

int liba_apply(int (*f)(int), int x) { return f(x) + 1; }
int (*liba_get_op(void))(int) { return liba_negate; }

__attribute__((constructor)) static void liba_init(void) {
    main_counter += 1;
    liba_table[3] += 2;
}
