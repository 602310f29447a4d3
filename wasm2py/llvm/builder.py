"""A cheaper ``llvmlite.ir.IRBuilder`` for the lowering: the instructions it emits most (loads,
stores, branches, integer and float arithmetic, compares, casts, ``getelementptr`` with an
explicit element type, ``select``, ``alloca``, ``phi``, calls, returns) are :class:`Fast` values
that write their IR text once, when they are made, instead of llvmlite's instruction objects,
which format it through several layers of ``str.format`` when the module is printed (with the
objects' construction, about half of a cold compile's CPU at the quick pipeline); the blocks of
a :class:`Function` are :class:`Block` s, made and printed the same way, and a store is only
its text (with its alloca's, see :class:`Alloca`). The text is exactly what llvmlite writes for
the same calls, less the NaN checks and allocas nothing uses (:class:`NanCheck`,
:class:`Alloca`; ``tests/test_llvm_builder.py`` compares the two);
every other instruction, and every call this builder does not recognise (vector compares,
flags, typed-pointer loads, switches), goes to llvmlite's own methods, so both kinds mix freely
in a block.
"""

from __future__ import annotations

import functools
import re

from llvmlite import ir

_CMP = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}
_I1 = ir.IntType(1)
_I32 = ir.IntType(32)
_VOID = ir.VoidType()
_LABEL = ir.LabelType()
#: names LLVM reads without quotes (llvmlite's rule for block labels)
_SIMPLE = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*$")
_TAILS = frozenset(("tail", "musttail", "notail"))
#: block name asked for -> whether it is simple (:data:`_SIMPLE`), for the names the lowering
#: gives again and again ("end", "loop"...)
_SIMPLE_NAMES: dict[str, bool] = {}


#: the names and references of unnamed values, ``(".N", "%.N")`` (made once: formatting
#: them was a twentieth of the lowering; unquoted, as LLVM reads a simple name: three in four
#: references are these, and the quotes were ~5% of the text LLVM parses)
_NUMBERED: list[tuple[str, str]] = []


def _numbered(n: int) -> tuple[str, str]:
    """The name and reference of unnamed value ``n`` (growing :data:`_NUMBERED` to hold it)."""
    _NUMBERED.extend([(f".{k}", f"%.{k}") for k in range(len(_NUMBERED), 2 * n + 64)])
    return _NUMBERED[n]


class Names:
    """The names of a function's values (``ir.Function.scope``): what llvmlite's own scope
    does (unique names; ``deduplicate`` appends ``.N``), but an unnamed value gets the next
    number at once, where llvmlite's tries ``.1``, ``.2``... (a sixth of the lowering's time
    went to naming; :meth:`Builder._value` takes the next number itself). ``start``: the
    numbers the function's arguments took already."""

    __slots__ = ("_used", "next")

    def __init__(self, start: int):
        self._used: dict[str, int] = {}
        #: the number of the last unnamed value
        self.next = start

    def register(self, name: str, deduplicate: bool = False) -> str:
        """A unique name for a value asked to be called ``name`` (``""``: the next number);
        ``deduplicate``: append ``.N`` to a name taken already, else raise ``NameError``."""
        if not name:
            n = self.next = self.next + 1
            try:
                return _NUMBERED[n][0]  # (no name given here has this form)
            except IndexError:
                return _numbered(n)[0]
        n = self._used.get(name)
        if n is None:
            self._used[name] = 0
            return name
        if not deduplicate:
            raise NameError(f"duplicate name {name!r}")
        while True:
            n += 1
            unique = f"{name}.{n}"
            if unique not in self._used:
                break
        self._used[name] = n
        self._used[unique] = 0
        return unique


class Fast:
    """An instruction whose text is written when it is made (a value of ``type`` named
    ``name`` unless it is void or a terminator). Quacks like an ``llvmlite.ir`` instruction
    where the lowering and llvmlite's printing look: ``type``, ``name``, ``parent``,
    ``get_reference()``, ``set_metadata()``, ``str()``."""

    __slots__ = ("parent", "type", "name", "_ref", "_text", "metadata")

    def __init__(self, parent, typ, name: str, ref: str, text: str):
        self.parent = parent
        self.type = typ
        self.name = name
        self._ref = ref
        self._text = text
        self.metadata: dict | None = None

    def get_reference(self) -> str:
        return self._ref

    def set_metadata(self, name: str, node) -> None:
        # (written into the text at once: branch weights on a sixth of the branches)
        self._text += f", !{name} {node.get_reference()}"

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<Fast {self._text!r}>"


