"""A deliberately small formula evaluator for the Sheets emulator.

Real Sheets computes every formula. The emulator evaluates only self-contained ones: number,
string and boolean literals, `+ - * / ^ &`, comparisons, parentheses and a few functions
(SUM, CONCATENATE, HYPERLINK, LEN, UPPER, LOWER, IF, AND, OR, NOT). A formula outside that
subset (a cell reference, another function) raises `Unsupported`, and the caller then shows the
formula text as the cell's value rather than invent a result. Errors follow Sheets' error values
(`#DIV/0!`, `#VALUE!`, `#ERROR!`).
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|(?P<str>\"(?:[^\"]|\"\")*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op><>|<=|>=|[-+*/^&=<>(),]))"
)

ERROR_TEXT = {
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "ERROR": "#ERROR!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
}


class Unsupported(Exception):
    """The formula uses something the emulator does not evaluate."""


class FormulaError(Exception):
    """A Sheets error value (type is an ErrorValue.type, e.g. DIVIDE_BY_ZERO)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def evaluate(formula: str) -> dict[str, Any]:
    """The effective ExtendedValue of `=...`; raises Unsupported outside the subset."""
    try:
        parser = _Parser(_tokenize(formula[1:]))
        value = parser.expr()
        if parser.peek() is not None:
            raise FormulaError("ERROR", "Formula parse error.")
    except FormulaError as err:
        return {"errorValue": {"type": err.kind, "message": err.message}}
    except OverflowError:
        return {"errorValue": {"type": "NUM", "message": "Result too large."}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": value}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(text[pos:])  # "!", "$", ":" ...: references and ranges
        kind = match.lastgroup or "op"
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return value
    if value == "":
        return 0
    try:
        return float(value)
    except ValueError:
        raise FormulaError(
            "VALUE", f"Function expects number values. But '{value}' is a text."
        ) from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Parser:
    """Recursive descent over the token list, evaluating as it goes."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise FormulaError("ERROR", "Formula parse error.")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expr(self) -> Any:
        left = self.concat()
        while self.peek() in ("=", "<>", "<", ">", "<=", ">="):
            op, right = self.take()[1], self.concat()
            if isinstance(left, str) and isinstance(right, str):
                left, right = left.lower(), right.lower()
            elif isinstance(left, str) or isinstance(right, str):
                left, right = _text(left), _text(right)
            left = {
                "=": left == right,
                "<>": left != right,
                "<": left < right,
                ">": left > right,
                "<=": left <= right,
                ">=": left >= right,
            }[op]
        return left

    def concat(self) -> Any:
        left = self.additive()
        while self.peek() == "&":
            self.take()
            left = _text(left) + _text(self.additive())
        return left

    def additive(self) -> Any:
        left = self.term()
        while self.peek() in ("+", "-"):
            op, right = self.take()[1], self.term()
            left = _number(left) + _number(right) if op == "+" else _number(left) - _number(right)
        return left

    def term(self) -> Any:
        left = self.power()
        while self.peek() in ("*", "/"):
            op, right = self.take()[1], _number(self.power())
            if op == "/" and right == 0:
                raise FormulaError("DIVIDE_BY_ZERO", "Function DIVIDE parameter 2 cannot be zero.")
            left = _number(left) * right if op == "*" else _number(left) / right
        return left

    def power(self) -> Any:
        left = self.unary()
        while self.peek() == "^":
            self.take()
            left = _number(left) ** _number(self.unary())
        return left

    def unary(self) -> Any:
        if self.peek() in ("-", "+"):
            sign = self.take()[1]
            value = _number(self.unary())
            return -value if sign == "-" else value
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            value = float(text)
            return int(value) if value.is_integer() and "e" not in text.lower() else value
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "op" and text == "(":
            value = self.expr()
            if self.take()[1] != ")":
                raise FormulaError("ERROR", "Formula parse error.")
            return value
        if kind == "name" and text.upper() in ("TRUE", "FALSE") and self.peek() != "(":
            return text.upper() == "TRUE"
        if kind == "name" and self.peek() == "(":
            return self.call(text.upper())
        raise Unsupported(text)  # a cell reference, named range or unknown token

    def call(self, name: str) -> Any:
        self.take()  # "("
        args: list[Any] = []
        if self.peek() != ")":
            args.append(self.expr())
            while self.peek() == ",":
                self.take()
                args.append(self.expr())
        if self.take()[1] != ")":
            raise FormulaError("ERROR", "Formula parse error.")
        if name == "SUM":
            return sum(_number(a) for a in args)
        if name == "CONCATENATE":
            return "".join(_text(a) for a in args)
        if name == "HYPERLINK" and 1 <= len(args) <= 2:
            return _text(args[-1])  # the label, or the URL when there is none
        if name in ("LEN", "UPPER", "LOWER") and len(args) == 1:
            text = _text(args[0])
            return {"LEN": len(text), "UPPER": text.upper(), "LOWER": text.lower()}[name]
        if name == "IF" and 2 <= len(args) <= 3:
            return args[1] if _number(args[0]) else (args[2] if len(args) == 3 else False)
        if name in ("AND", "OR") and args:
            truths = [bool(_number(a)) for a in args]
            return all(truths) if name == "AND" else any(truths)
        if name == "NOT" and len(args) == 1:
            return not _number(args[0])
        raise Unsupported(name)
