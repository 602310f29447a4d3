"""Command line: ``python -m tools.fuzz run|report ...`` (see README.md).

``run TARGET --seeds A:B``: check seeds A..B-1 with TARGET (``simd``, ``diff``, ``mutate``) in
child processes; findings go to ``--out`` (default ``.cache/fuzz``), and after every segment of
``--segment`` seeds a summary ``OUT/TARGET/runs/A-B.json`` is written, so a long campaign that is
stopped keeps its counts. ``report``: the totals of all summaries (and the open findings).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from .harness import ROOT, run_campaign
from .minimize import minimize_finding

DEFAULT_OUT = ROOT / ".cache" / "fuzz"


def _option(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a campaign")
    r.add_argument("target", choices=["simd", "diff", "mutate"])
    r.add_argument("--seeds", default="0:1000", help="A:B (seeds A..B-1)")
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--timeout", type=float, default=120.0, help="seconds per input")
    r.add_argument("--chunk", type=int, default=200, help="inputs per child process")
    r.add_argument("--segment", type=int, default=5000, help="seeds per summary file")
    r.add_argument("--nice", type=int, default=0, help="niceness of the children")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT)
    r.add_argument("--no-minimize", action="store_true")
    r.add_argument("--minimize-each", type=int, default=2,
                   help="shrink at most this many findings of one signature")
    r.add_argument("-o", "--option", action="append", type=_option, default=[],
                   help="target option key=value (JSON), e.g. nan=exact, wasmtime=false")
    rep = sub.add_parser("report", help="totals of the summaries in OUT")
    rep.add_argument("--out", type=Path, default=DEFAULT_OUT)
    rep.add_argument("target", nargs="?")
    args = p.parse_args(argv)
    if args.cmd == "report":
        return report(args.out, args.target)
    # SIGTERM stops a campaign like Ctrl-C: the segment under way is summarised with what it did
    signal.signal(signal.SIGTERM, _interrupt)
    start, stop = (int(x) for x in args.seeds.split(":"))
    options = dict(args.option)
    total = 0
    found = 0
    shrunk: dict = {}
    for a in range(start, stop, args.segment):
        b = min(stop, a + args.segment)
        t0 = time.time()
        run = run_campaign(args.target, list(range(a, b)), options=options, jobs=args.jobs,
                           timeout=args.timeout, chunk=args.chunk, nice=args.nice,
                           out=args.out, progress=True)  # fmt: skip
        runs = args.out / args.target / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        summary = {"target": args.target, "seeds": [a, b], "options": options,
                   "inputs": run.inputs, "cpu_seconds": run.seconds_cpu,
                   "wall_seconds": time.time() - t0, "stats": dict(run.stats),
                   "findings": run.findings}  # fmt: skip
        if run.stopped:
            summary["stopped"] = True
        (runs / f"{a}-{b}.json").write_text(json.dumps(summary, indent=1, default=str))
        print(run.summary(), flush=True)
        total += run.inputs
        found += len(run.findings)
        if run.stopped:
            print(f"stopped in segment {a}:{b}: {run.inputs} of its inputs checked; to finish, "
                  f"run --seeds {a}:{stop} again", flush=True)  # fmt: skip
            break
        if not args.no_minimize:
            for f in run.findings:
                sig = (f["kind"], json.loads(Path(f["saved"], "finding.json").read_text())
                       ["signature"])  # fmt: skip
                shrunk[sig] = shrunk.get(sig, 0) + 1
                if shrunk[sig] <= args.minimize_each:
                    size = minimize_finding(Path(f["saved"]))
                    print(f"  shrunk {f['saved']}: {size} bytes", flush=True)
    print(f"total: {total} inputs, {found} findings", flush=True)
    return 1 if found else 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def report(out: Path, target: str | None) -> int:
    """Print the totals of every summary under ``out`` (per target)."""
    targets = [target] if target else sorted(p.name for p in out.iterdir() if p.is_dir())
    for t in targets:
        runs = sorted((out / t / "runs").glob("*.json"))
        inputs = 0
        cpu = 0.0
        stats: Counter = Counter()
        findings = []
        for path in runs:
            s = json.loads(path.read_text())
            inputs += s["inputs"]
            cpu += s["cpu_seconds"]
            stats.update(s["stats"])
            findings += s["findings"]
        print(f"{t}: {inputs} inputs in {len(runs)} segments, {cpu / 3600:.1f} CPU hours, "
              f"{len(findings)} findings")  # fmt: skip
        for k, v in sorted(stats.items()):
            print(f"  {k}: {v}")
        for f in findings:
            print(f"  FINDING {f['kind']} seed {f['seed']}: {str(f.get('detail'))[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
