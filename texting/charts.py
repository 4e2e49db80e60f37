"""Geometry of the messages-per-day chart, rendered by the template as plain SVG (no chart library, no script, no
inline style: bars get their colour from CSS classes)."""

import math
from dataclasses import dataclass, field

from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26
SERIES = (
    ("outbound", gettext_lazy("Sent")),
    ("inbound", gettext_lazy("Received")),
    ("blocked", gettext_lazy("Blocked")),
)


@dataclass
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float


@dataclass
class Column:
    label: str
    title: str
    x: float
    bars: list[Bar] = field(default_factory=list)
    tick: bool = False


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    baseline: float
    columns: list[Column]
    gridlines: list[tuple[float, int]]  # (y, value)
    maximum: int
    series: tuple = SERIES


def nice_ceiling(value: int) -> int:
    """The chart's top: four gridline steps of a round whole size covering `value`."""
    raw = max(value, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(
        s * magnitude
        for s in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
        if raw <= s * magnitude and float(s * magnitude).is_integer()
    )
    return int(step * 4)


def day_chart(days) -> Chart:
    """Stacked bars (sent, received, blocked) per day of `days` (queries.DayCount)."""
    maximum = nice_ceiling(max((d.total for d in days), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / max(len(days), 1)
    bar_width = max(1.0, slot * 0.7)
    label_every = max(1, math.ceil(len(days) / 10))
    columns = []
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar_width) / 2
        column = Column(
            # Day and month names in the reader's language (Django's date format letters: Nov 27, Fri Nov 27).
            label=date_format(d.day, "M j"),
            x=round(LEFT + i * slot + slot / 2, 1),
            title=_("%(day)s: %(sent)s sent, %(received)s received, %(blocked)s blocked")
            % {"day": date_format(d.day, "D M j"), "sent": d.outbound, "received": d.inbound, "blocked": d.blocked},
            tick=(len(days) - 1 - i) % label_every == 0,
        )
        y = baseline
        for name, _label in SERIES:
            value = getattr(d, name)
            if value:
                height = plot_height * value / maximum
                y -= height
                column.bars.append(Bar(name, round(x, 1), round(y, 1), round(bar_width, 1), round(height, 1)))
        columns.append(column)
    gridlines = [(round(baseline - plot_height * k / 4, 1), maximum * k // 4) for k in range(5)]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, columns, gridlines, maximum)
