"""Segment counting: GSM-7 160/153 (extension characters count double), UCS-2 70/67 in UTF-16 code units."""

import math

from hypothesis import given
from hypothesis import strategies as st

from texting.segments import (
    CAPACITY,
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    SegmentCount,
    cost,
    count_segments,
    split,
)

BASIC = "".join(sorted(GSM7_BASIC))
EXTENSION = "".join(sorted(GSM7_EXTENSION))
gsm_basic_text = st.text(alphabet=BASIC, max_size=700)
gsm_text = st.text(alphabet=BASIC + EXTENSION, max_size=700)
any_text = st.text(max_size=400)  # includes astral characters (surrogate pairs in UTF-16)


def test_known_examples():
    assert count_segments("").segments == 0
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    # Extension characters are ESC + char: two septets each.
    assert count_segments("€" * 80).segments == 1 and count_segments("€" * 80).units == 160
    assert count_segments("€" * 81).segments == 2
    assert count_segments("{}" * 40 + "a").segments == 2
    # é is in the GSM alphabet, ê is not: one ê turns the whole text into UCS-2.
    assert count_segments("café " * 32).encoding == GSM7 and count_segments("café " * 32).segments == 1
    assert count_segments("ê" + "a" * 69).encoding == UCS2
    assert count_segments("ê" + "a" * 69).segments == 1
    assert count_segments("ê" + "a" * 70).segments == 2
    assert count_segments("ê" * 134).segments == 2
    assert count_segments("ê" * 135).segments == 3
    # Emoji are outside the BMP: two UTF-16 code units each.
    assert count_segments("😀" * 35).units == 70 and count_segments("😀" * 35).segments == 1
    assert count_segments("😀" * 36).segments == 2


def test_a_segment_never_splits_an_escape_sequence_or_a_surrogate_pair():
    # 152 septets then "€" (2 septets) would straddle the 153 boundary: "€" moves whole to segment 2.
    encoding, parts = split("a" * 152 + "€" + "a" * 10)
    assert encoding == GSM7 and parts[0] == "a" * 152 and parts[1].startswith("€")
    encoding, parts = split("a" * 66 + "😀" + "ê" * 5)
    assert encoding == UCS2 and parts == ["a" * 66, "😀ê" + "ê" * 4]


@given(gsm_basic_text)
def test_plain_gsm_follows_the_160_153_rule(text):
    n = len(text)
    expected = 0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153)
    assert count_segments(text).segments == expected
    assert count_segments(text).encoding == GSM7


@given(any_text)
def test_parts_rebuild_the_text_and_fit_their_segment(text):
    encoding, parts = split(text)
    assert "".join(parts) == text
    single, concatenated = CAPACITY[encoding]
    limit = single if len(parts) == 1 else concatenated
    assert all(sum(cost(ch, encoding) for ch in part) <= limit for part in parts)
    assert all(parts)


@given(any_text)
def test_units_are_septets_or_utf16_code_units(text):
    counted = count_segments(text)
    if counted.encoding == UCS2:
        assert counted.units == len(text.encode("utf-16-le")) // 2
    else:
        assert counted.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(any_text)
def test_segments_are_within_the_arithmetic_bounds(text):
    counted = count_segments(text)
    single, concatenated = CAPACITY[counted.encoding]
    if counted.units == 0:
        assert counted.segments == 0
    elif counted.units <= single:
        assert counted.segments == 1
    else:
        # At most one unit per segment is lost to a character that would straddle the boundary.
        lowest, highest = math.ceil(counted.units / concatenated), math.ceil(counted.units / (concatenated - 1))
        assert lowest <= counted.segments <= highest


@given(gsm_text, st.characters())
def test_one_more_character_never_costs_fewer_segments(text, extra):
    assert count_segments(text + extra).segments >= count_segments(text).segments


@given(gsm_text, st.characters().filter(lambda ch: ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))
def test_any_non_gsm_character_makes_the_whole_text_ucs2(text, foreign):
    assert count_segments(text + foreign).encoding == UCS2
    assert count_segments(foreign + text).encoding == UCS2


def test_the_last_character_of_the_basic_plane_is_one_code_unit_and_the_next_one_two():
    # U+FFFF is the last character UTF-16 writes in one code unit; U+10000 is the first it writes as a surrogate pair.
    assert count_segments("\uffff" * 70) == SegmentCount(UCS2, 1, 70)
    assert count_segments("\U00010000" * 35) == SegmentCount(UCS2, 1, 70)
    assert count_segments("\U00010000" * 36) == SegmentCount(UCS2, 2, 72)