class Operand:
    """A constant operand given as its type and text (``"123"``), for llvmlite's builder and
    this one alike (``type``, ``get_reference()``)."""

    __slots__ = ("type", "_ref")

    def __init__(self, typ, ref: str):
        self.type = typ
        self._ref = ref

    def get_reference(self) -> str:
        return self._ref


class FastSelect(Fast):
    """A ``select``: llvmlite writes a space before the comma of its metadata."""

    __slots__ = ()

    def set_metadata(self, name: str, node) -> None:
        if self.metadata is None:
            self.metadata = {}
        self.metadata[name] = node

    def __str__(self) -> str:
        if not self.metadata:
            return self._text
        return self._text + " " + "".join(f", !{k} {v.get_reference()}"
                                          for k, v in self.metadata.items())  # fmt: skip


class NanCheck(FastSelect):
    """The ``select`` of a NaN check (:meth:`Builder.nan_check`): printed only if something
    took its value (:attr:`used`, set by :meth:`get_reference`, which every user calls while
    the lowering runs). Most checks go unused (the value is stored as it is, or taken by
    arithmetic that treats all NaNs alike), and the quick pipeline has no pass that would
    delete them: 4% of the IR lines of the benchmark module were such checks."""

    __slots__ = ("used",)

    def get_reference(self) -> str:
        self.used = True
        return self._ref


class Lazy(Fast):
    """A value printed only if something took it (:attr:`used`, as for a :class:`NanCheck`):
    the i32 extension of a comparison's i1 (:meth:`Builder.bool_i32`), which is left unused
    when the i1 itself is what the consumers take (a branch, ``and`` of two comparisons)."""

    __slots__ = ("used",)

    def get_reference(self) -> str:
        self.used = True
        return self._ref


class NanCompare(Fast):
    """The ``fcmp uno`` of a :class:`NanCheck` (``check``): printed only with it."""

    __slots__ = ("check",)


class Alloca(Fast):
    """An ``alloca`` of one ``allocated_type`` (what :meth:`Builder.load` reads without being
    told the type), with the text of a load from it and the parts of a store's text around
    the value's reference, written once (locals are a third of all loads and stores, and
    formatting an llvmlite type calls its ``__str__``). Printed, with the stores into it,
    only if something reads it or takes its address (:attr:`used`, as for a
    :class:`NanCheck`): a local whose every read found its value known (``known`` in the
    lowering) needs no memory at all, and the quick pipeline has no pass to delete it."""

    __slots__ = ("allocated_type", "load_text", "store_head", "store_tail", "used")

    def get_reference(self) -> str:
        self.used = True
        return self._ref


class Phi(Fast):
    """A ``phi`` whose incoming values are added later (:meth:`add_incoming`): its text is
    written when printed."""

    __slots__ = ("incomings",)

    set_metadata = FastSelect.set_metadata  # (printed after the incomings)

    def add_incoming(self, value, block) -> None:
        value.get_reference()  # (a use: see NanCheck)
        self.incomings.append((value, block))

    def __str__(self) -> str:
        incs = ", ".join([f"[{v.get_reference()}, {b.get_reference()}]"
                          for v, b in self.incomings])  # fmt: skip
        return (f"{self._text} {incs}".rstrip() + "".join(
            f", !{k} {v.get_reference()}" for k, v in (self.metadata or {}).items()))


