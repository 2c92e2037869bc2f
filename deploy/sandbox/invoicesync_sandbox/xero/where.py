"""A small reading of Xero's `where` filter language over flat record views."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicesync_sandbox.xero.contact_rules import fold

Predicate = Callable[[Mapping[str, Any]], bool]
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"[^"]*")|(?P<open_str>"[^"]*$)|(?P<op>==|!=|>=|<=|=|>|<|&&|\|\||\(|\)|,)"""
    r"""|(?P<word>[A-Za-z_][\w.]*)|(?P<num>-?\d+(?:\.\d+)?))"""
)


class QueryParseError(ValueError):
    """A `where` that Xero would refuse with QueryParseException."""


def compile_where(text: str, fields: frozenset[str], type_name: str) -> Predicate:
    parser = _Parser(_tokens(text), fields, type_name)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise QueryParseError("Syntax error")
    return predicate


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryParseError("Syntax error")
        kind = match.lastgroup or ""
        if kind == "open_str":
            raise QueryParseError("Unterminated string literal")
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], fields: frozenset[str], type_name: str):
        self.tokens, self.index, self.fields, self.type_name = tokens, 0, fields, type_name
        self.lowered = {field.lower(): field for field in fields}

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryParseError("Syntax error")
        self.index += 1
        return token

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self._at_word("OR", "||"):
            self.take()
            right, prior = self.conjunction(), left
            left = lambda r, a=prior, b=right: a(r) or b(r)  # noqa: E731
        return left

    def conjunction(self) -> Predicate:
        left = self.comparison()
        while self._at_word("AND", "&&"):
            self.take()
            right, prior = self.comparison(), left
            left = lambda r, a=prior, b=right: a(r) and b(r)  # noqa: E731
        return left

    def _at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[1].upper() in words

    def comparison(self) -> Predicate:
        kind, value = self.take()
        if value == "(":
            inner = self.expression()
            if self.take()[1] != ")":
                raise QueryParseError("Syntax error")
            return inner
        if kind != "word":
            raise QueryParseError("Syntax error")
        field, method = self._field(value)
        if method:
            argument = self._method_argument()
            return _method_predicate(field, method, argument)
        operator = self.take()[1]
        if operator not in ("==", "=", "!=", ">", ">=", "<", "<="):
            raise QueryParseError("Syntax error")
        return _compare_predicate(field, operator, self.literal())

    def _field(self, word: str) -> tuple[str, str | None]:
        method = None
        for suffix in (".Contains", ".StartsWith", ".EndsWith"):
            if word.endswith(suffix):
                word, method = word[: -len(suffix)], suffix[1:]
        field = self.lowered.get(word.lower())
        if field is None:
            raise QueryParseError(
                f"No property or field '{word}' exists in type '{self.type_name}'"
            )
        return field, method

    def _method_argument(self) -> Any:
        if self.take()[1] != "(":
            raise QueryParseError("Syntax error")
        argument = self.literal()
        if self.take()[1] != ")":
            raise QueryParseError("Syntax error")
        return argument

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1]
        if kind == "num":
            return Decimal(value)
        if kind == "word" and value.lower() in ("guid", "datetime"):
            if self.take()[1] != "(":
                raise QueryParseError("Syntax error")
            parts = [self.literal()]
            while self.take()[1] == ",":
                parts.append(self.literal())
            if value.lower() == "guid":
                return str(parts[0])
            try:
                return date(*(int(p) for p in parts[:3]))
            except (TypeError, ValueError, InvalidOperation) as error:
                raise QueryParseError("Syntax error") from error
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "word" and value.lower() == "null":
            return None
        raise QueryParseError("Syntax error")


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _compare_predicate(field: str, operator: str, literal: Any) -> Predicate:
    wanted = _normal(literal)

    def compare(record: Mapping[str, Any]) -> bool:
        actual = _normal(record.get(field))
        if operator in ("==", "="):
            return actual == wanted
        if operator == "!=":
            return actual != wanted
        if actual is None or wanted is None:
            return False
        try:
            return {
                ">": actual > wanted,
                ">=": actual >= wanted,
                "<": actual < wanted,
                "<=": actual <= wanted,
            }[operator]
        except TypeError:
            return False

    return compare


def _method_predicate(field: str, method: str, argument: Any) -> Predicate:
    wanted = fold(str(argument))

    def check(record: Mapping[str, Any]) -> bool:
        actual = record.get(field)
        if actual is None:
            return False
        text = fold(str(actual))
        if method == "Contains":
            return wanted in text
        return text.startswith(wanted) if method == "StartsWith" else text.endswith(wanted)

    return check
