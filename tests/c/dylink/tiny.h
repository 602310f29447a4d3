/* A tiny freestanding C library for the dynamic-linking test programs: there is no Emscripten
 * sysroot here, so the main program carries these few functions (on WASI) and exports them to
 * the side modules, which import them like any symbol of the main. */
#ifndef TINY_H
#define TINY_H

typedef unsigned long size_t;
typedef unsigned int uint32_t;
typedef unsigned long uintptr_t;
typedef long long int64_t;

void print_str(const char *s);
void print_int(int64_t v);
/* prints "<label> <value>\n" */
void print_line(const char *label, int64_t v);
void print_f64(const char *label, double v);
void *malloc(size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
_Noreturn void exit(int status);

#endif
