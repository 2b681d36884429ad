"""Rebuild a sympy object from ``sympy.srepr`` text captured in a student's kernel, safely.

The text is parsed with ``ast.parse(mode="eval")`` and rebuilt by a small interpreter over a
whitelist of constructors (``Symbol``, ``Integer``, ``Add``, ``Pow``, ``Equality``, ...):
nothing is ever evaluated.  Symbols are mapped by name to the grader's canonical symbols; a
student's own class (``Cheat('m')``) or attribute access is refused.  The guards against
number bombs and the error types are shared with :mod:`grader.parse`.
"""

from __future__ import annotations

import ast
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import sympy

from grader.parse import (
    _NAME_ALIASES,
    _REGISTRY,
    _UNARY,
    MAX_FLOAT_PRECISION,
    MAX_SREPR_CHARS,
    AnswerError,
    ForbiddenConstructError,
    Parsed,
    ParseError,
    TooLargeError,
    _apply,
    _check_symbols,
    _forbid,
    _number,
    _parse_tree,
    _prescan,
    _Source,
)

__all__ = ["parse_srepr"]

_SREPR_CALLS: dict[str, tuple[Callable[..., Any], tuple[int, int]]] = {
    "Add": (sympy.Add, (0, 10**6)), "Mul": (sympy.Mul, (0, 10**6)), "Pow": (sympy.Pow, (2, 2)),
    "Equality": (sympy.Eq, (2, 2)), "Eq": (sympy.Eq, (2, 2)), "Tuple": (sympy.Tuple, (0, 10**6)),
    "FiniteSet": (sympy.FiniteSet, (0, 10**6)),
    **{k: (v, n) for k, (v, n) in _REGISTRY.items() if n is not None and k != "Rational"},
}
_SREPR_FUNCS = sorted(k for k in _SREPR_CALLS if k not in ("Add", "Mul", "Pow", "Equality"))
_SREPR_NAMES: dict[str, Any] = {
    "pi": sympy.pi, "E": sympy.E, "I": sympy.I, "oo": sympy.oo, "zoo": sympy.zoo,
    "nan": sympy.nan, "true": sympy.true, "false": sympy.false, "EmptySet": sympy.EmptySet,
}

def _int_arg(src: _Source, node: ast.AST) -> int:
    """An srepr integer literal, possibly negated (srepr prints ``Integer(-1)``)."""
    negate = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    inner = node.operand if negate else node  # type: ignore[attr-defined]
    if not (isinstance(inner, ast.Constant) and type(inner.value) is int):
        src.fail(ForbiddenConstructError, "Expected a whole number here.", node)
    return -int(_number(src, inner)) if negate else int(_number(src, inner))


def _symbol(src: _Source, node: ast.Call, symbols: Mapping[str, sympy.Symbol]) -> sympy.Basic:
    """``Symbol('m', positive=True)`` -> the canonical symbol named ``m`` (assumptions ignored)."""
    if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) or \
            not isinstance(node.args[0].value, str):
        src.fail(ForbiddenConstructError, "Symbol(...) needs exactly one name in quotes.", node)
    for kw in node.keywords:
        if kw.arg is None or "__" in kw.arg or not isinstance(kw.value, ast.Constant) or \
                not isinstance(kw.value.value, bool):
            src.fail(ForbiddenConstructError, "Symbol assumptions must be True or False.", kw)
    name = unicodedata.normalize("NFKC", node.args[0].value)
    name = name if name in symbols else _NAME_ALIASES.get(name, name)
    if name not in symbols:
        src.unknown(name, node.args[0], "symbol", symbols)
    return symbols[name]


def _float(src: _Source, node: ast.Call) -> sympy.Float:
    """``Float('4.08899', precision=53)`` with bounded length and precision."""
    arg = node.args[0] if len(node.args) == 1 else None
    if not isinstance(arg, ast.Constant) or not isinstance(arg.value, (str, int, float)) or \
            isinstance(arg.value, bool) or len(str(arg.value)) > 400:
        src.fail(ForbiddenConstructError, "Float(...) needs one number or numeric text.", node)
    precision = 53
    for kw in node.keywords:
        if kw.arg != "precision":
            src.fail(ForbiddenConstructError, "Float accepts only precision=...", kw)
        precision = _int_arg(src, kw.value)
        if not 1 <= precision <= MAX_FLOAT_PRECISION:
            src.fail(TooLargeError, f"Float precision must be 1..{MAX_FLOAT_PRECISION}.", kw)
    value = arg.value if isinstance(arg.value, str) else repr(arg.value)
    return _apply(src, node, lambda: sympy.Float(value, precision=precision), exprs=False)


