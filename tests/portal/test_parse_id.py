"""`portal.lists.parse_id`: ids from forms, query strings and carrier references. `str.isdigit()` followed by `int()`
answered 500 for "²" (tests/security/test_fuzzing.py found it on the open-case form)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.lists import MAX_ID, parse_id, parse_ids


@pytest.mark.parametrize(
    "text, expected",
    [
        ("42", 42),
        ("١٢", 12),
        (str(MAX_ID), MAX_ID),
        ("²", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1_0", None),
        ("1.0", None),
        ("", None),
        (str(MAX_ID + 1), None),
        ("9" * 5000, None),
        (None, None),
        (7, None),
    ],
)
def test_examples(text, expected):
    assert parse_id(text) == expected


@given(st.one_of(st.text(), st.integers(-(2**80), 2**80).map(str)))
def test_any_text_gives_none_or_an_id_a_column_holds(text):
    number = parse_id(text)
    assert number is None or (0 < number <= MAX_ID and number == int(text))


def test_a_list_keeps_only_the_ids_in_order():
    assert parse_ids(["7", "²", "", "3", "-1", "7"]) == [7, 3, 7]
