"""Custom sections written in the text format (``@custom`` and ``@producers`` annotations)
and the ``name`` section built from the module's identifiers (and ``@name`` annotations), laid
out as ``wasm-tools`` lays them out."""

from __future__ import annotations

from ..errors import ParseError
from .encode import (
    SEC_CODE,
    SEC_CUSTOM,
    SEC_DATA,
    SEC_ELEM,
    SEC_EXPORT,
    SEC_FUNC,
    SEC_GLOBAL,
    SEC_IMPORT,
    SEC_MEMORY,
    SEC_START,
    SEC_TABLE,
    SEC_TAG,
    SEC_TYPE,
    section,
    uleb,
    vec,
)
from .encode import name as enc_name
from .lexer import Tokens, is_string
from .literals import decode_name, decode_string

# anchors of @custom placement -> the section id they stand for
_CUSTOM_ANCHORS = {"type": SEC_TYPE, "import": SEC_IMPORT, "func": SEC_FUNC,
                   "table": SEC_TABLE, "memory": SEC_MEMORY, "global": SEC_GLOBAL,
                   "export": SEC_EXPORT, "start": SEC_START, "elem": SEC_ELEM,
                   "code": SEC_CODE, "data": SEC_DATA, "tag": SEC_TAG}  # fmt: skip


class CustomSections:
    """Mixin of :class:`~.parser.ModuleParser`: custom sections and the name section."""

    tokens: Tokens
    customs: list[tuple[str, int, bytes]]
    module_name: str | None
    names: dict[str, dict[int, str]]
    local_names: dict[int, dict[int, str]]
    label_names: dict[int, dict[int, str]]
    struct_field_names: dict[int, dict[int, str]]
    type_param_names: dict[int, dict[int, str]]
    tag_param_names: dict[int, dict[int, str]]

    def _custom(self, i: int) -> None:
        """The ``@custom`` and ``@producers`` annotations between module fields."""
        for ann in self.tokens.annotations.get(i, ()):
            if ann.name == "producers":
                self._producers(ann)
                continue
            if ann.name != "custom":
                continue
            items = ann.tokens
            k = 0

            def bad(reason: str, ann=ann) -> ParseError:
                return self.tokens.annotation_error(ann, f"malformed @custom annotation: {reason}")

            if not items[k].startswith('"'):
                raise bad("expected the section name")
            try:
                nm = decode_name(items[k])
            except ValueError as e:
                raise bad(str(e)) from None
            k += 1
            place, sid = "last", 0
            if items[k] == "(":
                word, anchor = items[k + 1], items[k + 2]
                if word == "before" and anchor == "first":
                    place = "first"
                elif word == "after" and anchor == "last":
                    place = "last"
                elif word in ("before", "after") and anchor in _CUSTOM_ANCHORS:
                    place, sid = word, _CUSTOM_ANCHORS[anchor]
                else:
                    raise bad("expected (before|after section)")
                if items[k + 3] != ")":
                    raise bad("expected ')'")
                k += 4
            data = []
            while items[k] != "":
                if not items[k].startswith('"') or not is_string(items[k]):
                    raise bad("expected a string")
                try:
                    data.append(decode_string(items[k]))
                except ValueError as e:
                    raise bad(str(e)) from None
                k += 1
            self.customs.append((place, sid, section(SEC_CUSTOM, enc_name(nm) + b"".join(data))))

    def _producers(self, ann) -> None:
        """``(@producers (language|sdk|processed-by "name" "version")*)``: the ``producers``
        custom section, its fields in the order language, sdk, processed-by."""
        items = ann.tokens
        fields: dict[str, list[bytes]] = {"language": [], "sdk": [], "processed-by": []}
        k = 0
        while items[k] == "(":
            kind = items[k + 1]
            value = items[k + 2:k + 4]
            if kind not in fields or items[k + 4] != ")" or not all(
                    v.startswith('"') and is_string(v) for v in value):
                raise self.tokens.annotation_error(
                    ann, "malformed @producers annotation: expected "
                    '(language|sdk|processed-by "name" "version")')
            try:
                fields[kind].append(b"".join(enc_name(decode_name(v)) for v in value))
            except ValueError as e:
                raise self.tokens.annotation_error(ann, str(e)) from None
            k += 5
        if items[k] != "":
            raise self.tokens.annotation_error(ann, "malformed @producers annotation")
        payload = vec([enc_name(kind) + vec(entries) for kind, entries in fields.items()
                       if entries])
        self.customs.append(("last", 0, section(SEC_CUSTOM, enc_name("producers") + payload)))

    def name_section(self) -> bytes:
        subs = []

        def name_map(m: dict[int, str]) -> bytes:
            return vec([uleb(k) + enc_name(v) for k, v in sorted(m.items())])

        def indirect(m: dict[int, dict[int, str]]) -> bytes:
            return vec([uleb(k) + name_map(v) for k, v in sorted(m.items()) if v])

        if self.module_name is not None:
            subs.append((0, enc_name(self.module_name)))
        for sid, key in ((1, "func"),):
            if self.names.get(key):
                subs.append((sid, name_map(self.names[key])))
        if self.local_names:
            subs.append((2, indirect(self.local_names)))
        if self.label_names:
            subs.append((3, indirect(self.label_names)))
        for sid, key in ((4, "type"), (5, "table"), (6, "memory"), (7, "global"), (8, "elem"),
                         (9, "data")):
            if self.names.get(key):
                subs.append((sid, name_map(self.names[key])))
        if self.struct_field_names:
            subs.append((10, indirect(self.struct_field_names)))
        if self.names.get("tag"):
            subs.append((11, name_map(self.names["tag"])))
        # wasm-tools' extension: parameter names of function types and of tags
        if self.type_param_names:
            subs.append((12, indirect(self.type_param_names)))
        if self.tag_param_names:
            subs.append((13, indirect(self.tag_param_names)))
        return b"".join(bytes([sid]) + uleb(len(p)) + p for sid, p in subs)
