"""Kubernetes label selectors: the string form of ``kubectl -l`` and the structured
``metav1.LabelSelector`` found inside objects.

The two entry points fail differently on purpose. A string selector is a caller's
argument, so a bad one is an InvalidInput that quotes the offending part. A structured
selector comes out of a stored object (KubeStash ``usagePolicy.allowedNamespaces``,
KubeDB archiver ``spec.databases.selector``) and decides who may use a backup policy, so
a malformed one does not raise: it becomes a selector that matches nothing.

The string grammar follows the Kubernetes apiserver's ``labels.Parse``::

    selector    := "" | requirement ("," requirement)*
    requirement := "!" KEY | KEY | KEY ("=" | "==" | "!=") VALUE
                 | KEY ("in" | "notin") "(" VALUE ("," VALUE)* ")"

A VALUE may be empty (``tier=`` selects an empty label value, ``in ()`` and
``in (a,,b)`` include the empty value). ``!=`` and ``notin`` also match objects without
the key, as in Kubernetes. The node-affinity-only ``<`` and ``>`` operators are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.errors import InvalidInput

__all__ = [
    "MAX_REQUIREMENTS",
    "MAX_SELECTOR_LENGTH",
    "Operator",
    "Requirement",
    "Selector",
    "parse_selector",
    "selector_from_label_selector",
]

# Bounds on caller input, so a hostile selector costs little to refuse or to evaluate.
MAX_SELECTOR_LENGTH = 4096
MAX_REQUIREMENTS = 100

_ARGUMENT = "labelSelector"

# Label syntax from Kubernetes' IsQualifiedName / IsValidLabelValue. Names and values
# allow both cases; the DNS-subdomain prefix of a key must be lowercase.
_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_MAX_NAME = 63
_MAX_PREFIX = 253


class Operator(StrEnum):
    """How a requirement tests a key. ``=``/``==`` are In with one value, ``!=`` NotIn."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator is Operator.IN:
            return value is not None and value in self.values
        if self.operator is Operator.NOT_IN:
            return value is None or value not in self.values
        if self.operator is Operator.EXISTS:
            return value is not None
        return value is None


@dataclass(frozen=True)
class Selector:
    """All requirements must hold (an empty selector matches everything).

    ``matches_nothing`` marks a selector that was malformed and therefore fails closed.
    Requirements are kept sorted by key so equal selectors compare and hash equal
    however they were written; the dataclass is frozen so selectors can key a cache.
    """

    requirements: tuple[Requirement, ...] = ()
    matches_nothing: bool = False

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls(matches_nothing=True)

    @property
    def is_everything(self) -> bool:
        return not self.requirements and not self.matches_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.matches_nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)


def _selector_of(requirements: list[Requirement]) -> Selector:
    ordered = sorted(requirements, key=lambda r: (r.key, r.operator.value, sorted(r.values)))
    return Selector(requirements=tuple(ordered))


