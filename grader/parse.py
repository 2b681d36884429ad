"""Turn typed student answers into sympy objects, safely (``sympy.srepr`` text captured in a
kernel goes through :mod:`grader.srepr`, which shares the guards and errors defined here).

Answers are untrusted *data*: nothing here runs ``eval`` or raw ``sympify`` on them. Both entry
points ``ast.parse(mode="eval")`` the text and walk the tree against a whitelist with a small
interpreter that also refuses number bombs (``10**10**10``). Symbols are mapped *by name* to the
grader's canonical symbols, so the student's assumptions are ignored. :func:`parse_student` then
builds the answer with sympy's ``parse_expr`` and a minimal ``global_dict``. Decimal literals
stay sympy ``Float`` (``m**0.5`` is not ``sqrt(m)``); the grader's numeric check accepts both.
Every failure is an :class:`AnswerError` whose message says what to fix, with a caret.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import operator
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeAlias

import sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from grader.answererrors import (
    AnswerError,
    ForbiddenConstructError,
    ParseError,
    TooLargeError,
    UnknownNameError,
)

__all__ = [
    "DEFAULT_FUNCTIONS", "AnswerError", "ForbiddenConstructError", "ParseError", "Parsed",
    "TooLargeError", "UnknownNameError", "parse_student",
]

MAX_TEXT_CHARS = 2000  # typed answers
MAX_SREPR_CHARS = 20000  # srepr spells each symbol out in full, so it runs about 10x longer
MAX_DEPTH = 60  # bracket nesting and syntax-tree depth
MAX_INT_DIGITS = 50
MAX_EXPONENT = 1000  # |exponent| of any power whose exponent is a number
MAX_NUMBER_BITS = 1024  # numerator and denominator of any rational that gets computed
MAX_FLOAT_PRECISION = 1000  # bits

Parsed: TypeAlias = "sympy.Basic | list[Parsed] | tuple[Parsed, ...]"


# name -> (sympy object, (min args, max args)); arity None marks a constant used without a call.
_REGISTRY: dict[str, tuple[Any, tuple[int, int] | None]] = {
    "exp": (sympy.exp, (1, 1)), "log": (sympy.log, (1, 2)), "ln": (sympy.log, (1, 1)),
    "sqrt": (sympy.sqrt, (1, 1)), "sin": (sympy.sin, (1, 1)), "cos": (sympy.cos, (1, 1)),
    "tan": (sympy.tan, (1, 1)), "Abs": (sympy.Abs, (1, 1)), "Rational": (sympy.Rational, (1, 2)),
    "Eq": (sympy.Eq, (2, 2)), "pi": (sympy.pi, None), "E": (sympy.E, None), "oo": (sympy.oo, None),
    "sign": (sympy.sign, (1, 1)),  # sympy.limit returns it for limits of powers
    "floor": (sympy.floor, (1, 1)), "ceiling": (sympy.ceiling, (1, 1)),  # d//2 - 1, d integer
}
DEFAULT_FUNCTIONS: frozenset[str] = frozenset(_REGISTRY)
# What parse_expr's generated code needs: auto_number emits Integer(...) and Float('...'). The
# other names (Symbol, Function, Rational, Lambda, factorial) appear only for inputs the
# whitelist has already rejected, so leaving them out makes any gap fail with a NameError.
_PARSE_EXPR_GLOBALS: dict[str, Any] = {
    "__builtins__": {}, "Integer": sympy.Integer, "Float": sympy.Float,
}
_NAME_ALIASES = {"λ": "lam", "lambda": "lam", "lamda": "lam"}  # lamda: sympy's own spelling
_CHAR_MAP = {"^": "**", "λ": "lam", "π": "pi", "−": "-", "–": "-", "×": "*", "·": "*",
             "⋅": "*", "∙": "*", "÷": "/", "∞": "oo"}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-", strict=True))
_DESCRIBE = {
    ast.Attribute: "Attribute access with '.' is not allowed in an answer.",
    ast.Subscript: "Square brackets are not allowed; use round brackets ( ).",
    ast.Compare: "Comparisons (==, <, >) are not allowed; write an equation with a single '='.",
    ast.Tuple: "Commas are only allowed between function arguments.",
    ast.Lambda: "lambda is not allowed in an answer.", ast.JoinedStr: "Text is not allowed.",
    ast.IfExp: "'if ... else' is not allowed in an answer.",
}


class _Source:
    """The shown text, the code that was parsed, and a map from code columns to shown columns."""

    def __init__(self, display: str, code: str, origin: Sequence[int] | None = None) -> None:
        self.display, self.code, self.origin = display, code, origin

    def col(self, where: ast.AST | int | None, *, byte: bool = True) -> int | None:
        """Map an AST node or a code offset (UTF-8 bytes unless ``byte`` is False) to a column."""
        if isinstance(where, ast.AST):
            where = getattr(where, "col_offset", None)
        if where is None:
            return None
        col = len(self.code.encode()[:where].decode(errors="ignore")) if byte else where
        col = max(0, min(col, len(self.code)))
        return self.origin[col] if self.origin is not None else col

    def fail(self, cls: type[AnswerError], message: str, where: ast.AST | int | None = None,
             *, byte: bool = True, **extra: Any) -> NoReturn:
        """Raise ``cls`` with ``message`` and a caret at ``where`` (see :meth:`col`)."""
        raise cls(message, text=self.display, col=self.col(where, byte=byte), **extra)

    def unknown(self, name: str, where: ast.AST | int | None, kind: str,
                allowed: Iterable[str]) -> NoReturn:
        """Raise :class:`UnknownNameError` for ``name``, listing the allowed names."""
        allowed = sorted(set(allowed), key=str.lower)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if name in _UNEVALUATED:
            hint = f" {_UNEVALUATED[name]}"
        self.fail(UnknownNameError, f"Unknown {kind} {name[:40]!r}.{hint} Allowed: "
                  f"{', '.join(allowed) or '(none)'}.", where, name=name, allowed=allowed)


_UNEVALUATED = {
    "Derivative": "Your answer is an unevaluated Derivative: sympy only wrote it down. Use "
                  "sp.diff(...), or call .doit() on it.",
    "Limit": "Your answer is an unevaluated Limit: sympy only wrote it down. Use "
             "sp.limit(...), or call .doit() on it.",
    "Integral": "Your answer is an unevaluated Integral: call .doit() on it.",
    "Piecewise": "Your answer is split into cases (a Piecewise). Give the expression for the "
                 "case the question is about; built from the notebook's symbols, declared "
                 "positive, sympy needs no cases.",
}
"""What to say when an answer is one of sympy's unevaluated or case-split objects."""


