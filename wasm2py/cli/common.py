"""Shared pieces of the command line."""

from __future__ import annotations

from .. import DecodeError, Engine, Module, ParseError, ValidationError


class UsageError(Exception):
    """A mistake on the command line (reported on one line, without a traceback)."""


def load_module(path: str, engine: Engine) -> Module:
    """Load a module, turning the usual mistakes into UsageError."""
    try:
        return Module.from_file(engine, path)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory: {path}") from None
    except ParseError as e:  # names the file and the line already
        raise UsageError(f"ParseError: {e}") from None
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{path}: {type(e).__name__}: {e}") from None
