"""Run the spec suite's scripts through the LLVM tier (``wasm2py.llvm``).

A subclass of the spec runner's :class:`~spectests.runner.ScriptRunner` that compiles every
module with the LLVM tier and instantiates it with :func:`wasm2py.llvm.instantiate` (imports
from the runner's linker). Decoding, validation and the rejection commands are shared with the
Python tier.

    python -m tests.llvm_spec [FILE.wast ...] [-v]     # pass/fail counts per file and in total
    python -m tests.llvm_spec --simd [-v]             # the 58 simd_*.wast files only
    python -m tests.llvm_spec --all [-v]              # every file, SIMD included
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from wasm2py.wast.report import FAILED, PASSED
from wasm2py.wast.runner import CommandFailed, ScriptRunner, _describe_exception
from wasm2py.wast.wast import list_wast_files, load_script

TIER = "llvm"


class LLVMScriptRunner(ScriptRunner):
    """The spec runner with modules compiled and instantiated by the LLVM tier."""

    def __init__(self, script, opt_level: int = 2):
        super().__init__(script, "python")
        self.tier = TIER
        self.opt_level = opt_level

    def compile(self, command: dict):
        from wasm2py.binary.decoder import decode_module
        from wasm2py.llvm import compile_module
        from wasm2py.validate.validator import validate_module

        data = self.module_bytes(command)
        try:
            m = decode_module(data)
            validate_module(m)
            return compile_module(m, self.opt_level)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"compiling the module raised {_describe_exception(exc)}") from exc

    def _imports(self, compiled):
        values = []
        for imp in compiled.module.imports:
            item = self.linker.get(self.store, imp.module, imp.name)
            if item is None:
                raise self.w.LinkError(f"unknown import: {imp.module!r} {imp.name!r}")
            values.append(item)
        return values

    def llvm_instantiate(self, compiled):
        from wasm2py.llvm import instantiate

        return instantiate(self.store, compiled, self._imports(compiled))

    def instantiate(self, module):
        try:
            return self.llvm_instantiate(module)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"instantiation raised {_describe_exception(exc)}") from exc

    def cmd_assert_uninstantiable(self, command: dict) -> str:
        module = self.compile(command)
        return self._expect_trap(lambda: self.llvm_instantiate(module), "instantiation",
                                 command.get("text", ""))  # fmt: skip

    def cmd_assert_unlinkable(self, command: dict) -> str:
        module = self.compile(command)
        text = command.get("text", "")
        try:
            self.llvm_instantiate(module)
        except self.w.LinkError as exc:
            return _describe_exception(exc)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"instantiation raised {_describe_exception(exc)}, expected LinkError ({text!r})"
            ) from exc
        raise CommandFailed(f"instantiation succeeded, expected LinkError ({text!r})")


def run_llvm_file(wast: Path, opt_level: int = 2):
    """The command results of one script in the LLVM tier."""
    return LLVMScriptRunner(load_script(wast), opt_level).run()


#: command kinds whose outcome depends on execution (the ones compared across tiers)
EXEC_KINDS = ("assert_return", "assert_trap", "assert_exhaustion", "action", "module",
              "assert_uninstantiable", "assert_unlinkable", "register")  # fmt: skip


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    names = [a for a in argv if not a.startswith("-")]
    simd_only = "--simd" in argv
    every = "--all" in argv or simd_only or any(n.startswith("simd_") for n in names)
    files = [f for f in list_wast_files(include_simd=every)
             if (not names or f.name in names) and (not simd_only or f.name.startswith("simd_"))]  # fmt: skip
    total: Counter = Counter()
    for f in files:
        results = run_llvm_file(f)
        c = Counter((r.kind, r.status) for r in results)
        total.update(c)
        passed = sum(v for (k, s), v in c.items() if s == PASSED)
        failed = sum(v for (k, s), v in c.items() if s == FAILED)
        print(f"{f.name:40s} passed {passed:5d} failed {failed:4d}")
        if verbose:
            for r in results:
                if r.status == FAILED:
                    print(f"    line {r.line} {r.kind}: {r.message[:200]}")
    for kind in sorted({k for k, _ in total}):
        counts = {s: v for (k, s), v in total.items() if k == kind}
        print(f"  {kind:28s} {counts}")
    p = sum(v for (k, s), v in total.items() if s == PASSED)
    f_ = sum(v for (k, s), v in total.items() if s == FAILED)
    print(f"total: {p} passed, {f_} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
