"""Label selectors and field selectors, with Kubernetes' syntax and semantics.

A label selector is an AND of requirements on an object's labels. It comes from
three places, all turned into the same `Selector`:

- the string syntax of `?labelSelector=` and `kubectl -l`
  ("app=web,tier!=db,env in (prod,staging),!canary"): `parse_label_selector`;
- a `LabelSelector` message (matchLabels AND matchExpressions): `from_label_selector`;
- node affinity's `NodeSelectorRequirement`s, which also allow Gt and Lt:
  `from_node_selector_requirements`.

Equality is set membership: "a=b" is `In ("b")` and "a!=b" is `NotIn ("b")`, so
a selector has one form however it was written, and `str` prints it back in the
string syntax (parse(str(s)) == s for every valid selector).

A field selector ("metadata.name=web,status.phase!=Running") compares fields of
an object, named by their JSON (manifest) names, with = or !=.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from corral.api.v1 import core_pb2, meta_pb2


class InvalidSelector(ValueError):
    """A selector that cannot be parsed or built; the message names the part and why.

    `field` is the path of the offending part inside a LabelSelector message when
    there is one ("matchExpressions[0].operator"), for callers that prefix it.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


IN = "In"
NOT_IN = "NotIn"
EXISTS = "Exists"
DOES_NOT_EXIST = "DoesNotExist"
GT = "Gt"
LT = "Lt"
LABEL_SELECTOR_OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST)
NODE_SELECTOR_OPERATORS = (*LABEL_SELECTOR_OPERATORS, GT, LT)

_INTEGER = re.compile(r"[+-]?[0-9]+")


# ---------------------------------------------------------------------------
# Label keys and values


_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME_CHARSET = 'letters, digits, "-", "_" and ".", starting and ending with a letter or digit'
MAX_LABEL_NAME = 63
MAX_LABEL_PREFIX = 253


def validate_label_key(key: str) -> str | None:
    """Why `key` is not a valid label key ([DNS-subdomain prefix "/"] name), or None."""
    def bad(why: str) -> str:
        return f'"{key}" is not a valid label key: {why}'

    if key == "":
        return bad("it is empty")
    parts = key.split("/")
    if len(parts) > 2:
        return bad('it has more than one "/" (the form is [prefix/]name, like "example.com/app")')
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if prefix == "":
            return bad('the prefix before "/" is empty')
        if len(prefix) > MAX_LABEL_PREFIX:
            return bad(f"the prefix is longer than {MAX_LABEL_PREFIX} characters ({len(prefix)})")
        if not _DNS_SUBDOMAIN.fullmatch(prefix):
            return bad(
                f'the prefix "{prefix}" must be a DNS subdomain: lowercase letters, digits, '
                '"-" and ".", starting and ending with a letter or digit'
            )
        if name == "":
            return bad('the name after "/" is empty')
    if len(name) > MAX_LABEL_NAME:
        return bad(f"the name is longer than {MAX_LABEL_NAME} characters ({len(name)})")
    if not _LABEL_NAME.fullmatch(name):
        return bad(f"the name must consist of {_NAME_CHARSET}")
    return None


def validate_label_value(value: str) -> str | None:
    """Why `value` is not a valid label value, or None. The empty value is valid."""
    if value == "":
        return None
    if len(value) > MAX_LABEL_NAME:
        return (
            f'"{value}" is not a valid label value: '
            f"longer than {MAX_LABEL_NAME} characters ({len(value)})"
        )
    if not _LABEL_NAME.fullmatch(value):
        return (
            f'"{value}" is not a valid label value: it must be empty or consist of {_NAME_CHARSET}'
        )
    return None


# ---------------------------------------------------------------------------
# Label selectors