class Block(ir.Block):
    """A basic block made and printed without llvmlite's layers (its reference and label are
    formatted once)."""

    def __init__(self, parent, name=""):  # (llvmlite's checks and name probing skipped)
        self.parent = parent
        self.type = _LABEL
        self.scope = scope = parent.scope
        if not name and type(scope) is Names:  # (most blocks: ".N", a simple label)
            n = scope.next = scope.next + 1
            name, self._ref = _NUMBERED[n] if n < len(_NUMBERED) else _numbered(n)
            self._name = self._label = name
        else:
            simple = _SIMPLE_NAMES.get(name)
            if simple is None:  # (".N" added to a simple name leaves it simple)
                if len(_SIMPLE_NAMES) > 1024:
                    _SIMPLE_NAMES.clear()
                simple = _SIMPLE_NAMES[name] = bool(_SIMPLE.match(name))
            self._name = name = scope.register(name, deduplicate=True)
            if simple:
                self._ref = f"%{name}"
                self._label = name
            else:
                self._ref = f'%"{name}"' if '"' not in name and "\\" not in name else _quoted(name)
                self._label = name if _SIMPLE.match(name) else self._ref[1:]
        self.instructions = []
        self.terminator = None

    def get_reference(self) -> str:
        return self._ref

    def descr(self, buf) -> None:
        # (a plain Fast's text read directly: no call of __str__ per instruction; unused NaN
        # checks and allocas left out, with the stores into such allocas; one join per block)
        texts = [i if type(i) is str else
                 i[1] if type(i) is tuple else
                 i._text if type(i) is Fast and not i.metadata else str(i)
                 for i in self.instructions
                 if type(i) is str or (i[0].used if type(i) is tuple else
                                       type(i) not in _LAZY or _live(i))]  # fmt: skip
        buf.append(f"{self._label}:\n  " + "\n  ".join(texts) + "\n" if texts else
                   f"{self._label}:\n")  # fmt: skip


_new_block = object.__new__
#: id(type) -> (the type, its pointer type, and the texts of an alloca of it, of a load from
#: such an alloca up to its name and of a store into one around the value; see
#: Builder.alloca): formatting them, and making the pointer type, took most of the time of
#: the allocas of locals (17 per function of the benchmark module)
_ALLOCA_TEXTS: dict[int, tuple] = {}

#: what is printed only if used (see :func:`_live`): a store into an alloca is kept as the
#: pair (alloca, text)
_LAZY = frozenset((NanCheck, NanCompare, Alloca, Lazy, tuple))
#: what records its uses in ``used``
_USES = (NanCheck, Alloca, Lazy)


def _live(i) -> bool:
    """Whether the :class:`NanCheck`, :class:`NanCompare`, :class:`Alloca` or store into an
    alloca ``i`` is printed."""
    t = type(i)
    if t is tuple:
        return i[0].used
    return i.check.used if t is NanCompare else i.used


class Argument(ir.Argument):
    """An argument of a :class:`Function`, numbered by its position (``%".1"``... as
    llvmlite's scope names them), whose attributes are made on first use (:func:`_has_attrs`
    tells an argument nobody asked for attributes at once)."""

    def __init__(self, parent, typ, n: int):  # (llvmlite's naming and checks skipped)
        self.parent = parent
        self.type = typ
        self._name, self._ref = _NUMBERED[n] if n < len(_NUMBERED) else _numbered(n)

    @functools.cached_property
    def attributes(self):
        return ir.values.ArgumentAttributes()

    def get_reference(self) -> str:
        return self._ref


class ReturnValue(ir.values.ReturnValue):
    """A :class:`Function`'s return value, its attributes made on first use."""

    def __init__(self, parent, typ):
        self.parent = parent
        self.type = typ
        self._name = ""

    attributes = Argument.attributes


