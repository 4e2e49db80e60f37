"""`portal.lists.parse_id`: ids from forms, query strings and carrier references. `str.isdigit()` followed by `int()`
answered 500 for "²" (tests/security/test_fuzzing.py found it on the open-case form). `storable`: what a text column
holds."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.lists import MAX_ID, NotAnId, parse_id, parse_ids, storable


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


def test_a_list_of_ids_keeps_their_order():
    assert parse_ids(["7", "3", "7"]) == [7, 3, 7]


@pytest.mark.parametrize("bad", ["²", "", "-1", "abc", "9" * 25])
def test_a_list_with_anything_that_is_not_an_id_is_refused_whole(bad):
    # Leaving it out would act on fewer ids than were sent (a case opened for some of the ticked numbers).
    with pytest.raises(NotAnId):
        parse_ids(["7", bad, "3"])


@given(st.text())
def test_storable_text_is_exactly_what_a_utf8_text_column_holds(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        encodable = False
    else:
        encodable = True
    assert storable(text) == (encodable and "\x00" not in text)


def test_a_lone_surrogate_is_not_storable():
    assert not storable("hi \ud800") and not storable("\udfff") and storable("hi 😀") and not storable("a\x00")
