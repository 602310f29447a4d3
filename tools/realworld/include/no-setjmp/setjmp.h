/* setjmp is not available in wasi-libc with clang 14: the programs built with this directory
   first on the include path make their error unwinding abort instead (Lua: LUAI_THROW,
   Duktape: DUK_LONGJMP), so a program that raises no error runs unchanged. */