# --------------------------------------------------------------------------- validation


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (Kubernetes' qualified name), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return "the prefix before '/' must not be empty"
        if "/" in prefix:
            return "a key may contain at most one '/'"
        if len(prefix) > _MAX_PREFIX:
            return f"the prefix must be at most {_MAX_PREFIX} characters"
        if not _DNS_SUBDOMAIN.fullmatch(prefix):
            return (
                "the prefix must be a lowercase DNS subdomain "
                "(letters, digits, '-' and '.', such as 'example.com')"
            )
    if not name:
        return "the name part must not be empty"
    if len(name) > _MAX_NAME:
        return f"the name part must be at most {_MAX_NAME} characters"
    if not _NAME.fullmatch(name):
        return (
            "the name part must consist of letters, digits, '-', '_' or '.', "
            "and start and end with a letter or digit"
        )
    return None


def _value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or None (the empty value is valid)."""
    if len(value) > _MAX_NAME:
        return f"a value must be at most {_MAX_NAME} characters"
    if value and not _NAME.fullmatch(value):
        return (
            "a value must be empty or consist of letters, digits, '-', '_' or '.', "
            "and start and end with a letter or digit"
        )
    return None


# --------------------------------------------------------------------------- string form

# Characters that end a word. Everything else (letters, digits, '/', '.', and any junk
# that validation then refuses) belongs to a key or value.
_WHITESPACE = " \t\r\n"
_SYMBOLS = "=!(),<>"


@dataclass(frozen=True)
class _Token:
    text: str
    position: int  # 1-based character position, for error messages
    word: bool  # a key, value or keyword, as opposed to a symbol


def _tokens(text: str) -> Iterator[_Token]:
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in _WHITESPACE:
            index += 1
        elif char in _SYMBOLS:
            # The two-character operators: "==" and "!=".
            if char in "=!" and text.startswith("=", index + 1):
                yield _Token(text[index : index + 2], index + 1, word=False)
                index += 2
            else:
                yield _Token(char, index + 1, word=False)
                index += 1
        else:
            end = index
            while end < length and text[end] not in _WHITESPACE and text[end] not in _SYMBOLS:
                end += 1
            yield _Token(text[index:end], index + 1, word=True)
            index = end


class _Parser:
    """A recursive-descent parser over the token list (bounded by the input length)."""

    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token | None:
        token = self.peek()
        if token is not None:
            self.index += 1
        return token

    def parse(self) -> Selector:
        requirements: list[Requirement] = []
        if self.peek() is None:
            return Selector.everything()
        while True:
            if len(requirements) == MAX_REQUIREMENTS:
                raise _invalid(f"it has more than {MAX_REQUIREMENTS} requirements")
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                return _selector_of(requirements)
            if token.text != ",":
                raise _invalid(
                    f"expected ',' or the end after a requirement but found "
                    f"{_quote(token)} at character {token.position}"
                )
            if self.peek() is None:
                raise _invalid("it ends with ','; expected another requirement after it")

    def requirement(self) -> Requirement:
        token = self.take()
        if token is not None and token.text == "!":
            key = self.key(self.take(), after="'!'")
            following = self.peek()
            if following is not None and following.text != ",":
                raise _invalid(
                    f"'!{key}' takes no operator or value, but {_quote(following)} follows "
                    f"at character {following.position}"
                )
            return Requirement(key, Operator.DOES_NOT_EXIST)
        key = self.key(token, after=None)
        operator = self.peek()
        if operator is None or operator.text == ",":
            return Requirement(key, Operator.EXISTS)
        self.take()
        if operator.text in ("=", "=="):
            return Requirement(key, Operator.IN, frozenset({self.exact_value(key, operator)}))
        if operator.text == "!=":
            return Requirement(key, Operator.NOT_IN, frozenset({self.exact_value(key, operator)}))
        if operator.text in ("in", "notin"):
            values = self.value_set(key, operator)
            kind = Operator.IN if operator.text == "in" else Operator.NOT_IN
            return Requirement(key, kind, values)
        if operator.text in ("<", ">"):
            raise _invalid(
                f"the operator {_quote(operator)} after '{key}' is not supported; "
                "use =, ==, !=, in or notin"
            )
        raise _invalid(
            f"expected an operator (=, ==, !=, in, notin), ',' or the end after '{key}' "
            f"but found {_quote(operator)} at character {operator.position}"
        )

    def key(self, token: _Token | None, *, after: str | None) -> str:
        where = f" after {after}" if after else ""
        if token is None:
            raise _invalid(f"expected a label key{where} but the selector ended")
        if not token.word:
            raise _invalid(
                f"expected a label key{where} but found {_quote(token)} "
                f"at character {token.position}"
            )
        problem = _key_problem(token.text)
        if problem:
            raise _invalid(f"invalid label key '{_shorten(token.text)}': {problem}")
        return token.text

    def exact_value(self, key: str, operator: _Token) -> str:
        token = self.peek()
        if token is None or token.text == ",":
            return ""  # "tier=" selects the empty value, as in Kubernetes
        self.take()
        if not token.word:
            raise _invalid(
                f"expected a value after '{key}{operator.text}' but found {_quote(token)} "
                f"at character {token.position}"
            )
        return self.value(key, token.text)

    def value_set(self, key: str, operator: _Token) -> frozenset[str]:
        opening = self.take()
        if opening is None or opening.text != "(":
            found = "the end" if opening is None else _quote(opening)
            raise _invalid(f"expected '(' after '{key} {operator.text}' but found {found}")
        values: set[str] = set()
        # Kubernetes reads "(a,,b)", "(,a)" and "()" as including the empty value.
        expect_value = True
        while True:
            token = self.take()
            if token is None:
                raise _invalid(f"the value list of '{key} {operator.text}' is missing ')'")
            if token.text == ")":
                if expect_value:
                    values.add("")
                return frozenset(values)
            if token.text == ",":
                if expect_value:
                    values.add("")
                expect_value = True
            elif token.word and expect_value:
                values.add(self.value(key, token.text))
                expect_value = False
            else:
                raise _invalid(
                    f"expected a value, ',' or ')' in the value list of "
                    f"'{key} {operator.text}' but found {_quote(token)} "
                    f"at character {token.position}"
                )

    def value(self, key: str, value: str) -> str:
        problem = _value_problem(value)
        if problem:
            raise _invalid(f"invalid value '{_shorten(value)}' for label '{key}': {problem}")
        return value


def parse_selector(text: str) -> Selector:
    """Parse the string form of a label selector (``env=prod,tier in (db,cache)``).

    The empty (or all-whitespace) selector matches everything. Raises InvalidInput for
    anything Kubernetes would refuse, and for inputs over MAX_SELECTOR_LENGTH characters
    or MAX_REQUIREMENTS requirements.
    """
    if len(text) > MAX_SELECTOR_LENGTH:
        raise _invalid(f"it is {len(text)} characters long; the limit is {MAX_SELECTOR_LENGTH}")
    return _Parser(text).parse()


def _quote(token: _Token) -> str:
    return f"'{_shorten(token.text)}'"


def _shorten(text: str) -> str:
    return text if len(text) <= 80 else text[:80] + "..."


def _invalid(problem: str) -> InvalidInput:
    return InvalidInput(f"invalid labelSelector: {problem}", extensions={"argument": _ARGUMENT})


# --------------------------------------------------------------------------- structured form

_STRUCTURED_OPERATORS = {operator.value: operator for operator in Operator}
_SELECTOR_FIELDS = frozenset({"matchLabels", "matchExpressions"})
_EXPRESSION_FIELDS = frozenset({"key", "operator", "values"})


def selector_from_label_selector(obj: object) -> Selector:
    """The Selector for a structured ``metav1.LabelSelector`` taken from an object.

    ``{}`` matches everything, as in Kubernetes. None is also treated as match-everything
    here, but note that Kubernetes' own ``LabelSelectorAsSelector(nil)`` matches nothing:
    what an absent selector means depends on the field it sits in (KubeStash's
    ``allowedNamespaces.from`` decides whether a selector is consulted at all), so callers
    must decide that before calling.

    Anything malformed fails closed, returning ``Selector.nothing()`` rather than raising:
    wrong types, unknown fields, invalid keys or values, unknown operators, In/NotIn
    without values, or Exists/DoesNotExist with values. These selectors grant access to
    backup policies, so a selector we cannot read must not grant anything.
    """
    if obj is None:
        return Selector.everything()
    requirements = _structured_requirements(obj)
    return Selector.nothing() if requirements is None else _selector_of(requirements)


def _structured_requirements(obj: object) -> list[Requirement] | None:
    """The requirements of a structured selector, or None if it is malformed."""
    if not isinstance(obj, Mapping) or not set(obj) <= _SELECTOR_FIELDS:
        return None
    requirements: list[Requirement] = []

    match_labels = obj.get("matchLabels")
    if match_labels is not None:
        if not isinstance(match_labels, Mapping):
            return None
        for key, value in match_labels.items():
            if not isinstance(key, str) or not isinstance(value, str):
                return None
            if _key_problem(key) or _value_problem(value):
                return None
            requirements.append(Requirement(key, Operator.IN, frozenset({value})))

    expressions = obj.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            return None
        for expression in expressions:
            requirement = _structured_expression(expression)
            if requirement is None:
                return None
            requirements.append(requirement)
    return requirements


def _structured_expression(expression: object) -> Requirement | None:
    if not isinstance(expression, Mapping) or not set(expression) <= _EXPRESSION_FIELDS:
        return None
    key = expression.get("key")
    name = expression.get("operator")
    operator = _STRUCTURED_OPERATORS.get(name) if isinstance(name, str) else None
    values = expression.get("values")
    if values is None:
        values = []
    if not isinstance(key, str) or _key_problem(key) or operator is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    if any(_value_problem(v) for v in values):
        return None
    if operator in (Operator.IN, Operator.NOT_IN) and not values:
        return None  # Kubernetes refuses these; an empty In would silently match nothing
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
        return None
    return Requirement(key, operator, frozenset(values))