def _check_symbols(symbols: Mapping[str, sympy.Symbol]) -> None:
    """Reject grader-side mistakes in ``symbols`` (these are bugs, not student errors)."""
    for name, sym in symbols.items():
        if not name.isidentifier() or keyword.iskeyword(name) or name in _PARSE_EXPR_GLOBALS:
            raise ValueError(f"symbol name {name!r} cannot be used in an answer")
        if not isinstance(sym, sympy.Basic):
            raise TypeError(f"symbols[{name!r}] must be a sympy object, got {type(sym).__name__}")


def _prescan(src: _Source, limit: int) -> None:
    """Check length, characters and bracket depth before ``ast.parse`` sees the code."""
    if len(src.code) > limit:
        src.fail(TooLargeError, f"The answer is too long (more than {limit} characters).")
    depth = 0
    for i, ch in enumerate(src.code):
        if not (ch.isprintable() or ch == " "):
            src.fail(ParseError, f"The character {ch!r} is not allowed.", i, byte=False)
        depth += (ch in "([{") - (ch in ")]}")
        if depth > MAX_DEPTH:
            src.fail(TooLargeError, f"Brackets are nested too deeply (more than {MAX_DEPTH}).",
                     len(src.code[:i].encode()))


def _parse_tree(src: _Source) -> ast.Expression:
    """``ast.parse`` the code; syntax errors become :class:`ParseError` with a caret."""
    try:
        tree = ast.parse(src.code, mode="eval")
    except SyntaxError as exc:
        msg = (exc.msg or "invalid syntax").split(". Perhaps")[0]
        if msg in ("invalid syntax", "invalid decimal literal"):
            msg = "this is not a valid expression here (is a '*' or a bracket missing?)"
        col = exc.offset - 1 if exc.offset and exc.lineno == 1 else len(src.code)
        src.fail(ParseError, f"Syntax error: {msg}.", col, byte=False)
    except ValueError:
        src.fail(ParseError, "The answer contains characters that cannot be read.")
    except (RecursionError, MemoryError):
        src.fail(TooLargeError, "The answer is too complex to read.")
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 0, tree)]
    while stack:
        node, depth, located = stack.pop()
        located = node if hasattr(node, "col_offset") else located
        if depth > MAX_DEPTH:
            src.fail(TooLargeError, f"The expression is nested too deeply (more than {MAX_DEPTH} "
                     "levels); simplify it.", located)
        stack.extend((child, depth + (not _same_chain(node, child)), located)
                     for child in ast.iter_child_nodes(node))
    return tree


