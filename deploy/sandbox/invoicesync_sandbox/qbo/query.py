"""The subset of QBO's query language clients use: parse a `select` and run it on a company."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .faults import query_parse_error, query_validation_error
from .store import ENTITY_NAMES, QboCompany

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
_ACTIVE_FILTERED = {"Customer", "Vendor", "Employee", "Item", "Account", "TaxCode", "TaxRate"}


@dataclass(frozen=True)
class Condition:
    path: str
    op: str  # = < > <= >= in like
    values: tuple[object, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    fields: tuple[str, ...] = ("*",)
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (path, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0
    text: str = field(default="")

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def next(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise query_parse_error(f'Encountered end of statement in "{self.text}"')
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def expect(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.next()
        if got_kind != kind or (value is not None and got.lower() != value):
            raise query_parse_error(f'Encountered " {got} " at position {self.pos}.')
        return got


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise query_parse_error(f'Lexical error at position {pos} in "{text}"')
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def parse_query(text: str) -> Query:
    """Parse `select *|count(*) from X [where] [orderby] [startposition n] [maxresults n]`."""
    tokens = _Tokens(_tokenise(text), text=text)
    tokens.expect("word", "select")
    count, fields = _parse_projection(tokens)
    tokens.expect("word", "from")
    entity = ENTITY_NAMES.get(tokens.expect("word").lower())
    if entity is None:
        raise query_parse_error(f'Invalid entity in "{text}"')
    conditions = _parse_where(tokens) if tokens.keyword("where") else ()
    order_by: tuple[tuple[str, bool], ...] = ()
    start, maximum = 1, DEFAULT_MAX_RESULTS
    while tokens.peek():
        word = tokens.keyword("orderby", "order", "startposition", "maxresults")
        if word in ("orderby", "order"):
            if word == "order":
                tokens.expect("word", "by")
            order_by = _parse_order(tokens)
        elif word == "startposition":
            start = max(1, int(tokens.expect("number")))
        elif word == "maxresults":
            maximum = int(tokens.expect("number"))
            if maximum > MAX_RESULTS_CAP:
                # QBO refuses rather than caps: "QueryValidationError: value 1500 is too
                # large. Max allowed value is 1000" (ruckus/quickbooks-ruby#24; qbo.md §2.7).
                raise query_validation_error(
                    f"value {maximum} is too large. Max allowed value is {MAX_RESULTS_CAP}"
                )
        else:
            raise query_parse_error(f'Encountered " {tokens.next()[1]} " in "{text}"')
    return Query(entity, count, fields, conditions, order_by, start, maximum)


def _parse_projection(tokens: _Tokens) -> tuple[bool, tuple[str, ...]]:
    if tokens.keyword("count"):
        tokens.expect("punct", "(")
        tokens.expect("punct", "*")
        tokens.expect("punct", ")")
        return True, ()
    fields = []
    while True:
        kind, value = tokens.next()
        if kind not in ("word", "punct") or value in ("(", ")", ","):
            raise query_parse_error(f'Encountered " {value} " in the select list')
        fields.append(value.lower())
        if tokens.peek() != ("punct", ","):
            return False, tuple(fields)
        tokens.next()


def _parse_where(tokens: _Tokens) -> tuple[Condition, ...]:
    conditions = [_parse_condition(tokens)]
    while tokens.keyword("and"):
        conditions.append(_parse_condition(tokens))
    if tokens.peek() and tokens.peek()[1].lower() == "or":
        raise query_parse_error("OR is not supported")
    return tuple(conditions)


def _parse_condition(tokens: _Tokens) -> Condition:
    path = tokens.expect("word")
    if tokens.keyword("in"):
        tokens.expect("punct", "(")
        values = [_parse_value(tokens)]
        while tokens.peek() == ("punct", ","):
            tokens.next()
            values.append(_parse_value(tokens))
        tokens.expect("punct", ")")
        return Condition(path, "in", tuple(values))
    if tokens.keyword("like"):
        return Condition(path, "like", (_parse_value(tokens),))
    op = tokens.expect("op")
    if op == "!=":
        raise query_parse_error("Operator != is not supported")
    if path.lower() == "id" and op != "=":
        raise query_parse_error(f"Operator {op} is not supported for property Id")
    return Condition(path, op, (_parse_value(tokens),))


def _parse_value(tokens: _Tokens) -> object:
    kind, value = tokens.next()
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind == "number":
        return Decimal(value)
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise query_parse_error(f'Encountered " {value} " where a value was expected')


def _parse_order(tokens: _Tokens) -> tuple[tuple[str, bool], ...]:
    order = []
    while True:
        path = tokens.expect("word")
        descending = tokens.keyword("desc") is not None
        if not descending:
            tokens.keyword("asc")
        order.append((path, descending))
        if tokens.peek() != ("punct", ","):
            return tuple(order)
        tokens.next()


def run_query(company: QboCompany, query: Query) -> dict:
    """The `QueryResponse` object for a parsed query (no entity key when nothing matches)."""
    rows = [row for row in company.all(query.entity) if _matches(row, query)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda row: _id_key(row.get("Id")))
    for path, descending in reversed(query.order_by):
        rows.sort(key=lambda row, p=path: _sort_key(_lookup(row, p)), reverse=descending)
    page = rows[query.start_position - 1 : query.start_position - 1 + query.max_results]
    if not page:
        return {}
    if query.entity == "Item" and "sku" not in query.fields:
        # QBO leaves Sku out of `select *` on Item; clients must ask for it by name.
        page = [{k: v for k, v in row.items() if k != "Sku"} for row in page]
    return {query.entity: page, "startPosition": query.start_position, "maxResults": len(page)}


def _matches(row: dict, query: Query) -> bool:
    mentions_active = any(c.path.lower() == "active" for c in query.conditions)
    if query.entity in _ACTIVE_FILTERED and not mentions_active and row.get("Active") is False:
        return False
    return all(_holds(_lookup(row, c.path), c) for c in query.conditions)


def _lookup(row: object, path: str) -> object:
    value = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key else None
    if isinstance(value, dict):
        for leaf in ("value", "Address", "FreeFormNumber", "URI"):
            if leaf in value:
                return value[leaf]
    return value


def _holds(actual: object, condition: Condition) -> bool:
    if actual is None:
        return False
    if condition.op == "in":
        return any(_compare(actual, v) == 0 for v in condition.values)
    if condition.op == "like":
        pattern = ".*".join(re.escape(part) for part in str(condition.values[0]).split("%"))
        return re.fullmatch(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    order = _compare(actual, condition.values[0])
    if order is None:
        return False
    return {
        "=": order == 0,
        "<": order < 0,
        ">": order > 0,
        "<=": order <= 0,
        ">=": order >= 0,
    }[condition.op]


def _compare(actual: object, wanted: object) -> int | None:
    for convert in (_as_bool, _as_number, _as_time):
        left, right = convert(actual), convert(wanted)
        if left is not None and right is not None:
            return (left > right) - (left < right)
    left, right = str(actual).lower(), str(wanted).lower()
    return (left > right) - (left < right)


def _as_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _as_number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _as_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # Dates compare as dates; a bare date against a timestamp is read as that day's start.
        moment = moment.replace(tzinfo=UTC)
    return moment


def _id_key(value: object) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (10**18, text)


def _sort_key(value: object) -> tuple[int, object]:
    number = _as_number(value)
    if number is not None:
        return (0, number)
    moment = _as_time(value)
    if moment is not None:
        return (1, moment.timestamp())
    return (2, str(value if value is not None else "").lower())
