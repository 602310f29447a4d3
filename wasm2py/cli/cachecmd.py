"""``wasm2py cache info|clear``: the on-disk translation cache."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Register the ``cache`` subcommand."""
    p = sub.add_parser("cache", help="show or clear the on-disk translation cache")
    p.add_argument("action", choices=("info", "clear"), help="info: location and size; clear: "
                   "remove every entry")  # fmt: skip
    p.set_defaults(func=cmd_cache)


def cmd_cache(args) -> int:
    from .. import cache

    if args.action == "info":
        i = cache.info()
        print(f"directory: {i['directory']}")
        print(f"entries:   {i['entries']}")
        print(f"size:      {i['bytes'] / 1024:.1f} KiB")
    else:
        print(f"removed {cache.clear()} entries from {cache.cache_dir()}")
    return 0