_CHAINS = (ast.Add, ast.Sub, ast.Mult)


def _same_chain(node: ast.AST, child: ast.AST) -> bool:
    """``a + b + c + ...`` parses as nested BinOps; a flat sum or product is not deep."""
    return (isinstance(node, ast.BinOp) and isinstance(child, ast.BinOp)
            and isinstance(node.op, _CHAINS) and isinstance(child.op, _CHAINS)
            and child is node.left)


def _height_bits(x: Any) -> float:
    """Estimate (from above) the bit size of the numbers sympy may compute when it expands ``x``."""
    if isinstance(x, sympy.Rational):
        return max(math.log2(abs(int(x.p)) or 1), math.log2(int(x.q)))
    if isinstance(x, sympy.Pow) and isinstance(x.exp, sympy.Number) and x.exp.is_finite:
        return _height_bits(x.base) * float(abs(x.exp))
    return float(sum(_height_bits(a) for a in x.args)) if isinstance(x, sympy.Basic) else 0.0


def _apply(src: _Source, where: ast.AST | int, fn: Callable[..., Any], *args: Any,
           exprs: bool = True) -> Any:
    """Call a sympy constructor/operator under the size guards; its errors become AnswerErrors.

    With ``exprs`` every argument must be a sympy ``Expr`` (not a bool, set, tuple or equation).
    """
    if exprs and not all(isinstance(a, sympy.Expr) for a in args):
        src.fail(AnswerError, "Only numbers and expressions can be combined here (not equations, "
                 "true/false, sets or lists).", where)
    if fn in (sympy.Pow, operator.pow) and isinstance(args[1], sympy.Number) and args[1].is_finite:
        if abs(args[1]) > MAX_EXPONENT:
            src.fail(TooLargeError, f"Exponents may be at most {MAX_EXPONENT} in size.", where)
        if _height_bits(args[0]) * float(abs(args[1])) > MAX_NUMBER_BITS:
            src.fail(TooLargeError, "This power produces a number that is too large.", where)
    try:
        result = fn(*args)
    except Exception:  # any sympy failure is the answer's fault
        src.fail(AnswerError, "This part of the answer cannot be evaluated (for example an "
                 "equation used inside a sum, or a function given the wrong kind of argument).",
                 where)
    for part in (result, *getattr(result, "args", ())):
        big_exp = isinstance(part, sympy.Pow) and part.exp.is_Number and part.exp.is_finite and \
            abs(part.exp) > MAX_EXPONENT
        big_num = isinstance(part, sympy.Rational) and _height_bits(part) > MAX_NUMBER_BITS
        if big_exp or big_num:
            src.fail(TooLargeError, "This part of the answer is too large (a number above 2**1024 "
                     f"or an exponent above {MAX_EXPONENT}).", where)
    return result


def _op_col(src: _Source, left: ast.AST, right: ast.AST) -> int:
    """Byte offset of the operator written between ``left`` and ``right``."""
    start, stop = getattr(left, "end_col_offset", 0) or 0, right.col_offset  # type: ignore[attr-defined]
    gap = src.code.encode()[start:stop].decode(errors="ignore")
    return start + next((i for i, ch in enumerate(gap) if ch not in " ()"), 0)


