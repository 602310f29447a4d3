/* A side module loaded by the host after the main has run; it needs liba.so (already loaded)
 * and uses symbols of both the main and liba. */
extern int main_counter;
extern int main_scale(int);
extern int liba_table[4];
extern int liba_apply(int (*f)(int), int x);
extern void *malloc(unsigned long n);

int libb_data = 7;
int *libb_buffer;

static int libb_square(int x) { return x * x; }

int (*libb_get(void))(int) { return libb_square; }

int libb_entry(int x) { return liba_apply(libb_square, x) + liba_table[1] + main_scale(libb_data); }

__attribute__((constructor)) static void libb_init(void) {
    main_counter += 10;
    libb_data += 1;
    libb_buffer = malloc(64);
    libb_buffer[0] = 1234;
}
