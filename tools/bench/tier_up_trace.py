"""Where a cold ``tier="auto"`` run of a real program (``tools/realworld``) spends its tier-up:
for every function that got jitted, its size, when it was queued and when its unit was
attached (CPU seconds of the main process), how many events (calls + loop iterations) it
made in the Python tier after it was queued, and what its unit cost to compile (baseline
units, ``Config.baseline``, apart: the functions compiled at their first call, and those the
baseline refused, with why); with
``--count``, also how many events it makes in the whole run (a second run that stays in the
Python tier and only counts), and a summary of the compile CPU spent on functions that made
few events in all (those that cannot pay their compile back).

    python tools/bench/tier_up_trace.py LABEL [--heavy] [--count] [--json PATH]

``LABEL`` is a case of ``tools/realworld/run.py`` (``bench.lua``, ``bench.js``, ``heavy.lua``
with ``--heavy``...). The run is ``wasm2py run --tier auto`` in a fresh process with an empty
cache, as in ``tier_up_realworld.py``, with :class:`wasm2py.tierup.TierUp` wrapped (not
changed) to record what it does; the wrappers cost a little CPU of their own. Events after
queueing are counted in steps of ``tierup.POLL``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = "WASM2PY_TRACE_OUT"
COUNT = "WASM2PY_TRACE_COUNT"
#: a counting run's granularity: events are counted in runs of this many
GRAIN = 50


def child() -> int:
    """The traced ``wasm2py`` CLI (arguments after ``--child``): writes the trace as JSON to
    ``$WASM2PY_TRACE_OUT`` at exit."""
    import atexit
    import resource
    import time
    from itertools import chain, repeat

    from wasm2py import instance as instance_mod
    from wasm2py import tierup

    funcs: dict[int, dict] = {}
    units: list[dict] = []
    counts: dict[int, int] = {}
    seen: dict = {}
    counting = bool(os.environ.get(COUNT))

    def rec(index: int) -> dict:
        return funcs.setdefault(index, {"bound": time.process_time(), "queued": None,
                                        "landed": None, "after_queued": 0})  # fmt: skip

    counter, stages, add_unit = tierup.TierUp._counter, tierup.TierUp._stages, \
        instance_mod.Instance._add_unit  # fmt: skip

    def _counter(self, index):
        seen["module"] = self.module
        rec(index)
        if not counting:
            return counter(self, index)

        def runs():
            while True:
                yield repeat(None, GRAIN)
                counts[index] = counts.get(index, 0) + GRAIN

        self.ns[f"HOT{index}"] = chain.from_iterable(runs()).__next__

    def _stages(self, index):
        r = rec(index)
        for k, run in enumerate(stages(self, index)):
            if k == 1:
                r["queued"] = time.process_time()
            elif k > 1 and r["landed"] is None:
                r["after_queued"] += tierup.POLL
            yield run

    def _add_unit(self, unit):
        t = time.process_time()
        for index in unit.funcs if unit.tier != "baseline" else ():
            rec(index)["landed"] = t
        units.append({"at": t, "funcs": sorted(unit.funcs), "seconds": dict(unit.seconds),
                      "tier": unit.tier})  # fmt: skip
        return add_unit(self, unit)

    tierup.TierUp._counter = _counter
    tierup.TierUp._stages = _stages
    instance_mod.Instance._add_unit = _add_unit
    if counting:
        tierup.EAGER_BYTES = 1 << 62  # (nothing is jitted: every function counts)
        tierup.TierUp._baseline_shell = lambda self, config: None
    refused: dict[int, str] = {}
    init = tierup.TierUp.__init__

    def __init__(self, instance, state):
        init(self, instance, state)
        seen["module"] = self.module
        seen["refused"] = self.refused  # (filled in as functions are first called)

    tierup.TierUp.__init__ = __init__

    def dump():
        from wasm2py.llvm import worker

        worker.end_all()
        module = seen.get("module")
        sizes = {}
        if module is not None:
            nimp = module.num_imported_funcs
            sizes = {i + nimp: c.end - c.start for i, c in enumerate(module.codes)}
            nimp = module.num_imported_funcs
            for index, r in funcs.items():
                if index >= nimp:
                    code = module.codes[index - nimp]
                    r["size"] = code.end - code.start
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        refused.update(seen.get("refused", {}))
        trace_sizes = {str(i): n for i, n in sizes.items()}
        trace = {"funcs": funcs, "units": units, "counts": counts, "refused": refused, "sizes": trace_sizes,
                 "self": own.ru_utime + own.ru_stime, "children": kids.ru_utime + kids.ru_stime}  # fmt: skip
        Path(os.environ[OUT]).write_text(json.dumps(trace))

    atexit.register(dump)
    from wasm2py.cli import main as cli

    return cli(sys.argv[2:])


def traced(case, count: bool) -> dict:
    """One cold traced run of ``case`` (``count``: the counting run)."""
    from tools.realworld import run as rw

    tmp = tempfile.mkdtemp(prefix="tier-up-trace-")
    saved = rw.CLI, dict(os.environ)
    try:
        rw.CLI = [sys.executable, str(Path(__file__).resolve()), "--child"]
        os.environ[OUT] = str(Path(tmp, "trace.json"))
        os.environ.pop(COUNT, None)
        if count:
            os.environ[COUNT] = "1"
        r = rw.run_wasm2py(case, "auto", str(Path(tmp, "cache")))
        if r[1] != 0:
            sys.exit(f"{case.label}: exit status {r[1]}: {r[4][-500:].decode(errors='replace')}")
        trace = json.loads(Path(tmp, "trace.json").read_text())
    finally:
        rw.CLI = saved[0]
        os.environ.clear()
        os.environ.update(saved[1])
        shutil.rmtree(tmp)
    trace["funcs"] = {int(k): v for k, v in trace["funcs"].items()}
    trace["counts"] = {int(k): v for k, v in trace["counts"].items()}
    return trace


def report_baseline(trace: dict) -> None:
    """The baseline's part of a run: what it compiled, and what it refused and why."""
    units = [u for u in trace["units"] if u.get("tier") == "baseline"]
    trace["units"] = [u for u in trace["units"] if u.get("tier") != "baseline"]
    refused = {int(k): v for k, v in trace.get("refused", {}).items()}
    if not units and not refused:
        return
    sizes = trace.get("sizes", {})
    nfuncs = sum(len(u["funcs"]) for u in units)
    print(f"baseline: {nfuncs} functions in {len(units)} units, "
          f"{sum(sizes.get(str(i), 0) for u in units for i in u['funcs'])} bytes, "
          f"compiled in {sum(u['seconds'].get('compile', 0.0) for u in units):.3f} CPU s; "
          f"{len(refused)} refused:")  # fmt: skip
    why: dict[str, list[int]] = {}
    for i, reason in refused.items():
        why.setdefault(reason.split(" at ")[0], []).append(i)
    for reason, idx in sorted(why.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(idx):4}  {sum(sizes.get(str(i), 0) for i in idx):7} bytes  {reason}: "
              + " ".join(f"f{i}" for i in sorted(idx)[:12]) + (" ..." if len(idx) > 12 else ""))
    print()