def _forbid(src: _Source, node: ast.AST) -> NoReturn:
    """Reject a construct that never appears in a maths answer, pointing at it."""
    where: ast.AST | int = node
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        where = node.value.end_col_offset or node.col_offset  # the '.' or '['
    elif isinstance(node, ast.Compare):
        where = _op_col(src, node.left, node.comparators[0])
    what = _DESCRIBE.get(type(node), f"Python syntax ({type(node).__name__}) is not allowed here; "
                         "write only numbers, names, + - * / ^ and function calls.")
    src.fail(ForbiddenConstructError, what, where)


def _number(src: _Source, node: ast.Constant) -> sympy.Number:
    """Convert an int/float literal, enforcing the digit and finiteness limits."""
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "Text in quotes" if isinstance(value, (str, bytes)) else (
            "Imaginary numbers" if isinstance(value, complex) else f"{value!r}")
        src.fail(ForbiddenConstructError, f"{kind} cannot be used in an answer.", node)
    literal = ast.get_source_segment(src.code, node) or repr(value)
    huge = abs(value) >= 10**MAX_INT_DIGITS if isinstance(value, int) else not math.isfinite(value)
    if huge or sum(c.isdigit() for c in literal) > MAX_INT_DIGITS:
        src.fail(TooLargeError, f"Numbers may have at most {MAX_INT_DIGITS} digits.", node)
    return sympy.Integer(value) if isinstance(value, int) else sympy.Float(repr(value))


