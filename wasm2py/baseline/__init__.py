"""The baseline tier: wasm function bodies compiled to x86-64 machine code in one pass, in Python.

``tier="auto"`` runs most of a program's code here from the first call: emitting costs about
a millisecond per KB of wasm (the Python tier's translation: ~4.5 ms/KB; LLVM's level 0:
~10 ms/KB), and the code runs about as fast as LLVM's level 0 (the spike's figures:
``tools/spike/baseline/DESIGN.md``). Functions it does not compile stay in the Python tier.

**One ABI with the LLVM tier.** Baseline code is LLVM-tier code as far as anything else can
tell (:mod:`wasm2py.llvm.abi`): each function has the native signature
``result fn(ptr env, i32 rem, params...)``, reads the instance through its context
(``env`` is the callee's context) and the store's ``rt`` struct, calls every function that
is not in its own blob through the funcref records (``CTX_FUNCREFS``) or the import slots,
reports traps with the status protocol (``rt[RT_TRAP]``, then return; callers check after
each call) and appends a frame to the trap trace on the way out. So baseline code, LLVM
units and Python-tier functions (through crossings) call one another freely, and an LLVM
unit compiled later repoints a record without relinking anything.

The package:

* ``x86``: the encoder (registers, ModRM, condition codes, jumps and their fix-ups);
* ``emit``: a function body -> machine code (:func:`emit.compile_functions` -> ``Blob``);
* ``code``: executable memory (written, then made read-and-execute; never both at once);
* ``shell``: machine code for each type's Python entry and host-call trampoline;
* ``unit``: a blob made into a :class:`wasm2py.llvm.units.Unit`, attached like LLVM units.

The contract between ``emit`` and the rest (each side may rely on exactly this):

``compile_functions(module, indices, layout) -> Blob``:
    ``module`` a decoded, validated :class:`~wasm2py.binary.module.Module`, ``indices``
    defined function indices, ``layout`` its :class:`~wasm2py.llvm.abi.Layout`. Never raises
    for a function it cannot compile: that function is left out and named in ``refused``.
``Blob``:
    ``code`` (bytes: position-independent machine code: only relative jumps and calls inside
    the blob; everything else through ``env``/``rt``/records), ``funcs`` (function index ->
    offset in ``code`` of its native function), ``long_funcs`` (those with a loop or a call),
    ``refused`` (function index -> why, e.g. ``"f64.add at 0x1234"``).

A native function (x86-64, what LLVM's ``tailcc`` gives for these signatures; check it
against LLVM's own code): integer-class arguments (``env``, ``rem``, i32, i64, refs) in
``rdi, rsi, rdx, rcx, r8, r9``, f32/f64 in ``xmm0-7``, the rest on the stack, popped by the
callee; result in ``eax``/``rax``/``xmm0``; ``rbx, rbp, r12-r15`` preserved; ``rsp``
16-byte aligned at each call; a callee pops its stack arguments and 8 bytes more (LLVM's
``retq $8`` for none: :func:`emit.stack_area`). It traps with ``CALL_STACK_EXHAUSTED`` when
``rem < 0`` or (functions that call, or have more than ``abi.BIG_FRAME_LOCALS`` locals)
``rsp`` is below ``rt[RT_STACK_LIMIT]``, and passes ``rem`` minus its frame's cost to its
callees (:func:`wasm2py.validate.frames.frame_words`, the LLVM and Python tiers' rule, so
calls nest exactly as deep before the trap). The records and import slots it calls through
must hold such ``tailcc`` functions: unit functions, trampolines, the shell's; not the
C-convention bodies a whole-module ``tier="llvm"`` compile puts in the records of functions
no funcref can name (``lower.ModuleBuilder.bodies``), nor that compile's entries.

A direct call of a function of ``indices`` that was refused goes to a thunk in the blob that
jumps through the callee's record.

Not compiled in the baseline (``refused``), for now: fuel metering and epoch checks (such
stores do not use it), multiple results, SIMD, exceptions, tail calls, GC and typed
references, multiple memories, memory64.
"""
