"""``wasm2py cache [info|trim|clear]``: the on-disk cache (Python translations and LLVM machine
code)."""

from __future__ import annotations

from .common import UsageError


def add_parser(sub) -> None:
    """Register the ``cache`` subcommand."""
    p = sub.add_parser("cache", help="show, trim or clear the on-disk cache")
    p.add_argument("action", nargs="?", default="info", choices=("info", "trim", "clear"),
                   help="info (default): location, size and cap; trim: remove least recently "
                   "used entries down to the cap; clear: remove every entry")  # fmt: skip
    p.add_argument("--max-size", metavar="SIZE",
                   help="for trim: the cap to trim to (bytes, or 100K, 64M, 2G; default: "
                   "$WASM2PY_CACHE_MAX_BYTES or 1G)")  # fmt: skip
    p.set_defaults(func=cmd_cache)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def cmd_cache(args) -> int:
    from .. import cache

    if args.max_size is not None and args.action != "trim":
        raise UsageError("--max-size applies to 'wasm2py cache trim'")
    if args.action == "info":
        i = cache.info()
        cap = i["max_bytes"]
        print(f"directory: {i['directory']}")
        print(f"python:    {i['entries']} entries, {_size(i['bytes'])}")
        print(f"llvm:      {i['llvm_entries']} entries, {_size(i['llvm_bytes'])}")
        print(f"total:     {_size(i['total_bytes'])} of "
              f"{_size(cap) if cap > 0 else 'no'} cap")  # fmt: skip
    elif args.action == "trim":
        limit = None
        if args.max_size is not None:
            try:
                limit = cache.parse_size(args.max_size)
            except ValueError:
                raise UsageError(f"--max-size {args.max_size!r}: expected bytes or e.g. 64M") from None
        n = cache.trim(limit)
        print(f"removed {n} entries; {_size(cache.info()['total_bytes'])} left")
    else:
        print(f"removed {cache.clear()} entries from {cache.cache_dir()}")
    return 0