_BINOPS: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.AST], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _build_student(src: _Source, node: ast.AST, names: Mapping[str, Any],
                   calls: Mapping[str, tuple[Any, tuple[int, int]]]) -> Any:
    """Check ``node`` against the typed-answer whitelist and build it under the size guards."""
    if isinstance(node, ast.Expression):
        return _build_student(src, node.body, names, calls)
    if isinstance(node, ast.Constant):
        return _number(src, node)
    if isinstance(node, ast.Name):
        if "__" in node.id:
            src.fail(ForbiddenConstructError, "Names containing '__' are not allowed.", node)
        if node.id in names:
            return names[node.id]
        if node.id in calls:
            src.fail(AnswerError, f"{node.id} is a function: write {node.id}(...).", node)
        src.unknown(node.id, node, "name", names)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _build_student(src, node.operand, names, calls)
        return _apply(src, node, _UNARY[type(node.op)], value)
    if isinstance(node, ast.BinOp):
        where = _op_col(src, node.left, node.right)
        if type(node.op) not in _BINOPS:
            src.fail(ForbiddenConstructError, "Only + - * / and ** (or ^) are allowed.", where)
        left = _build_student(src, node.left, names, calls)
        right = _build_student(src, node.right, names, calls)
        return _apply(src, node.right if isinstance(node.op, ast.Pow) else where,
                      _BINOPS[type(node.op)], left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if "__" in name:
            src.fail(ForbiddenConstructError, "Names containing '__' are not allowed.", node)
        if name not in calls:
            if name in names:
                src.fail(AnswerError, f"{name} is not a function; to multiply write {name}*(...).",
                         node)
            src.unknown(name, node, "function", calls)
        for bad in (*node.keywords, *(a for a in node.args if isinstance(a, ast.Starred))):
            src.fail(ForbiddenConstructError, "Write function arguments plainly, as in "
                     f"{name}(x), without '=' or '*'.", bad)
        fn, (lo, hi) = calls[name]
        if not lo <= len(node.args) <= hi:
            src.fail(AnswerError, f"{name} takes {lo if lo == hi else f'{lo} or {hi}'} "
                     f"argument{'s' if hi > 1 else ''}, not {len(node.args)}.", node)
        args = [_build_student(src, a, names, calls) for a in node.args]
        return _apply(src, node, fn, *args)
    _forbid(src, node)


def _normalise(text: str) -> tuple[str, list[int]]:
    """Rewrite typed math as Python code, keeping for each code character its column in ``text``."""
    out: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        if text[i] in _SUPERSCRIPTS:
            while j < len(text) and text[j] in _SUPERSCRIPTS:
                j += 1
            rep = "**(" + "".join(_SUPERSCRIPTS[c] for c in text[i:j]) + ")"
        elif text[i].isspace():
            rep = " "
        else:
            rep = _CHAR_MAP.get(text[i]) or unicodedata.normalize("NFKC", text[i])
        out.append(rep)
        origin.extend([i] * len(rep))
        i = j
    code = "".join(out)
    lead, end = len(code) - len(code.lstrip(" ")), len(code.rstrip(" "))
    origin.append(len(text))
    return code[lead:end], [*origin[lead:end], origin[end] if end < len(code) else len(text)]


def _split_equation(src: _Source) -> tuple[_Source, bool]:
    """Rewrite a single top-level ``lhs = rhs`` as ``Eq(lhs, rhs)``; other code passes through."""
    code, depth, found = src.code, 0, []
    for i, ch in enumerate(code):
        depth += (ch in "([{") - (ch in ")]}")
        near = code[i - 1:i] + code[i + 1:i + 2]
        if ch == "=" and depth == 0 and not any(c in "=<>!:" for c in near):
            found.append(i)
    if not found:
        return src, False
    if len(found) > 1:
        src.fail(ParseError, "Use at most one '=' (an answer is one expression or one equation).",
                 found[1], byte=False)
    k = found[0]
    for side, part in (("left", code[:k]), ("right", code[k + 1:])):
        if not part.strip():
            src.fail(ParseError, f"There is nothing on the {side} of '='.", k, byte=False)
    assert src.origin is not None
    org, eq = src.origin, src.origin[k]
    mapped = [eq] * 3 + list(org[:k]) + [eq] + list(org[k + 1:len(code)]) + [org[-1]] * 2
    return _Source(src.display, f"Eq({code[:k]},{code[k + 1:]})", mapped), True


def parse_student(text: str, symbols: Mapping[str, sympy.Symbol], *,
                  functions: Iterable[str] = DEFAULT_FUNCTIONS) -> sympy.Basic:
    """Parse a typed answer such as ``(m/m_l)^(d/(d-2))`` into a sympy expression.

    ``symbols`` maps each allowed name to the grader's canonical symbol. ``functions`` chooses
    the names allowed from the registry (``DEFAULT_FUNCTIONS``). Where a name is in both,
    ``symbols`` wins. A single top-level ``=`` makes an equation (``Eq``). ``^`` means power.
    Unicode λ π − × · ÷ ∞ and superscript digits are accepted. Raises :class:`AnswerError`.
    """
    if not isinstance(text, str):
        raise ParseError("No answer was given (expected text).")
    _check_symbols(symbols)
    unknown = set(functions) - set(_REGISTRY)
    if unknown:
        raise ValueError(f"unsupported functions {sorted(unknown)}; use {sorted(_REGISTRY)}")
    table = {k: _REGISTRY[k] for k in functions if k not in symbols}
    if len(text) > MAX_TEXT_CHARS:
        raise TooLargeError(f"The answer is too long (more than {MAX_TEXT_CHARS} characters).")
    src = _Source(text, *_normalise(text))
    if not src.code:
        src.fail(ParseError, "The answer is empty.", 0)
    for i, ch in enumerate(src.code):
        if not ch.isascii():
            src.fail(ParseError, f"The character {ch!r} is not allowed; type names in plain "
                     "letters (for example lam, m_l, pi).", i, byte=False)
    _prescan(src, 3 * MAX_TEXT_CHARS)
    src, equation = _split_equation(src)
    calls = {k: (v, n) for k, (v, n) in table.items() if n is not None}
    if equation:
        calls["Eq"] = (sympy.Eq, (2, 2))
    names: dict[str, Any] = {k: v for k, (v, n) in table.items() if n is None}
    names.update(symbols)
    _build_student(src, _parse_tree(src), names, calls)  # whitelist + bomb guard
    local_dict = {**{k: v for k, (v, _) in calls.items()}, **names}
    try:
        return parse_expr(src.code, local_dict=local_dict, global_dict=dict(_PARSE_EXPR_GLOBALS),
                          transformations=standard_transformations, evaluate=True)
    except Exception:  # report as an answer problem
        src.fail(AnswerError, "The answer could not be turned into an expression.", 0)
