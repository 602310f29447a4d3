"""Import/export names and labels: kebab case, plain and interface names, annotated
``[constructor]``/``[method]``/``[static]`` names, semantic versions, and strong uniqueness.

The grammar is the Component Model explainer's (``Explainer.md``, *Import and Export
Definitions*). Every check raises :class:`~wasm2py.errors.ValidationError` with a message naming
the offending text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ValidationError

_WORD = r"[a-z][0-9a-z]*|[A-Z][0-9A-Z]*"
_FRAGMENT = r"[0-9a-z]+|[0-9A-Z]+"
_LABEL = re.compile(rf"(?:{_WORD})(?:-(?:{_FRAGMENT}))*")
_LOWER_WORDS = re.compile(r"[a-z][0-9a-z]*(?:-[0-9a-z]+)*")
_SEMVER_IDENT = re.compile(r"[0-9A-Za-z-]+")

CONSTRUCTOR = "[constructor]"
METHOD = "[method]"
STATIC = "[static]"


def is_label(s: str) -> bool:
    """Whether ``s`` is a kebab-case label (``a-b``, ``XML-http``, ``a1-2``)."""
    return _LABEL.fullmatch(s) is not None


def check_label(s: str, what: str, offset: int | None = None) -> None:
    """Raise unless ``s`` is a non-empty kebab-case label (``what`` names it in messages)."""
    if not s:
        raise ValidationError(f"{what} cannot be empty", offset=offset)
    if not is_label(s):
        raise ValidationError(f"{what} `{s}` is not in kebab case", offset=offset)


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A parsed extern name.

    Attributes:
        kind: ``label``, ``constructor``, ``method``, ``static`` or ``interface``.
        resource: the resource label of an annotated name (else "").
        label: the plain label, or the function label of ``[method]``/``[static]`` names.
        key: the canonical form used for strong uniqueness.
    """

    text: str
    kind: str
    resource: str = ""
    label: str = ""
    key: str = ""


def _kebab(s: str, offset) -> str:
    if not is_label(s):
        raise ValidationError(f"`{s}` is not in kebab case", offset=offset)
    return s


def parse_extern_name(name: str, offset: int | None = None) -> ParsedName:
    """Parse and check an import/export name.

    Raises:
        ValidationError: ``name`` is not a valid plain or interface name.
    """
    if name.startswith(CONSTRUCTOR):
        res = _kebab(name[len(CONSTRUCTOR) :], offset)
        return ParsedName(name, "constructor", res, res, CONSTRUCTOR + res.lower())
    for prefix, kind in ((METHOD, "method"), (STATIC, "static")):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if "." not in rest:
                raise ValidationError("failed to find `.` character", offset=offset)
            res, _, label = rest.partition(".")
            _kebab(res, offset)
            _kebab(label, offset)
            low_res, low_label = res.lower(), label.lower()
            key = low_res if low_res == low_label else f"{low_res}.{low_label}"
            return ParsedName(name, kind, res, label, key)
    if ":" in name:
        _check_interface_name(name, offset)
        return ParsedName(name, "interface", key=name.lower())
    if not is_label(name):
        if not name or "/" in name or name[0].isdigit() or any(
            not (c.isalnum() or c == "-") for c in name
        ):
            raise ValidationError(f"`{name}` is not in kebab case", offset=offset)
        raise ValidationError(f"`{name}` is not in kebab case", offset=offset)
    return ParsedName(name, "label", "", name, name.lower())


def _check_interface_name(name: str, offset) -> None:
    """``namespace:package/interface[@version]`` with lowercase namespace and package."""
    ns, _, rest = name.partition(":")
    if not _LOWER_WORDS.fullmatch(ns):
        if is_label(ns):
            raise ValidationError(f"`{name}` is not a valid extern name", offset=offset)
        raise ValidationError(f"`{ns}` is not in kebab case", offset=offset)
    pkg_end = min((i for i in (rest.find("/"), rest.find("@"), rest.find(":")) if i >= 0),
                  default=len(rest))  # fmt: skip
    pkg = rest[:pkg_end]
    if not _LOWER_WORDS.fullmatch(pkg):
        if is_label(pkg):
            raise ValidationError(f"`{name}` is not a valid extern name", offset=offset)
        raise ValidationError(f"`{pkg}` is not in kebab case", offset=offset)
    rest = rest[pkg_end:]
    if not rest.startswith("/"):
        raise ValidationError("expected `/` after package name", offset=offset)
    rest = rest[1:]
    iface_end = min((i for i in (rest.find("/"), rest.find("@")) if i >= 0), default=len(rest))
    iface = rest[:iface_end]
    if not is_label(iface):
        raise ValidationError(f"`{iface}` is not in kebab case", offset=offset)
    rest = rest[iface_end:]
    if rest.startswith("@"):
        check_version(rest[1:], offset)
    elif rest:
        raise ValidationError(f"trailing characters found: `{rest}`", offset=offset)


def check_version(v: str, offset: int | None = None) -> None:
    """Raise unless ``v`` is a valid semantic version (or a canonical version: ``1``, ``0.2``)."""
    if not v:
        raise ValidationError("`` is not a valid semver: empty string", offset=offset)
    core, plus, build = v.partition("+")
    core, dash, pre = core.partition("-")
    parts = core.split(".")

    def bad(msg):
        return ValidationError(f"`{v}` is not a valid semver: {msg}", offset=offset)

    for i, p in enumerate(parts):
        if not p:
            if i == len(parts) - 1 and i > 0:
                raise bad("unexpected end of input")
            raise bad("unexpected character '.'")
        for c in p:
            if not c.isdigit():
                raise bad(f"unexpected character '{c}'")
        if len(p) > 1 and p[0] == "0":
            raise bad("invalid leading zero")
    if len(parts) > 3:
        raise bad("unexpected character '.'")
    if len(parts) < 3 and (dash or plus):
        raise bad("unexpected end of input")
    if len(parts) < 3 and not _is_canonversion(parts):
        raise bad("unexpected end of input")
    for section, present in ((pre, dash), (build, plus)):
        if not present:
            continue
        for ident in section.split("."):
            if not ident:
                raise bad("empty identifier segment")
            if not _SEMVER_IDENT.fullmatch(ident):
                raise bad("unexpected character")


def _is_canonversion(parts: list[str]) -> bool:
    # canonversion: [1-9][0-9]* | 0.[1-9][0-9]* | 0.0.[1-9][0-9]* | 0.0.0 (only the first two
    # can be shorter than three parts)
    if len(parts) == 1:
        return parts[0] != "0"
    if len(parts) == 2:
        return parts[0] == "0" and parts[1] != "0"
    return True


def is_interface_name(name: str) -> bool:
    """Whether ``name`` parses as an interface name."""
    try:
        _check_interface_name(name, None)
    except ValidationError:
        return False
    return ":" in name