def _build_srepr(src: _Source, node: ast.AST, symbols: Mapping[str, sympy.Symbol]) -> Parsed:
    """Interpret one srepr AST node over the constructor whitelist."""
    if isinstance(node, ast.Expression):
        return _build_srepr(src, node.body, symbols)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return sympy.true if node.value else sympy.false
        if node.value is None:
            src.fail(ForbiddenConstructError, "The answer is None: did you forget to assign or "
                     "return it?", node)
        return _number(src, node)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_build_srepr(src, e, symbols) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _apply(src, node, _UNARY[type(node.op)], _build_srepr(src, node.operand, symbols))
    if isinstance(node, ast.Name):
        if node.id in _SREPR_NAMES:
            return _SREPR_NAMES[node.id]
        src.unknown(node.id, node, "name", [*_SREPR_NAMES, *symbols])
    if not isinstance(node, ast.Call):
        _forbid(src, node)
    func = node.func
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and \
            func.func.id == "Function" and func.args and isinstance(func.args[0], ast.Constant):
        src.unknown(str(func.args[0].value), func, "function", _SREPR_FUNCS)
    if not isinstance(func, ast.Name):
        _forbid(src, func)
    if func.id == "Symbol":
        return _symbol(src, node, symbols)
    if func.id == "Float":
        return _float(src, node)
    if func.id not in _SREPR_CALLS and func.id not in ("Integer", "Rational"):
        src.unknown(func.id, node, "function", _SREPR_FUNCS)
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        src.fail(ForbiddenConstructError, f"{func.id}(...) takes no keyword or * arguments.", node)
    if func.id in ("Integer", "Rational"):
        if not 1 <= len(node.args) <= 1 + (func.id == "Rational"):
            src.fail(ForbiddenConstructError, f"{func.id}(...) got the wrong arguments.", node)
        ints = [_int_arg(src, a) for a in node.args]
        fn = sympy.Integer if func.id == "Integer" else sympy.Rational
        return _apply(src, node, fn, *ints, exprs=False)
    fn, (lo, hi) = _SREPR_CALLS[func.id]
    if not lo <= len(node.args) <= hi:
        src.fail(AnswerError, f"{func.id} got the wrong number of arguments.", node)
    args = [_build_srepr(src, a, symbols) for a in node.args]
    where = node.args[1] if fn is sympy.Pow else node
    return _apply(src, where, fn, *args, exprs=fn not in (sympy.Tuple, sympy.FiniteSet))


def parse_srepr(text: str, symbols: Mapping[str, sympy.Symbol]) -> Parsed:
    """Rebuild the object whose ``sympy.srepr`` is ``text``, using the canonical ``symbols``.

    Supported: ``Symbol`` (mapped by name; assumptions ignored), ``Integer``, ``Rational``,
    ``Float(str, precision=n)``, ``Add``, ``Mul``, ``Pow``, ``Equality``/``Eq``, ``Tuple``,
    ``FiniteSet``, ``exp``, ``log``, ``ln``, ``sqrt``, ``sin``, ``cos``, ``tan``, ``Abs``,
    ``sign``, ``floor``, ``ceiling``, the
    names ``pi E I oo zoo nan true false EmptySet``, unary minus (``-oo``), Python lists and
    tuples of these, and bare ints, floats and bools (as sympy objects). Anything else,
    including ``Dummy`` and ``Function('f')(x)``, raises :class:`AnswerError`.
    """
    if not isinstance(text, str):
        raise ParseError("No answer was given (expected the text of sympy.srepr).")
    _check_symbols(symbols)
    src = _Source(text.strip(), text.strip())
    if not src.code:
        src.fail(ParseError, "The answer is empty.", 0)
    _prescan(src, MAX_SREPR_CHARS)
    return _build_srepr(src, _parse_tree(src), symbols)
