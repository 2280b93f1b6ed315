"""Label selectors: the kubectl string syntax and the structured LabelSelector form."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import InvalidInput
from core.selectors import (
    MAX_REQUIREMENTS,
    MAX_SELECTOR_LENGTH,
    Operator,
    Requirement,
    Selector,
    parse_selector,
    selector_from_label_selector,
)

PROD = {"env": "prod", "tier": "db"}
DEV = {"env": "dev"}
EMPTY_VALUE = {"env": ""}
NONE: dict[str, str] = {}
KUBEDB = {"app.kubernetes.io/name": "postgreses.kubedb.com", "example.com/team": "data"}


# --------------------------------------------------------------------------- string form


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        # The empty selector matches everything.
        ("", NONE, True),
        ("", PROD, True),
        (" \t ", PROD, True),
        # Equality (= and ==) needs the key with that exact value.
        ("env=prod", PROD, True),
        ("env=prod", DEV, False),
        ("env=prod", NONE, False),
        ("env==prod", PROD, True),
        ("env==prod", DEV, False),
        ("env=Prod", PROD, False),
        # Inequality also matches objects without the key.
        ("env!=prod", PROD, False),
        ("env!=prod", DEV, True),
        ("env!=prod", NONE, True),
        # Set membership.
        ("env in (prod,staging)", PROD, True),
        ("env in (prod,staging)", {"env": "staging"}, True),
        ("env in (prod,staging)", DEV, False),
        ("env in (prod,staging)", NONE, False),
        ("env in (prod)", PROD, True),
        ("env notin (prod,staging)", PROD, False),
        ("env notin (prod,staging)", DEV, True),
        ("env notin (prod,staging)", NONE, True),
        # Existence.
        ("env", PROD, True),
        ("env", EMPTY_VALUE, True),
        ("env", NONE, False),
        ("!env", NONE, True),
        ("!env", PROD, False),
        ("!env", EMPTY_VALUE, False),
        # Empty values, as Kubernetes reads them.
        ("env=", EMPTY_VALUE, True),
        ("env=", PROD, False),
        ("env=", NONE, False),
        ("env!=", PROD, True),
        ("env!=", EMPTY_VALUE, False),
        ("env in ()", EMPTY_VALUE, True),
        ("env in ()", PROD, False),
        ("env in (prod,,dev)", EMPTY_VALUE, True),
        ("env in (,prod)", PROD, True),
        ("env in (prod,)", EMPTY_VALUE, True),
        ("env notin ()", EMPTY_VALUE, False),
        ("env notin ()", PROD, True),
        # Several requirements must all hold.
        ("env=prod,tier=db", PROD, True),
        ("env=prod,tier=web", PROD, False),
        ("env=prod,tier", PROD, True),
        ("env=prod,!tier", PROD, False),
        ("env=prod,env!=dev", PROD, True),
        ("env=prod,env=dev", PROD, False),
        # Prefixed keys.
        ("example.com/team=data", KUBEDB, True),
        ("example.com/team!=data", KUBEDB, False),
        (
            "app.kubernetes.io/name in (postgreses.kubedb.com,mysqls.kubedb.com),"
            "!kubedb.com/paused",
            KUBEDB,
            True,
        ),
        ("app.kubernetes.io/name", KUBEDB, True),
        ("!app.kubernetes.io/name", KUBEDB, False),
        # Whitespace is allowed around every token.
        ("  env = prod ,  tier  notin(web , cache)  ,  ! paused  ", PROD, True),
        ("env\t==\tprod\n,\ntier", PROD, True),
        ("env in(prod)", PROD, True),
        ("env notin(prod)", PROD, False),
        # "in" and "notin" are only keywords where an operator is expected.
        ("env=in", {"env": "in"}, True),
        ("env in (in,notin)", {"env": "notin"}, True),
        ("in", {"in": "x"}, True),
        ("notin=x", {"notin": "x"}, True),
        # Value and name characters.
        ("v=a_b-c.d", {"v": "a_b-c.d"}, True),
        ("V_1.x-y=Z9", {"V_1.x-y": "Z9"}, True),
    ],
)
def test_string_selectors_match(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("", ()),
        ("env=prod", (Requirement("env", Operator.IN, frozenset({"prod"})),)),
        ("env==prod", (Requirement("env", Operator.IN, frozenset({"prod"})),)),
        ("env!=prod", (Requirement("env", Operator.NOT_IN, frozenset({"prod"})),)),
        ("env in (b,a)", (Requirement("env", Operator.IN, frozenset({"a", "b"})),)),
        ("env notin (a)", (Requirement("env", Operator.NOT_IN, frozenset({"a"})),)),
        ("env", (Requirement("env", Operator.EXISTS),)),
        ("!env", (Requirement("env", Operator.DOES_NOT_EXIST),)),
        (
            "tier,!paused,env=prod",
            (
                Requirement("env", Operator.IN, frozenset({"prod"})),
                Requirement("paused", Operator.DOES_NOT_EXIST),
                Requirement("tier", Operator.EXISTS),
            ),
        ),
    ],
)
def test_string_selectors_parse_to_sorted_requirements(
    text: str, requirements: tuple[Requirement, ...]
) -> None:
    assert parse_selector(text).requirements == requirements


def test_equal_selectors_compare_and_hash_equal() -> None:
    first = parse_selector("env=prod,tier in (db,cache)")
    second = parse_selector(" tier in (cache, db) , env == prod ")
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second, parse_selector("env=prod")}) == 2
    with pytest.raises(AttributeError):
        first.requirements = ()  # type: ignore[misc]


def test_empty_selector_is_everything() -> None:
    assert parse_selector("") == Selector.everything()
    assert parse_selector("").is_everything
    assert not parse_selector("env").is_everything
    assert not Selector.nothing().is_everything


def test_length_limits_are_inclusive() -> None:
    longest_name = "n" * 63
    longest_prefix = ".".join(["a" * 61] * 4) + "." + "b" * 5  # 253 characters
    assert len(longest_prefix) == 253
    key = f"{longest_prefix}/{longest_name}"
    assert parse_selector(f"{key}={'v' * 63}").matches({key: "v" * 63})
    many = ",".join(f"k{i}" for i in range(MAX_REQUIREMENTS))
    assert len(parse_selector(many).requirements) == MAX_REQUIREMENTS
    padded = "env=prod" + " " * (MAX_SELECTOR_LENGTH - len("env=prod"))
    assert parse_selector(padded).matches(PROD)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Structure.
        ("env=prod,", "it ends with ','; expected another requirement after it"),
        (",env", "expected a label key but found ',' at character 1"),
        ("env=prod,,tier", "expected a label key but found ',' at character 10"),
        ("env in prod", "expected '(' after 'env in' but found 'prod'"),
        ("env notin", "expected '(' after 'env notin' but found the end"),
        ("env in (a", "the value list of 'env in' is missing ')'"),
        ("env in (a b)", "in the value list of 'env in' but found 'b' at character 11"),
        ("env in (a,(b))", "in the value list of 'env in' but found '('"),
        ("env = a b", "expected ',' or the end after a requirement but found 'b' at character 9"),
        ("env=prod)", "expected ',' or the end after a requirement but found ')'"),
        ("env===prod", "expected a value after 'env==' but found '='"),
        ("env=!prod", "expected a value after 'env=' but found '!'"),
        ("env (prod)", "expected an operator (=, ==, !=, in, notin), ',' or the end after 'env'"),
        ("env isin (a)", "or the end after 'env' but found 'isin' at character 5"),
        ("=prod", "expected a label key but found '='"),
        ("!=prod", "expected a label key but found '!='"),
        ("!", "expected a label key after '!' but the selector ended"),
        ("!,env", "expected a label key after '!' but found ','"),
        ("!env=prod", "'!env' takes no operator or value, but '=' follows at character 5"),
        ("!env in (a)", "'!env' takes no operator or value, but 'in' follows"),
        ("env>5", "the operator '>' after 'env' is not supported"),
        ("env<5", "the operator '<' after 'env' is not supported"),
        # Keys.
        ("Example.com/team=x", "invalid label key 'Example.com/team': the prefix must be"),
        ("example..com/team=x", "invalid label key 'example..com/team'"),
        ("-example.com/team", "invalid label key '-example.com/team'"),
        ("/team=x", "invalid label key '/team': the prefix before '/' must not be empty"),
        ("example.com/=x", "invalid label key 'example.com/': the name part must not be empty"),
        ("a/b/c=x", "invalid label key 'a/b/c': a key may contain at most one '/'"),
        ("-env=x", "invalid label key '-env': the name part must consist of"),
        ("env-=x", "invalid label key 'env-'"),
        ("en$v=x", "invalid label key 'en$v'"),
        ("\u00e9t\u00e9=x", "invalid label key '\u00e9t\u00e9'"),
        ("n" * 64, "the name part must be at most 63 characters"),
        ("a" * 254 + "/name", "the prefix must be at most 253 characters"),
        # Values.
        ("env=-prod", "invalid value '-prod' for label 'env': a value must be empty or consist"),
        ("env=prod.", "invalid value 'prod.' for label 'env'"),
        ("env!=a/b", "invalid value 'a/b' for label 'env'"),
        ("env in (ok,bad$)", "invalid value 'bad$' for label 'env'"),
        ("env notin (_x)", "invalid value '_x' for label 'env'"),
        ("env=" + "v" * 64, "a value must be at most 63 characters"),
        # Bounds.
        ("env=prod," * 500, f"characters long; the limit is {MAX_SELECTOR_LENGTH}"),
        (
            ",".join(f"k{i}" for i in range(MAX_REQUIREMENTS + 1)),
            f"it has more than {MAX_REQUIREMENTS} requirements",
        ),
    ],
)
def test_invalid_string_selectors_quote_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_selector(text)
    assert message in caught.value.message
    assert caught.value.message.startswith("invalid labelSelector: ")
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "argument": "labelSelector"}


def test_long_offending_parts_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_selector("x" * 2000)
    assert len(caught.value.message) < 300


# --------------------------------------------------------------------------- structured form


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        # Empty and absent selectors match everything (callers decide what "absent" means).
        (None, NONE, True),
        (None, PROD, True),
        ({}, NONE, True),
        ({}, PROD, True),
        ({"matchLabels": {}, "matchExpressions": []}, PROD, True),
        ({"matchLabels": None, "matchExpressions": None}, PROD, True),
        # matchLabels.
        ({"matchLabels": {"env": "prod"}}, PROD, True),
        ({"matchLabels": {"env": "prod"}}, DEV, False),
        ({"matchLabels": {"env": "prod"}}, NONE, False),
        ({"matchLabels": {"env": "prod", "tier": "db"}}, PROD, True),
        ({"matchLabels": {"env": "prod", "tier": "web"}}, PROD, False),
        ({"matchLabels": {"env": ""}}, EMPTY_VALUE, True),
        ({"matchLabels": {"example.com/team": "data"}}, KUBEDB, True),
        # matchExpressions, every operator.
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}, PROD, True),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]},
            PROD,
            False,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}, NONE, False),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            PROD,
            False,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            DEV,
            True,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            NONE,
            True,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, EMPTY_VALUE, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, NONE, False),
        ({"matchExpressions": [{"key": "env", "operator": "Exists", "values": []}]}, PROD, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists", "values": None}]}, PROD, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, NONE, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, PROD, False),
        # matchLabels and matchExpressions together must all hold.
        (
            {
                "matchLabels": {"env": "prod"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["db", "cache"]},
                    {"key": "paused", "operator": "DoesNotExist"},
                ],
            },
            PROD,
            True,
        ),
        (
            {
                "matchLabels": {"env": "prod"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
            },
            PROD,
            False,
        ),
    ],
)
def test_structured_selectors_match(
    selector: dict[str, Any] | None, labels: dict[str, str], expected: bool
) -> None:
    assert selector_from_label_selector(selector).matches(labels) is expected


def test_structured_and_string_forms_agree() -> None:
    structured = selector_from_label_selector(
        {
            "matchLabels": {"env": "prod"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["db", "cache"]},
                {"key": "paused", "operator": "DoesNotExist"},
            ],
        }
    )
    assert structured == parse_selector("env=prod,tier in (cache,db),!paused")
    assert selector_from_label_selector({}) == parse_selector("")
    assert selector_from_label_selector(None) == Selector.everything()


def _expression(**fields: Any) -> dict[str, Any]:
    return {"matchExpressions": [fields]}


@pytest.mark.parametrize(
    "selector",
    [
        # Operators Kubernetes has no LabelSelector meaning for, or misspelled.
        _expression(key="env", operator="Gt", values=["1"]),
        _expression(key="env", operator="in", values=["prod"]),
        _expression(key="env", operator="Equals", values=["prod"]),
        _expression(key="env", operator="", values=["prod"]),
        _expression(key="env", operator=None, values=["prod"]),
        _expression(key="env", values=["prod"]),
        _expression(key="env", operator=["In"], values=["prod"]),
        # Values that do not fit the operator.
        _expression(key="env", operator="In"),
        _expression(key="env", operator="In", values=[]),
        _expression(key="env", operator="NotIn", values=None),
        _expression(key="env", operator="Exists", values=["prod"]),
        _expression(key="env", operator="DoesNotExist", values=["prod"]),
        _expression(key="env", operator="In", values="prod"),
        _expression(key="env", operator="In", values=["prod", 1]),
        _expression(key="env", operator="In", values=["-bad"]),
        # Keys.
        _expression(operator="Exists"),
        _expression(key="", operator="Exists"),
        _expression(key=7, operator="Exists"),
        _expression(key="Bad.Prefix/x", operator="Exists"),
        _expression(key="env", operator="Exists", extra="field"),
        # Shapes.
        {"matchExpressions": {"key": "env", "operator": "Exists"}},
        {"matchExpressions": ["env"]},
        {"matchExpressions": [None]},
        {"matchLabels": ["env=prod"]},
        {"matchLabels": "env=prod"},
        {"matchLabels": {"env": 1}},
        {"matchLabels": {"env": None}},
        {"matchLabels": {1: "prod"}},
        {"matchLabels": {"-env": "prod"}},
        {"matchLabels": {"env": "prod!"}},
        {"matchLabel": {"env": "prod"}},
        {"matchLabels": {"env": "prod"}, "matchExpresions": []},
        [{"matchLabels": {"env": "prod"}}],
        "env=prod",
        42,
        # One bad part spoils the whole selector, even next to good ones.
        {
            "matchLabels": {"env": "prod"},
            "matchExpressions": [
                {"key": "tier", "operator": "Exists"},
                {"key": "env", "operator": "Unknown", "values": ["x"]},
            ],
        },
    ],
)
def test_malformed_structured_selectors_match_nothing(selector: object) -> None:
    parsed = selector_from_label_selector(selector)
    assert parsed == Selector.nothing()
    for labels in (NONE, PROD, DEV, EMPTY_VALUE, KUBEDB, {"env": "x", "tier": "y"}):
        assert not parsed.matches(labels)


def test_nothing_and_everything() -> None:
    assert not Selector.nothing().matches(NONE)
    assert Selector.everything().matches(NONE)
    assert Selector.everything().matches(PROD)
    assert Selector.nothing() != Selector.everything()
