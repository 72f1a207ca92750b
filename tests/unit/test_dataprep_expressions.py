"""The Data Prep expression evaluator: every function of `FUNCTIONS` with a valid input (the guide's sample where
it gives one: help/data-prep/functions.md) and with null, missing, wrong-typed and object inputs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from local.aep_simulator.dataprep import (
    FUNCTIONS,
    ConversionError,
    ExpressionSyntaxError,
    evaluate,
    validate_expression,
)

RECORD: dict[str, Any] = {
    "data": {
        "id": "ch_1",
        "created": 1571829875,
        "amount": 2000,
        "rate": 1.5,
        "paid": True,
        "currency": "usd",
        "canceled_at": None,
        "metadata": {"order_id": "1001", "a b": "x"},
        "items": {"data": [{"price": "p1", "qty": 2}, {"price": "p2", "qty": 3}]},
        "tags": ["a", "b"],
        "empty": "",
        "url": "https://platform.adobe.com:8443/home/page?name=ferret&x=1#nose",
        "text": " hello ",
        "kv": "firstName=John,lastName=Doe",
        "when": "2019-10-23 11:24",
        "json": '{"k": [1, 2]}',
        "numeric": "42",
        "decimal": "12.50",
    }
}


def ev(expression: str) -> Any:
    return evaluate(expression, RECORD)


# (expression, expected): valid inputs, then null / missing / wrong-typed / object inputs where the result is a value
CASES: list[tuple[str, Any]] = [
    # fields and operators
    ("data.amount", 2000),
    ("data.missing", None),
    ("data.missing.deeper", None),
    ("data.amount.deeper", None),
    ("data.items.data[1].price", "p2"),
    ("data.items.data[5].price", None),
    ("data.tags[-1]", "b"),
    ("data.metadata['order_id']", "1001"),
    ("data.metadata.${a b}", "x"),
    ("data.amount * 1000 + 1", 2000001),
    ("data.canceled_at * 1000", 0),  # JEXL: null is 0 in arithmetic
    ("data.missing + 1", 1),
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("7.0 / 2", 3.5),
    ("7 % 3", 1),
    ("7 mod 3", 1),
    ("8 div 2", 4),
    ("-data.amount", -2000),
    ("~0", -1),
    ('"a" + "b"', "ab"),
    ('"a" + 1', "a1"),
    ('"2" + 1', 3),
    ("data.numeric * 2", 84),
    ("data.amount == 2000", True),
    ('data.amount == "2000"', True),
    ("data.amount eq 2000 and data.paid", True),
    ("data.canceled_at == null", True),
    ("data.missing == null", True),
    ("data.amount != null", True),
    ("data.amount > 10 && data.amount <= 2000", True),
    ("data.amount gt 10 or false", True),
    ("data.missing < 5", False),
    ('"a" lt "b"', True),
    ("!data.paid", False),
    ("not data.missing", True),
    ("data.paid ? 1 : 2", 1),
    ("data.missing ? 1 : 2", 2),
    ("[1, 'two', null]", [1, "two", None]),
    ('"string1".equals("STRING1")', False),
    ('"string1".equalsIgnoreCase("STRING1")', True),
    ("data.missing.equals('x')", None),
    ("1.5e2", 150.0),
    ("10L", 10),
    # string functions
    ('concat("Hi, ", "there", "!")', "Hi, there!"),
    ("concat(data.id, '-', data.amount)", "ch_1-2000"),
    ("concat(data.missing, 'x', null)", "x"),
    ("concat(null, data.missing)", None),
    ('explode("Hi, there!", " ")', ["Hi,", "there!"]),
    ('explode("a,b")', ["a", "b"]),
    ("explode(data.missing)", None),
    ('instr("adobe.com", "com")', 6),
    ('instr("adobe.com", "x")', -1),
    ('instr("a.b.c", ".", 0, 2)', 3),
    ('instr(null, "x")', None),
    ('replacestr("This is a string re test", "re", "replace")', "This is a string replace test"),
    ('replacestr(null, "a", "b")', None),
    ('replacestr("abc", null, "b")', "abc"),
    ('substr("This is a substring test", 7, 8)', " a subst"),
    ('substr("abc", 1, 99)', "bc"),
    ("substr(null, 1, 2)", None),
    ('lower("HeLLo")', "hello"),
    ('lcase("HeLLo")', "hello"),
    ('upper("HeLLo")', "HELLO"),
    ("ucase(data.currency)", "USD"),
    ("upper(data.canceled_at)", None),
    ("upper(data.missing)", None),
    ("upper(data.amount)", "2000"),
    ("upper(data.paid)", "TRUE"),
    ('split("Hello world", " ")', ["Hello", "world"]),
    ('split("a,b;c", ",;")', ["a", "b", "c"]),
    ("split(null, ',')", None),
    ('join(" ", to_array(true, "Hello", "world"))', "Hello world"),
    ("join('-', data.tags)", "a-b"),
    ("join('-', [1, null, 2])", "1-2"),
    ("join('-', null)", None),
    ('lpad("bat", 8, "yz")', "yzyzybat"),
    ('lpad("bat", 5, null)', "  bat"),
    ('lpad("bat", 2, "x")', "bat"),
    ("lpad(null, 5, 'x')", None),
    ('rpad("bat", 8, "yz")', "batyzyzy"),
    ("rpad(null, 5, 'x')", None),
    ('left("abcde", 2)', "ab"),
    ('left("abcde", -1)', ""),
    ("left(null, 2)", None),
    ('right("abcde", 2)', "de"),
    ('right("abcde", 9)', "abcde"),
    ("right(null, 2)", None),
    ('ltrim(" hello")', "hello"),
    ('rtrim("hello ")', "hello"),
    ("trim(data.text)", "hello"),
    ("trim(null)", None),
    ("ltrim(null)", None),
    ("rtrim(null)", None),
    # regular expressions
    ('extract_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")', ["E259,E259B_009,1_1", "E259", "1_1"]),
    ('extract_regex("abc", "x(y)")', None),
    ('extract_regex(null, "x")', None),
    ('matches_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")', True),
    ('matches_regex("abc", "b")', False),
    ('matches_regex(null, "b")', False),
    # hashing (the guide's samples for "my text", UTF-8)
    ('sha1("my text", "UTF-8")', "c3599c11e47719df18a2448690840c5dfcce3c80"),
    ('sha256("my text", "UTF-8")', "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104"),
    (
        'sha512("my text", "UTF-8")',
        "a3d7e45a0d9be5fd4e4b9a3b8c9c2163c21ef708bf11b4232bb21d2a8704ada2"
        "cdcd7b367dd0788a89a5c908cfe377aceb1072a7b386b7d4fd2ff68a8fd24d16",
    ),
    ('md5("my text", "UTF-8")', "d3b96ce8c9fb4e9bd0198d03ba6852c7"),
    ('md5("my text")', "d3b96ce8c9fb4e9bd0198d03ba6852c7"),
    ("sha256(null)", None),
    ('crc32("my text")', "802ef98d"),  # CRC-32 (java.util.zip.CRC32); the guide's "8df92e80" is not CRC-32
    ("crc32(null)", None),
    # URLs
    ('get_url_protocol("https://platform.adobe.com/home")', "https"),
    ('get_url_protocol("not a url")', None),
    ('get_url_host("https://platform.adobe.com/home")', "platform.adobe.com"),
    ("get_url_host(null)", None),
    ('get_url_port("sftp://example.com//home/joe/employee.csv")', 22),
    ("get_url_port(data.url)", 8443),
    ('get_url_port("nope")', None),
    ('get_url_path("sftp://example.com//home/joe/employee.csv")', "//home/joe/employee.csv"),
    ('get_url_path("sftp://example.com//home/joe/employee.csv", false)', "employee.csv"),
    ("get_url_path(null)", None),
    ('get_url_query_str("foo://example.com:8042/over/there?name=ferret#nose", "retain")', {"name": "ferret#nose"}),
    ('get_url_query_str("foo://example.com:8042/over/there?name=ferret#nose", "remove")', {"name": "ferret"}),
    (
        'get_url_query_str("foo://example.com:8042/over/there?name=ferret#nose", "append")',
        {"name": "ferret", "_anchor_": "nose"},
    ),
    ("get_url_query_str(null, 'retain')", None),
    # dates
    ("dformat(1571829875000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")", "2019-10-23T11:24:35.000Z"),
    ("dformat(data.created * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")", "2019-10-23T11:24:35.000Z"),
    ("dformat(data.canceled_at * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")", "1970-01-01T00:00:00.000Z"),  # the trap
    ("dformat(data.canceled_at, 'yyyy')", None),
    ("dformat(data.missing, 'yyyy')", None),
    ("dformat('1571829875000', 'yyyy-MM-dd')", "2019-10-23"),
    ('dformat(1571829875000, "EEE, dd MMM yyyy hh:mm a XXX")', "Wed, 23 Oct 2019 11:24 AM Z"),
    ("iif(data.canceled_at == null, null, dformat(data.canceled_at * 1000, 'yyyy'))", None),
    ('format(date("2019-10-23T11:24:00+00:00"), "yyyy-MM-dd HH:mm:ss")', "2019-10-23 11:24:00"),
    ('format("2019-10-23T11:24:00Z", "yyyy")', "2019"),
    ("format(null, 'yyyy')", None),
    ('date("2019-10-23 11:24", "yyyy-MM-dd HH:mm")', dt.datetime(2019, 10, 23, 11, 24, tzinfo=dt.UTC)),
    ("date(data.when)", dt.datetime(2019, 10, 23, 11, 24, tzinfo=dt.UTC)),
    ('date("2019-10-23T11:24:00.5+02:00")', dt.datetime(2019, 10, 23, 9, 24, 0, 500000, tzinfo=dt.UTC)),
    ('date(null, "yyyy", date("2020-01-01"))', dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ("date(data.missing)", None),
    ('date_part("MM", date("2019-10-17 11:55:12"))', 10),
    ('date_part("quarter", date("2019-10-17 11:55:12"))', 4),
    ('date_part("hh12", date("2019-10-17 13:55:12"))', 1),
    ('date_part("year", null)', None),
    (
        'set_date_part("m", 4, date("2016-11-09T11:44:44.797"))',
        dt.datetime(2016, 4, 9, 11, 44, 44, 797000, tzinfo=dt.UTC),
    ),
    ('set_date_part("m", 4, null)', None),
    (
        'make_date_time(2019, 10, 17, 11, 55, 12, 999000000, "UTC")',
        dt.datetime(2019, 10, 17, 11, 55, 12, 999000, tzinfo=dt.UTC),
    ),
    ('make_timestamp(2019, 10, 17, 11, 55, 12, null, "UTC")', None),
    (
        'zone_date_to_utc(make_date_time(2019, 10, 17, 11, 55, 12, 0, "America/Los_Angeles"))',
        dt.datetime(2019, 10, 17, 18, 55, 12, tzinfo=dt.UTC),
    ),
    ("zone_date_to_utc(null)", None),
    ('date_part("hour", zone_date_to_zone(date("2021-10-26T13:43:59Z"), "Europe/Paris"))', 15),
    ('zone_date_to_zone(null, "Europe/Paris")', None),
    # objects
    ("size_of([1, 2, 3, 4])", 4),
    ("size_of(data.metadata)", 2),
    ("size_of(data.currency)", 3),
    ("size_of(data.missing)", 0),
    ("is_empty([1, 2, 3])", False),
    ("is_empty(data.empty)", True),
    ("is_empty(data.missing)", True),
    ("is_empty(data.canceled_at)", True),
    ("is_empty(data.metadata)", False),
    ("is_empty(0)", False),
    ('arrays_to_object("sku", ["a", "b"], "qty", [1, 2])', [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]),
    ('arrays_to_object("sku", ["a", "b"], "qty", [1])', [{"sku": "a", "qty": 1}, {"sku": "b"}]),
    ('arrays_to_object("sku", null)', []),
    ('to_object("firstName", "John", "lastName", "Doe")', {"firstName": "John", "lastName": "Doe"}),
    ('to_object("a", data.missing, "b", 1)', {"b": 1}),
    (
        'str_to_object("firstName=John,lastName=Doe,phone=123 456 7890", "=", ",")',
        {"firstName": "John", "lastName": "Doe", "phone": "123 456 7890"},
    ),
    ('str_to_object("a:1,b:2")', {"a": "1", "b": "2"}),
    ("str_to_object(null)", None),
    ('contains_key("data.canceled_at")', True),
    ('contains_key("data.metadata.order_id")', True),
    ('contains_key("data.missing")', False),
    ("contains_key(null)", False),
    ("nullify()", None),
    ("get_keys(data.metadata)", ["order_id", "a b"]),
    ("get_keys(null)", None),
    ('get_values("firstName - John , lastName - Cena , phone - 555 420 8692", "firstName", "-", ",")', "John"),
    ('get_values(data.kv, "lastName", "=", null)', "Doe"),
    ('get_values(data.kv, "nope", "=")', None),
    ('get_values(null, "x", ":")', None),
    # arrays
    ('coalesce(null, null, null, "first", null, "second")', "first"),
    ("coalesce(data.canceled_at, data.missing, data.amount)", 2000),
    ("coalesce([null, 2])", 2),
    ("coalesce(null, null)", None),
    ('first("1", "2", "3")', "1"),
    ("first(data.tags)", "a"),
    ("first([])", None),
    ('last("1", "2", "3")', "3"),
    ("last(data.items.data).price", "p2"),
    ("last(null)", None),
    ("add_to_array(['a', 'b'], 'c', 'd')", ["a", "b", "c", "d"]),
    ("add_to_array(null, 'c')", ["c"]),
    ("join_arrays(['a', 'b'], ['c'], ['d', 'e'])", ["a", "b", "c", "d", "e"]),
    ("join_arrays(['a'], null)", ["a"]),
    ("to_array(false, 1, null, 2, 3)", [1, 2, 3]),
    ("to_array(true, 1, null)", [1, None]),
    # logical
    ('decode(data.currency, "usd", "USD", "eur", "EUR", "N/A")', "USD"),
    ('decode("gbp", "usd", "USD", "N/A")', "N/A"),
    ('decode("gbp", "usd", "USD")', None),
    ('decode(data.missing, null, "none", "other")', "none"),
    ('iif("s".equalsIgnoreCase("S"), "True", "False")', "True"),
    ("iif(data.amount > 5000, 'big', 'small')", "small"),
    # aggregation
    ("min(3, 1, 4)", 1),
    ("max(3, 1, 4)", 4),
    ("max(null, 2, data.missing)", 2),
    ("min(null)", None),
    ("max('a', 'c', 'b')", "c"),
    # type conversions
    ('to_bigint("1000000")', 1000000),
    ("to_bigint(12.0)", 12),
    ("to_bigint(null)", None),
    ('to_decimal("20.5")', 20.5),
    ("to_decimal(data.decimal)", 12.5),
    ("to_decimal(null)", None),
    ('to_float("12.3456")', 12.3456),
    ("to_float(data.missing)", None),
    ('to_integer("12")', 12),
    ("to_integer(data.numeric)", 42),
    ("to_integer(null)", None),
    # JSON, special
    ("json_to_object(data.json)", {"k": [1, 2]}),
    ("json_to_object(data.metadata)", {"order_id": "1001", "a b": "x"}),
    ("json_to_object(null)", None),
]


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_expression_values(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


# Conversion errors: wrong-typed and object inputs Data Prep cannot convert (the attribute is nulled)
ERRORS = [
    "upper(data.metadata)",
    "lower(data.tags)",
    "concat('a', data.metadata)",
    "substr('abc', 'x', 1)",
    "left('abc', 1.5)",
    "dformat(data.currency, 'yyyy')",
    "dformat(data.paid, 'yyyy')",
    "dformat(data.metadata, 'yyyy')",
    "dformat(1e30, 'yyyy')",
    "dformat(0, 'yyyy qq')",
    "data.currency * 1000",
    "data.metadata * 2",
    "data.paid + 1",
    "1 / 0",
    "date('not a date')",
    "date('2019-10-23', 'dd/MM/yyyy')",
    "date_part('fortnight', date('2019-10-23'))",
    "set_date_part('m', 13, date('2019-10-23'))",
    "make_date_time(2019, 13, 1, 0, 0, 0, 0, 'UTC')",
    "zone_date_to_zone(now(), 'Mars/Olympus')",
    "size_of(5)",
    "arrays_to_object('sku', 'x')",
    "arrays_to_object('sku')",
    "to_object('a')",
    "to_object(null, 1)",
    "get_keys(data.tags)",
    "add_to_array('x', 1)",
    "join_arrays([1], 'x')",
    "to_array('yes', 1)",
    "iif(null, 1, 2)",
    "iif(data.currency, 1, 2)",
    "min(1, 'a')",
    "to_bigint('1000000.34')",
    "to_bigint(data.paid)",
    "to_decimal('abc')",
    "to_decimal(data.metadata)",
    "to_float('x1')",
    "to_integer('12.5')",
    "to_integer('99999999999')",
    "json_to_object('{bad')",
    "extract_regex('abc', '(')",
    "explode('abc', '[')",
    "sha1('x', 'EBCDIC')",
    "get_url_query_str('https://a.b/?x=1', 'keep')",
    "'a' < 1",
]


@pytest.mark.parametrize("expression", ERRORS)
def test_conversion_errors(expression: str) -> None:
    with pytest.raises(ConversionError):
        ev(expression)


SYNTAX = ["", "upper(", "foo(1)", "data.", "1 +", "ua_os_name('x')", "'a'.trim()", "concat('a',, 'b')"]


@pytest.mark.parametrize("expression", SYNTAX)
def test_syntax_errors_are_refused(expression: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        ev(expression)
    assert validate_expression(expression)


def test_validate_expression_accepts_every_registered_function_name() -> None:
    assert validate_expression("dformat(data.created * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")") is None
    for name in FUNCTIONS:
        assert validate_expression(f"{name}()") is None, name


def test_now_timestamp_uuid_are_fresh() -> None:
    before = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    assert before - 5 <= ev("timestamp()") <= before + 5_000
    assert abs(ev("now()") - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    first, second = ev("uuid()"), ev("guid()")
    assert first != second and re.fullmatch(r"[0-9a-f-]{36}", first)


def test_arity_is_checked() -> None:
    with pytest.raises(ConversionError, match="takes 1 arguments"):
        ev("upper('a', 'b')")


def test_every_function_documents_its_section_and_null_rules() -> None:
    sections = {
        "String functions", "Regular expression functions", "Hashing functions", "URL functions",
        "Date and time functions", "Hierarchies - Objects", "Hierarchies - Arrays", "Logical operators",
        "Aggregation", "Type conversions", "JSON functions", "Special operations",
    }  # fmt: skip
    for spec in FUNCTIONS.values():
        assert spec.section in sections, spec.name
        assert spec.nulls, spec.name
    tested = " ".join(c[0] for c in CASES) + " ".join(ERRORS) + " timestamp() now() uuid() guid()"
    untested = [name for name in FUNCTIONS if not re.search(rf"\b{name}\(", tested)]
    assert untested == [], f"functions without a test case: {untested}"


def test_the_engine_doc_lists_every_function() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-prep-engine.md").read_text(encoding="utf-8")
    missing = [name for name in FUNCTIONS if f"`{name}`" not in doc]
    assert missing == [], f"docs/data-prep-engine.md does not list {missing}"