class Function(ir.Function):
    """``ir.Function`` whose blocks are :class:`Block` s (with ``frame_pointer`` set: keeps a
    frame pointer, an attribute llvmlite does not know), and whose head is written without
    llvmlite's layers when nothing in it has attributes (every part of a big module declares
    all the module's functions: their heads were a tenth of the lowering's time). Its values
    are named by a :class:`Names` scope; it is made without llvmlite's naming of its
    arguments (a tenth of making one, which a part of a big module does for every function
    of the module and its entry)."""

    frame_pointer = False

    def __init__(self, module, ftype, name):  # (what ir.Function.__init__ does, cheaper)
        self.parent = module
        self.type = ftype.as_pointer()
        self._name = module.scope.register(name)
        self.linkage = ""
        self.storage_class = ""
        self.section = ""
        self.metadata = {}
        self.ftype = ftype
        self.blocks = []
        self.attributes = ir.values.FunctionAttributes()
        self.args = tuple([Argument(self, t, k) for k, t in enumerate(ftype.args, 1)])
        self.scope = Names(len(self.args) + 1)  # (llvmlite's return value takes a number)
        self.return_value = ReturnValue(self, ftype.return_type)
        module.add_global(self)
        self.calling_convention = ""

    def descr_prototype(self, buf) -> None:
        if (self.attributes or self.ftype.var_arg or self.section or self.metadata
                or _has_attrs(self.return_value) or any(_has_attrs(a) for a in self.args)):
            super().descr_prototype(buf)
        else:
            parts = ["define" if self.blocks else "declare", self.linkage,
                     self.calling_convention, str(self.return_value.type)]  # fmt: skip
            args = _ARGS_TEXT.get(id(self.ftype))
            if args is None or args[0] is not self.ftype:
                args = _ARGS_TEXT[id(self.ftype)] = (self.ftype, ", ".join(
                    [f"{a.type} {a.get_reference()}" for a in self.args]))
            buf.append(f"{' '.join([p for p in parts if p])} {self.get_reference()}({args[1]})\n")
        if self.frame_pointer:
            buf[-1] = buf[-1][:-1] + ' "frame-pointer"="all"\n'

    def append_basic_block(self, name=""):
        scope = self.scope
        if name or type(scope) is not Names:
            blk = Block(self, name)
        else:  # (most blocks: Block.__init__'s unnamed case, without the call)
            blk = _new_block(Block)
            blk.parent = self
            blk.type = _LABEL
            blk.scope = scope
            n = scope.next = scope.next + 1
            name, blk._ref = _NUMBERED[n] if n < len(_NUMBERED) else _numbered(n)
            blk._name = blk._label = name
            blk.instructions = []
            blk.terminator = None
        self.blocks.append(blk)
        return blk

    def insert_basic_block(self, before, name=""):
        blk = Block(self, name)
        self.blocks.insert(before, blk)
        return blk


#: id(function type) -> (it, the text of the arguments of a :class:`Function` of it)
_ARGS_TEXT: dict[int, tuple] = {}


def _has_attrs(value) -> bool:
    """Whether an argument or return value of a function has attributes to print."""
    if type(value) in (Argument, ReturnValue) and "attributes" not in value.__dict__:
        return False
    a = value.attributes
    return bool(a) or bool(getattr(a, "align", 0) or getattr(a, "dereferenceable", 0)
                           or getattr(a, "dereferenceable_or_null", 0))  # fmt: skip


def _binop(opname: str):
    def method(self, lhs, rhs, name="", flags=()):
        t = lhs.type
        # (``is`` first: llvmlite's type ``==`` is a Python method, and types mostly are
        # the same objects)
        if flags or (rhs.type is not t and rhs.type != t):
            return getattr(ir.IRBuilder, _SLOW[opname])(self, lhs, rhs, name, flags)
        return self._value(t, name, f"{opname} {t} {lhs.get_reference()}, "
                                    f"{rhs.get_reference()}")  # fmt: skip

    method.__name__ = _SLOW[opname]
    return method


def _castop(opname: str):
    def method(self, val, typ, name=""):
        vt = val.type
        # (integers compared by width: llvmlite's type == formats both types)
        if vt is typ or (typ.width == vt.width if type(vt) is ir.IntType is type(typ)
                         else vt == typ):  # fmt: skip
            return val
        return self._value(typ, name, f"{opname} {val.type} {val.get_reference()} to {typ}")

    method.__name__ = opname
    return method


_SLOW = {"add": "add", "sub": "sub", "mul": "mul", "and": "and_", "or": "or_", "xor": "xor",
         "shl": "shl", "lshr": "lshr", "ashr": "ashr", "udiv": "udiv", "sdiv": "sdiv",
         "urem": "urem", "srem": "srem", "fadd": "fadd", "fsub": "fsub", "fmul": "fmul",
         "fdiv": "fdiv"}  # fmt: skip


