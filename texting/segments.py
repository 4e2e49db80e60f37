"""How many SMS segments a text costs (3GPP TS 23.038 / 23.040).

A text that uses only the GSM 7-bit alphabet is sent in septets: 160 in a single segment, 153 per segment once it
has to be concatenated (the user data header takes 7). Characters of the GSM extension table (``^{}\\[~]|€`` and
form feed) are sent as ESC + character and so cost two septets. As soon as one character is outside both tables
the whole text is sent as UCS-2: 70 UTF-16 code units in a single segment, 67 per concatenated segment; characters
outside the Basic Multilingual Plane (most emoji) take two code units (a surrogate pair).

Like the operators' handsets, a segment never ends in the middle of an escape sequence or a surrogate pair: such a
character moves whole to the next segment, so a concatenated segment may carry 152 septets or 66 code units.
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "gsm7"
UCS2 = "ucs2"

# (single-segment capacity, per-segment capacity when concatenated), in septets or UTF-16 code units.
CAPACITY = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # GSM7 or UCS2
    segments: int
    units: int  # septets (GSM7) or UTF-16 code units (UCS2) of the whole text


def encoding_of(text: str) -> str:
    """GSM7 when every character is in the GSM 7-bit basic or extension table, otherwise UCS2."""
    return GSM7 if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else UCS2


def cost(ch: str, encoding: str) -> int:
    """Septets (GSM7) or UTF-16 code units (UCS2) of one character."""
    if encoding == GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def split(text: str) -> tuple[str, list[str]]:
    """The encoding and the parts the text is sent in; ``"".join(parts) == text``. Empty text: no parts."""
    encoding = encoding_of(text)
    single, concatenated = CAPACITY[encoding]
    if sum(cost(ch, encoding) for ch in text) <= single:
        return encoding, [text] if text else []
    parts, current, used = [], [], 0
    for ch in text:
        width = cost(ch, encoding)
        if used + width > concatenated:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += width
    if current:
        parts.append("".join(current))
    return encoding, parts


def count_segments(text: str) -> SegmentCount:
    """Encoding, segment count and size of a text (an empty text is zero segments)."""
    encoding, parts = split(text)
    return SegmentCount(encoding, len(parts), sum(cost(ch, encoding) for ch in text))