def report(trace: dict, counts: dict | None) -> None:
    report_baseline(trace)
    funcs, units = trace["funcs"], trace["units"]
    start = min((r["bound"] for r in funcs.values()), default=0.0)
    compiled = {}
    for u in units:
        size = sum(funcs[i].get("size", 0) for i in u["funcs"]) or 1
        for i in u["funcs"]:
            # (a unit's compile CPU shared out by bytes)
            compiled[i] = u["seconds"].get("compile", 0.0) * funcs[i].get("size", 0) / size
    jitted = sorted((i for i, r in funcs.items() if r["landed"] is not None),
                    key=lambda i: funcs[i]["landed"])  # fmt: skip
    head = ["func", "bytes", "queued s", "landed s", "events after queued", "compile ms"]
    if counts is not None:
        head.insert(2, "events (whole run)")
    print("  ".join(head))
    for i in jitted:
        r = funcs[i]
        row = [f"f{i}", str(r.get("size", "")),
               "eager" if r["queued"] is None else f"{r['queued'] - start:.3f}",
               f"{r['landed'] - start:.3f}", str(r["after_queued"]), f"{compiled.get(i, 0) * 1e3:.1f}"]  # fmt: skip
        if counts is not None:
            row.insert(2, str(counts.get(i, 0)))
        print("  ".join(row))
    print(f"\nmain process {trace['self']:.2f} CPU s, children {trace['children']:.2f}; "
          f"{len(funcs)} functions ran in the Python tier "
          f"({sum(r.get('size', 0) for r in funcs.values())} bytes), {len(jitted)} jitted "
          f"({sum(funcs[i].get('size', 0) for i in jitted)} bytes) in {len(units)} units, "
          f"compiled in {sum(u['seconds'].get('compile', 0.0) for u in units):.2f} CPU s")  # fmt: skip
    if counts is not None:
        for limit in (2_500, 5_000, 10_000, 50_000):
            few = [i for i in jitted if counts.get(i, 0) <= limit]
            print(f"jitted with at most {limit} events in the whole run: {len(few)} functions, "
                  f"{sum(funcs[i].get('size', 0) for i in few)} bytes, "
                  f"{sum(compiled.get(i, 0) for i in few):.2f} CPU s of compile")  # fmt: skip


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child()
    sys.path.insert(0, str(ROOT))
    from tools.realworld import run as rw

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("label")
    ap.add_argument("--heavy", action="store_true", help="the compute-heavy cases")
    ap.add_argument("--count", action="store_true", help="also count every function's events")
    ap.add_argument("--json", help="write the traces here")
    args = ap.parse_args(argv)
    os.environ["PYTHONSAFEPATH"] = "1"
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    case = next((c for c in (rw.heavy_cases() if args.heavy else rw.cases())
                 if c.label == args.label), None)  # fmt: skip
    if case is None:
        sys.exit(f"no case {args.label!r}")
    trace = traced(case, False)
    counts = traced(case, True)["counts"] if args.count else None
    report(trace, counts)
    if args.json:
        Path(args.json).write_text(json.dumps({"cold": trace, "counts": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