class Builder(ir.IRBuilder):
    """``ir.IRBuilder`` with the common instructions made as :class:`Fast` ones."""

    def _value(self, typ, name: str, text: str, kind=Fast) -> Fast:
        block = self._block
        scope = block.scope
        if not name and type(scope) is Names:  # (most values: no call, no formatting)
            n = scope.next = scope.next + 1
            try:
                name, ref = _NUMBERED[n]
            except IndexError:
                name, ref = _numbered(n)
        else:
            simple = _SIMPLE_NAMES.get(name)
            if simple is None:  # (".N" added to a simple name leaves it simple)
                if len(_SIMPLE_NAMES) > 1024:
                    _SIMPLE_NAMES.clear()
                simple = _SIMPLE_NAMES[name] = bool(_SIMPLE.match(name))
            name = scope.register(name, deduplicate=True)
            if simple:
                ref = f"%{name}"
            else:
                ref = f'%"{name}"' if '"' not in name and "\\" not in name else _quoted(name)
        text = f"{ref} = {text}"
        instr = kind(block, typ, name, ref, text)
        # (a plain value's text itself goes into the block: nothing changes it after this, so
        # printing needs no look at the object)
        block.instructions.insert(self._anchor, text if kind is Fast else instr)
        self._anchor += 1
        return instr

    def _insert(self, instr) -> None:
        # an llvmlite instruction (printed later): its operands are used (see NanCheck)
        for op in instr.operands:
            if type(op) in _USES:
                op.used = True
        super()._insert(instr)

    def nan_check(self, r, nan) -> NanCheck:
        """``select(fcmp uno r, r; nan; r)``, the NaN rule's check of float ``r`` (the two
        instructions are left out of the text unless the select's value is used: see
        :class:`NanCheck`)."""
        ref = r.get_reference()
        t = r.type
        cmp = self._value(_I1, "", f"fcmp uno {t} {ref}, {ref}", NanCompare)
        c = self._value(t, "", f"select  i1 {cmp._ref}, {t} {nan.get_reference()}, {t} {ref}",
                        NanCheck)  # fmt: skip
        c.used = False
        cmp.check = c
        return c

    def _void(self, text: str) -> Fast:
        block = self._block
        # (llvmlite names void instructions too, unprinted: so do we, for the same text)
        scope = block.scope
        if type(scope) is Names:
            n = scope.next = scope.next + 1
            name = _NUMBERED[n][0] if n < len(_NUMBERED) else _numbered(n)[0]
        else:
            name = scope.register("", deduplicate=True)
        instr = Fast(block, _VOID, name, "", text)
        block.instructions.insert(self._anchor, instr)
        self._anchor += 1
        return instr

    def _terminate(self, text: str) -> Fast:
        # (_void's work, inlined: a block's end is a sixth of the instructions)
        block = self._block
        assert block.terminator is None
        scope = block.scope
        if type(scope) is Names:
            n = scope.next = scope.next + 1
            name = _NUMBERED[n][0] if n < len(_NUMBERED) else _numbered(n)[0]
        else:
            name = scope.register("", deduplicate=True)
        instr = block.terminator = Fast(block, _VOID, name, "", text)
        block.instructions.insert(self._anchor, instr)
        self._anchor += 1
        return instr

    # -- memory ---------------------------------------------------------------------------
    def alloca(self, typ, size=None, name=""):
        if size is not None:
            return super().alloca(typ, size, name)
        texts = _ALLOCA_TEXTS.get(id(typ))
        if texts is None or texts[0] is not typ:
            pt = typ.as_pointer()
            texts = _ALLOCA_TEXTS[id(typ)] = (typ, pt, f"alloca {typ}", f"load {typ}, {pt} ",
                                              f"store {typ} ", f", {pt} ")  # fmt: skip
        _, pt, text, load, head, tail = texts
        instr = self._value(pt, name, text, Alloca)
        instr.allocated_type = typ
        instr.load_text = load + instr._ref
        instr.store_head = head
        instr.store_tail = tail + instr._ref
        instr.used = False
        return instr

    def load(self, ptr, name="", align=None, typ=None, volatile=False):
        if type(ptr) is Alloca and typ is None and align is None and not volatile:
            ptr.used = True
            return self._value(ptr.allocated_type, name, ptr.load_text)
        if volatile:  # (only the lowering asks for it, always with the type)
            tail = f", align {align}" if align is not None else ""
            return self._value(typ, name,
                               f"load volatile {typ}, {ptr.type} {ptr.get_reference()}{tail}")
        if typ is None:
            if isinstance(ptr, Alloca):
                typ = ptr.allocated_type
            elif isinstance(ptr, ir.AllocaInstr):
                typ = ptr.allocated_type
            else:
                return super().load(ptr, name, align, typ)
        tail = f", align {align}" if align is not None else ""
        return self._value(typ, name, f"load {typ}, {ptr.type} {ptr.get_reference()}{tail}")

    def store(self, value, ptr, align=None, volatile=False) -> None:
        # (the text itself goes into the block: a store is nobody's operand, and has no
        # metadata; it takes a number, as llvmlite's void instructions do)
        if type(ptr) is Alloca and align is None and not volatile:
            # (with its alloca: printed only if that is, see Alloca)
            text = (ptr, ptr.store_head + value.get_reference() + ptr.store_tail)
        else:
            tail = f", align {align}" if align is not None else ""
            text = (f"store {'volatile ' if volatile else ''}{value.type} "
                    f"{value.get_reference()}, {ptr.type} {ptr.get_reference()}{tail}")
        block = self._block
        scope = block.scope
        if type(scope) is Names:
            scope.next += 1
        else:
            scope.register("", deduplicate=True)
        block.instructions.insert(self._anchor, text)
        self._anchor += 1

    def load_alloca(self, ptr: Alloca):
        """:meth:`load` from ``ptr``, an :class:`Alloca` (a local: the common case, without
        load's tests)."""
        ptr.used = True
        return self._value(ptr.allocated_type, "", ptr.load_text)

    def int_binop(self, name: str, head: str, lhs, rhs):
        """The integer binop ``name`` (``"add"``, ``"and_"``...) of two values of the same
        type, ``head`` its text up to the operands (``"add i32 "``), written without the
        tests of ``add`` etc."""
        return self._value(lhs.type, "", head + lhs.get_reference() + ", " + rhs.get_reference())

    def bool_i32(self, c):
        """``zext i1 c to i32``, printed only if used (:class:`Lazy`)."""
        z = self._value(_I32, "", f"zext i1 {c.get_reference()} to i32", Lazy)
        z.used = False
        return z

    def int_compare(self, cmpop: str, signed: bool, head: str, lhs, rhs):
        """``icmp_signed`` (``signed``) or ``icmp_unsigned`` of two integers, ``head`` its text
        up to the operands (``"icmp slt i32 "``)."""
        return self._value(_I1, "", head + lhs.get_reference() + ", " + rhs.get_reference())

    def store_alloca(self, value, ptr: Alloca) -> None:
        """:meth:`store` of ``value`` into ``ptr``, an :class:`Alloca` (a local: the common
        case, without store's tests)."""
        block = self._block
        scope = block.scope
        if type(scope) is Names:
            scope.next += 1
        else:
            scope.register("", deduplicate=True)
        block.instructions.insert(self._anchor, (ptr, ptr.store_head + value.get_reference()
                                                 + ptr.store_tail))  # fmt: skip
        self._anchor += 1

    def gep(self, ptr, indices, inbounds=False, name="", source_etype=None):
        if source_etype is None:
            return super().gep(ptr, indices, inbounds, name, source_etype)
        op = "getelementptr inbounds" if inbounds else "getelementptr"
        if len(indices) == 1:
            i = indices[0]
            idx = f"{i.type} {i.get_reference()}"
        else:
            idx = ", ".join([f"{i.type} {i.get_reference()}" for i in indices])
        return self._value(ptr.type, name,
                           f"{op} {source_etype}, {ptr.type} {ptr.get_reference()}, {idx}")

    # -- control --------------------------------------------------------------------------
    def branch(self, target):
        return self._terminate(f"br label {target.get_reference()}")

    def cbranch(self, cond, truebr, falsebr):
        return self._terminate(f"br {'i1' if cond.type is _I1 else cond.type} "
                               f"{cond.get_reference()}, label {truebr.get_reference()}, label "
                               f"{falsebr.get_reference()}")  # fmt: skip

    def ret(self, value):
        return self._terminate(f"ret {value.type} {value.get_reference()}")

    def ret_void(self):
        return self._terminate("ret void")

    def phi(self, typ, name="", flags=()):
        if flags:
            return super().phi(typ, name, flags)
        instr = self._value(typ, name, f"phi  {typ}", Phi)
        instr.incomings = []
        return instr

    def call(self, fn, args, name="", cconv=None, tail=False, fastmath=(), attrs=(),
             arg_attrs=None):  # fmt: skip
        fnty = fn.function_type
        if fastmath or attrs or arg_attrs or fnty.var_arg:
            return super().call(fn, args, name, cconv, tail, fastmath, attrs, arg_attrs)
        if cconv is None and isinstance(fn, ir.Function):
            cconv = fn.calling_convention
        if not (isinstance(tail, str) and tail in _TAILS):
            tail = "tail" if tail else ""
        text = (f"{tail + ' ' if tail else ''}call {cconv + ' ' if cconv else ''}"
                f"{fnty.return_type} {fn.get_reference()}("
                + ", ".join([f"{a.type} {a.get_reference()}" for a in args]) + ")")
        if isinstance(fnty.return_type, ir.VoidType):
            return self._void(text)
        return self._value(fnty.return_type, name, text)

    # -- compares and select --------------------------------------------------------------
    def _cmp(self, opname: str, op: str, lhs, rhs, name: str):
        return self._value(_I1, name, f"{opname} {op} {lhs.type} {lhs.get_reference()}, "
                                      f"{rhs.get_reference()}")  # fmt: skip

    def icmp_signed(self, cmpop, lhs, rhs, name=""):
        if isinstance(lhs.type, ir.VectorType):
            return super().icmp_signed(cmpop, lhs, rhs, name)
        op = _CMP[cmpop]
        return self._cmp("icmp", op if cmpop in ("==", "!=") else "s" + op, lhs, rhs, name)

    def icmp_unsigned(self, cmpop, lhs, rhs, name=""):
        if isinstance(lhs.type, ir.VectorType):
            return super().icmp_unsigned(cmpop, lhs, rhs, name)
        op = _CMP[cmpop]
        return self._cmp("icmp", op if cmpop in ("==", "!=") else "u" + op, lhs, rhs, name)

    def fcmp_ordered(self, cmpop, lhs, rhs, name="", flags=()):
        if flags or isinstance(lhs.type, ir.VectorType):
            return super().fcmp_ordered(cmpop, lhs, rhs, name, flags)
        return self._cmp("fcmp", "o" + _CMP[cmpop] if cmpop in _CMP else cmpop, lhs, rhs, name)

    def fcmp_unordered(self, cmpop, lhs, rhs, name="", flags=()):
        if flags or isinstance(lhs.type, ir.VectorType):
            return super().fcmp_unordered(cmpop, lhs, rhs, name, flags)
        return self._cmp("fcmp", "u" + _CMP[cmpop] if cmpop in _CMP else cmpop, lhs, rhs, name)

    def select(self, cond, lhs, rhs, name="", flags=()):
        if flags:
            return super().select(cond, lhs, rhs, name, flags)
        return self._value(lhs.type, name, f"select  {cond.type} {cond.get_reference()}, "
                                           f"{lhs.type} {lhs.get_reference()}, {rhs.type} "
                                           f"{rhs.get_reference()}", FastSelect)  # fmt: skip

    # -- arithmetic and casts -------------------------------------------------------------
    add = _binop("add")
    sub = _binop("sub")
    mul = _binop("mul")
    and_ = _binop("and")
    or_ = _binop("or")
    xor = _binop("xor")
    shl = _binop("shl")
    lshr = _binop("lshr")
    ashr = _binop("ashr")
    udiv = _binop("udiv")
    sdiv = _binop("sdiv")
    urem = _binop("urem")
    srem = _binop("srem")
    fadd = _binop("fadd")
    fsub = _binop("fsub")
    fmul = _binop("fmul")
    fdiv = _binop("fdiv")
    trunc = _castop("trunc")
    zext = _castop("zext")
    sext = _castop("sext")
    fptrunc = _castop("fptrunc")
    fpext = _castop("fpext")
    bitcast = _castop("bitcast")
    ptrtoint = _castop("ptrtoint")
    inttoptr = _castop("inttoptr")
    uitofp = _castop("uitofp")
    sitofp = _castop("sitofp")
    fptoui = _castop("fptoui")
    fptosi = _castop("fptosi")


def _quoted(name: str) -> str:
    return '%"{}"'.format(name.replace("\\", "\\5c").replace('"', "\\22"))
