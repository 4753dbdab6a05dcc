"""Horizontal bar charts as inline SVG, drawn on the server (no script, readable by screen readers).

Each chart has ``role="img"`` with a title, and every bar carries its value as text, so nothing
depends on colour or on hovering (WCAG 1.4.1, 1.1.1).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 300
BAR_WIDTH = 380
VALUE_WIDTH = 90
# #1f5f8b on white: contrast 6.9:1 (WCAG AA asks 3:1 for graphics, 4.5:1 for text).
BAR_COLOUR = "#1f5f8b"
TEXT_COLOUR = "#1a1a1a"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", decimals: int = 0) -> Markup:
    if not bars:
        return Markup('<p class="empty">{}: no data yet.</p>').format(title)
    top = max(value for _, value in bars) or 1
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{_id(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" class="chart">',
        f'<title id="{_id(title)}">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = max(2.0, BAR_WIDTH * value / top) if value else 0.0
        text = f"{value:.{decimals}f}{unit}"
        middle = y + BAR_HEIGHT / 2
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{TEXT_COLOUR}">{escape(label)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>",
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{middle}" dominant-baseline="middle" '
            f'fill="{TEXT_COLOUR}">{escape(text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())
