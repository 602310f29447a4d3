/* setjmp is not available in wasi-libc: Lua errors abort (LUAI_THROW) */