@dataclass(frozen=True)
class Requirement:
    """One condition on labels. Kubernetes semantics: NotIn and DoesNotExist
    match when the key is absent; Gt and Lt need the label to be an integer."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.operator not in NODE_SELECTOR_OPERATORS:
            raise InvalidSelector(
                f'unknown operator "{self.operator}" for key "{self.key}" '
                f"(use {', '.join(NODE_SELECTOR_OPERATORS)})"
            )
        # In/NotIn values are a set: one order makes equal requirements compare equal.
        values = sorted(set(self.values)) if self.operator in (IN, NOT_IN) else self.values
        object.__setattr__(self, "values", tuple(values))

    def matches(self, labels: Mapping[str, str]) -> bool:
        # .get, never [], because a protobuf map inserts a missing key on [].
        value = labels.get(self.key)
        if self.operator == IN:
            return value is not None and value in self.values
        if self.operator == NOT_IN:
            return value is None or value not in self.values
        if self.operator == EXISTS:
            return value is not None
        if self.operator == DOES_NOT_EXIST:
            return value is None
        # Gt / Lt: a missing or non-integer label, or a bad bound, matches nothing.
        if value is None or len(self.values) != 1:
            return False
        if not (_INTEGER.fullmatch(value) and _INTEGER.fullmatch(self.values[0])):
            return False
        if self.operator == GT:
            return int(value) > int(self.values[0])
        return int(value) < int(self.values[0])

    def __str__(self) -> str:
        if self.operator == IN:
            if len(self.values) == 1:
                return f"{self.key}={self.values[0]}"
            return f"{self.key} in ({','.join(self.values)})"
        if self.operator == NOT_IN:
            if len(self.values) == 1:
                return f"{self.key}!={self.values[0]}"
            return f"{self.key} notin ({','.join(self.values)})"
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return f"!{self.key}"
        symbol = ">" if self.operator == GT else "<"
        return f"{self.key}{symbol}{','.join(self.values)}"


def _requirement_order(requirement: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return requirement.key, requirement.operator, requirement.values


@dataclass(frozen=True)
class Selector:
    """An AND of requirements. The empty selector matches everything.

    `Selector.nothing()` matches no object at all. Kubernetes turns a *missing*
    (nil) LabelSelector into it, e.g. a PodDisruptionBudget or NetworkPolicy
    without a selector selects nothing, while an empty one selects everything.
    It has no string syntax: `str` gives "<nothing>", which does not parse, so it
    can never be widened to "everything" by a round trip through a string.
    """

    requirements: tuple[Requirement, ...] = ()
    match_nothing: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        # One canonical order (by key, as Kubernetes prints them), duplicates dropped.
        ordered = sorted(set(self.requirements), key=_requirement_order)
        object.__setattr__(self, "requirements", tuple(ordered))

    @classmethod
    def nothing(cls) -> Selector:
        return NOTHING

    @classmethod
    def everything(cls) -> Selector:
        return EVERYTHING

    @property
    def empty(self) -> bool:
        """True when the selector has no requirements and so matches everything."""
        return not self.requirements and not self.match_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.match_nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        if self.match_nothing:
            return "<nothing>"
        return ",".join(str(requirement) for requirement in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(match_nothing=True)


def selector_from_labels(labels: Mapping[str, str]) -> Selector:
    """key=value for each label (Service selectors, matchLabels); not validated."""
    return Selector(tuple(Requirement(key, IN, (value,)) for key, value in labels.items()))


# --- the string syntax ------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", an operator symbol ("=", "==", "!=", "!", "<", ">"), "(", ")", ",", "end"
    text: str
    start: int  # where the token is in the selector text


_SYMBOLS = "!=<>(),"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "!=" and text[i + 1 : i + 2] == "=":
            tokens.append(_Token(char + "=", char + "=", i))
            i += 2
        elif char in _SYMBOLS:
            tokens.append(_Token(char, char, i))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SYMBOLS:
                i += 1
            tokens.append(_Token("word", text[start:i], start))
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _shown(token: _Token) -> str:
    return "the end" if token.kind == "end" else f'"{token.text}"'


class _LabelSelectorParser:
    """A recursive-descent parser for Kubernetes' label selector grammar:

        selector    ::= requirement ("," requirement)*
        requirement ::= "!" KEY | KEY [("=" | "==" | "!=") VALUE
                                      | ("in" | "notin") "(" VALUE ("," VALUE)* ")"
                                      | (">" | "<") INTEGER]        (">" "<" only for nodes)
    """

    def __init__(self, text: str, allow_numeric: bool) -> None:
        self.text = text
        self.allow_numeric = allow_numeric
        self.tokens = _tokenize(text)
        self.position = 0

    def error(self, why: str) -> InvalidSelector:
        return InvalidSelector(f'label selector "{self.text}": {why}')

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        if token.kind != "end":
            self.position += 1
        return token

    def selector(self) -> Selector:
        if self.peek().kind == "end":
            return EVERYTHING
        requirements = []
        while True:
            start = self.peek().start
            requirements.append(self.requirement())
            token = self.take()
            if token.kind == "end":
                return Selector(tuple(requirements))
            if token.kind != ",":
                # Quote the requirement as the user wrote it.
                written = self.text[start : token.start].strip()
                raise self.error(f'expected "," or the end after "{written}", got {_shown(token)}')
            if self.peek().kind in (",", "end"):
                raise self.error('expected a requirement after ","')

    def key(self, after: str) -> str:
        token = self.take()
        if token.kind != "word":
            raise self.error(f"expected a label key{after}, got {_shown(token)}")
        problem = validate_label_key(token.text)
        if problem:
            raise self.error(problem)
        return token.text

    def value(self, key: str) -> str:
        token = self.peek()
        if token.kind != "word":
            return ""  # "a=" and "a in (,b)": the empty value, as in Kubernetes
        self.take()
        problem = validate_label_value(token.text)
        if problem:
            raise self.error(f'{problem} (for key "{key}")')
        return token.text

    def requirement(self) -> Requirement:
        if self.peek().kind == "!":
            self.take()
            key = self.key(' after "!"')
            if self.peek().kind not in (",", "end"):
                raise self.error(
                    f'"!{key}" means "{key}" does not exist and takes no value; '
                    f"got {_shown(self.peek())} after it"
                )
            return Requirement(key, DOES_NOT_EXIST)
        key = self.key("")
        token = self.peek()
        if token.kind in (",", "end"):
            return Requirement(key, EXISTS)
        self.take()
        if token.kind in ("=", "=="):
            return Requirement(key, IN, (self.single_value(key, token),))
        if token.kind == "!=":
            return Requirement(key, NOT_IN, (self.single_value(key, token),))
        if token.kind == "word" and token.text in ("in", "notin"):
            operator = IN if token.text == "in" else NOT_IN
            return Requirement(key, operator, self.value_set(key, token))
        if token.kind in ("<", ">"):
            return self.numeric(key, token)
        numeric = ', ">", "<"' if self.allow_numeric else ""
        raise self.error(
            f'expected "=", "==", "!=", "in", "notin"{numeric}, "," or the end '
            f'after "{key}", got {_shown(token)}'
        )

    def single_value(self, key: str, operator: _Token) -> str:
        if self.peek().kind not in ("word", ",", "end"):
            raise self.error(
                f'expected a value after "{key}{operator.text}", got {_shown(self.peek())}'
            )
        return self.value(key)

    def value_set(self, key: str, operator: _Token) -> tuple[str, ...]:
        where = f'"{key} {operator.text}"'
        if self.take().kind != "(":
            raise self.error(f'expected "(" after {where}')
        if self.peek().kind == ")":
            raise self.error(f"{where} needs at least one value between the parentheses")
        values = []
        while True:
            values.append(self.value(key))
            token = self.take()
            if token.kind == ")":
                return tuple(values)
            if token.kind == "end":
                raise self.error(f'missing ")" after the values of {where}')
            if token.kind != ",":
                raise self.error(
                    f'expected "," or ")" in the values of {where}, got {_shown(token)}'
                )

    def numeric(self, key: str, operator: _Token) -> Requirement:
        if not self.allow_numeric:
            raise self.error(
                f'"{operator.text}" after "{key}": only node selectors compare numbers'
            )
        token = self.take()
        if token.kind != "word" or not _INTEGER.fullmatch(token.text):
            raise self.error(
                f'expected an integer after "{key}{operator.text}", got {_shown(token)}'
            )
        return Requirement(key, GT if operator.text == ">" else LT, (token.text,))


def parse_label_selector(text: str, *, allow_numeric: bool = False) -> Selector:
    """The Kubernetes string syntax: "a=b", "a==b", "a!=b", "a in (x,y)",
    "a notin (x)", "a", "!a", joined by commas; whitespace between parts is
    ignored; "" is the empty selector (everything). `allow_numeric` also accepts
    "a>3" and "a<3" (Gt, Lt), as printed for node selector requirements."""
    return _LabelSelectorParser(text, allow_numeric).selector()


# --- from API messages ------------------------------------------------------


def _checked_requirement(
    where: str,
    key: str,
    operator: str,
    values: Iterable[str],
    allowed: tuple[str, ...],
    check_values: bool,
) -> Requirement:
    """A Requirement from a message, or InvalidSelector naming `where` ("matchExpressions[2]")."""
    values = tuple(values)
    problem = validate_label_key(key)
    if problem:
        raise InvalidSelector(f"invalid key in {where}: {problem}", f"{where}.key")
    if operator not in allowed:
        what = f'unknown operator "{operator}"' if operator else "missing operator"
        raise InvalidSelector(f"{what} in {where} (use {', '.join(allowed)})", f"{where}.operator")
    shown = "[" + ", ".join(f'"{value}"' for value in values) + "]"
    if operator in (IN, NOT_IN) and not values:
        raise InvalidSelector(
            f'operator "{operator}" in {where} needs at least one value', f"{where}.values"
        )
    if operator in (EXISTS, DOES_NOT_EXIST) and values:
        raise InvalidSelector(
            f'operator "{operator}" in {where} takes no values, got {shown}', f"{where}.values"
        )
    if operator in (GT, LT) and (len(values) != 1 or not _INTEGER.fullmatch(values[0])):
        raise InvalidSelector(
            f'operator "{operator}" in {where} needs exactly one integer value, got {shown}',
            f"{where}.values",
        )
    if check_values:
        for index, value in enumerate(values):
            problem = validate_label_value(value)
            if problem:
                raise InvalidSelector(
                    f"invalid value in {where}.values[{index}]: {problem}",
                    f"{where}.values[{index}]",
                )
    return Requirement(key, operator, values)


def from_label_selector(selector: meta_pb2.LabelSelector | None) -> Selector:
    """matchLabels AND matchExpressions, validated.

    None (the field is not set; check with HasField) gives `Selector.nothing()`,
    as Kubernetes' LabelSelectorAsSelector does for a nil selector; an empty
    LabelSelector gives the empty selector, which matches everything.
    """
    if selector is None:
        return NOTHING
    requirements = []
    for key, value in sorted(selector.match_labels.items()):
        problem = validate_label_key(key)
        if problem:
            raise InvalidSelector(f"invalid key in matchLabels: {problem}", "matchLabels")
        problem = validate_label_value(value)
        if problem:
            raise InvalidSelector(
                f'invalid value in matchLabels["{key}"]: {problem}', f"matchLabels[{key}]"
            )
        requirements.append(Requirement(key, IN, (value,)))
    for index, expression in enumerate(selector.match_expressions):
        requirements.append(
            _checked_requirement(
                f"matchExpressions[{index}]",
                expression.key,
                expression.operator,
                expression.values,
                LABEL_SELECTOR_OPERATORS,
                check_values=True,
            )
        )
    return Selector(tuple(requirements))


def from_node_selector_requirements(
    requirements: Iterable[core_pb2.NodeSelectorRequirement],
    *,
    where: str = "matchExpressions",
) -> Selector:
    """A node selector term's requirements (all must hold); Gt and Lt take one integer.

    Values are not checked as label values, since matchFields compares node
    names, which may be longer than a label value. `where` names the list in
    messages ("matchFields" for a term's field requirements).
    """
    return Selector(
        tuple(
            _checked_requirement(
                f"{where}[{index}]",
                requirement.key,
                requirement.operator,
                requirement.values,
                NODE_SELECTOR_OPERATORS,
                check_values=False,
            )
            for index, requirement in enumerate(requirements)
        )
    )


# ---------------------------------------------------------------------------
# Field selectors


FIELD_OPERATORS = ("=", "!=")


@dataclass(frozen=True)
class FieldRequirement:
    """path = value or path != value, on the string form of a scalar field."""

    path: str
    operator: str
    value: str

    def __post_init__(self) -> None:
        if self.operator not in FIELD_OPERATORS:
            raise InvalidSelector(
                f'unknown field selector operator "{self.operator}" for "{self.path}" (use = or !=)'
            )

    def matches(self, obj: Message) -> bool:
        return (field_value(obj, self.path) == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        return f"{self.path}{self.operator}{_escape(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """An AND of field requirements; the empty field selector matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    def __post_init__(self) -> None:
        ordered = sorted(set(self.requirements), key=lambda r: (r.path, r.operator, r.value))
        object.__setattr__(self, "requirements", tuple(ordered))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Message) -> bool:
        return all(requirement.matches(obj) for requirement in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


# Values may hold "," "=" and "\" escaped with a backslash, as Kubernetes allows.
_ESCAPABLE = "\\,="


def _escape(value: str) -> str:
    return "".join("\\" + char if char in _ESCAPABLE else char for char in value)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped; escapes are kept for the term parser."""
    terms: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def _parse_field_term(term: str) -> FieldRequirement:
    def error(why: str) -> InvalidSelector:
        return InvalidSelector(f'field selector "{term}": {why}')

    # The first unescaped "!=", "==" or "=" ends the path; the rest is the value.
    i = 0
    while i < len(term):
        char = term[i]
        if char == "\\":
            raise error("a backslash can only escape a character in the value")
        if char in "!=":
            break
        i += 1
    else:
        raise error("expected path=value, path==value or path!=value")
    symbol = next((s for s in ("!=", "==", "=") if term.startswith(s, i)), None)
    if symbol is None:
        raise error('"!" must be followed by "=" (use path!=value)')
    operator, rest = ("!=" if symbol == "!=" else "="), term[i + len(symbol) :]
    path = term[:i].strip()
    if path == "":
        raise error(f'missing the field path before "{symbol}"')
    if any(part == "" for part in path.split(".")):
        raise error(f'"{path}" is not a field path like metadata.name (empty part between dots)')
    value: list[str] = []
    escaped = False
    for char in rest.strip():
        if escaped:
            if char not in _ESCAPABLE:
                raise error(f'unknown escape "\\{char}" (only \\\\, \\, and \\= are escapes)')
            value.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "=,":
            raise error(f'"{char}" in a value must be escaped as "\\{char}"')
        else:
            value.append(char)
    if escaped:
        raise error("the value ends with a lone backslash")
    return FieldRequirement(path, operator, "".join(value))


def parse_field_selector(text: str, message_type: type[Message] | None = None) -> FieldSelector:
    """Parse "a=b", "a==b", "a!=b", joined by commas; paths are JSON names
    ("metadata.name", "spec.nodeName", "status.phase"). Spaces around paths and
    values are ignored. With `message_type`, every path must name a scalar field
    of that message."""
    if text.strip() == "":
        return FieldSelector()
    requirements = []
    for term in _split_terms(text):
        if term.strip() == "":
            raise InvalidSelector(f'field selector "{text}": empty requirement between commas')
        requirement = _parse_field_term(term)
        if message_type is not None:
            try:
                _resolve_path(message_type, requirement.path)
            except InvalidSelector as error:
                raise InvalidSelector(f'field selector "{term.strip()}": {error}') from None
        requirements.append(requirement)
    return FieldSelector(tuple(requirements))


# (message type, path) → its chain of fields. Only paths that resolve are kept, and
# there are finitely many of those, so the cache needs no bound.
_resolved_paths: dict[tuple[type[Message], str], tuple[FieldDescriptor, ...]] = {}


def _resolve_path(message_type: type[Message], path: str) -> tuple[FieldDescriptor, ...]:
    chain = _resolved_paths.get((message_type, path))
    if chain is None:
        chain = _resolved_paths[message_type, path] = _walk_path(message_type, path)
    return chain


def _walk_path(message_type: type[Message], path: str) -> tuple[FieldDescriptor, ...]:
    """The chain of fields that `path` (JSON names, dotted) names in `message_type`."""
    kind = message_type.DESCRIPTOR.name
    descriptor: Descriptor | None = cast(Descriptor, message_type.DESCRIPTOR)
    chain: list[FieldDescriptor] = []
    parts = path.split(".")
    for index, part in enumerate(parts):
        so_far = ".".join(parts[: index + 1])
        if descriptor is None:
            previous = ".".join(parts[:index])
            raise InvalidSelector(f"{kind} has no field {path} ({previous} has no fields)")
        found = _field_named(descriptor, part)
        if found is None:
            raise InvalidSelector(f"{kind} has no field {path}")
        chain.append(found)
        if found.is_repeated:
            shape = "a map" if _is_map(found) else "a list"
            raise InvalidSelector(f"{kind} field {so_far} is {shape}, not a single value")
        descriptor = found.message_type if found.type == FieldDescriptor.TYPE_MESSAGE else None
    leaf = chain[-1]
    if leaf.type == FieldDescriptor.TYPE_MESSAGE:
        raise InvalidSelector(f"{kind} field {path} is an object, not a single value")
    if leaf.type == FieldDescriptor.TYPE_BYTES:
        raise InvalidSelector(f"{kind} field {path} holds bytes, which cannot be compared")
    return tuple(chain)


def _field_named(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    for candidate in descriptor.fields:
        if candidate.json_name == name:
            return candidate
    # The proto name too ("node_name"), for callers that think in protobuf.
    return descriptor.fields_by_name.get(name)


def _is_map(fd: FieldDescriptor) -> bool:
    message = fd.message_type
    return message is not None and message.GetOptions().map_entry


def field_value(obj: Message, path: str) -> str:
    """The string form of the scalar field at `path` ("spec.nodeName") in `obj`.

    Numbers print as decimal, booleans as "true"/"false" (Kubernetes compares
    field selectors as strings); an unset optional field is "". Raises
    InvalidSelector if `obj`'s type has no such scalar field.
    """
    chain = _resolve_path(type(obj), path)
    current = obj
    for step in chain[:-1]:
        current = getattr(current, step.name)
    leaf = chain[-1]
    if leaf.has_presence and not current.HasField(leaf.name):
        return ""
    value = getattr(current, leaf.name)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
