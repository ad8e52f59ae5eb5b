"""Server-rendered SVG charts for /stats: no JavaScript, every text escaped, colours as SVG
attributes (the Content-Security-Policy allows no inline style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

PALETTE = ("#2f6db5", "#e08a2e", "#3f9b5a", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4ac0d", "#16a085", "#b5651d")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def stacked_bars(
    columns: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, height: int = 220
) -> Markup:
    """Columns (e.g. days) of stacked values per series (e.g. email classes), with a legend."""
    width = max(360, 46 * len(columns) + 70)
    top, bottom, left = 24, 44, 40
    plot_h = height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(columns))]
    peak = max(totals, default=0) or 1
    bar_w = max(8, (width - left - 10) / max(1, len(columns)) - 8)
    parts = [_open(width, height + 18 * ((len(series) + 3) // 4), title)]
    parts.append(_axis(left, top, plot_h, peak, width))
    if not any(totals):
        parts.append(
            f'<text x="{left + 10}" y="{top + plot_h / 2:.0f}" font-size="12">nothing in this period</text>'
        )
    for i, name in enumerate(columns):
        x = left + 6 + i * (bar_w + 8)
        y = float(top + plot_h)
        for s, values in enumerate(series.values()):
            h = plot_h * values[i] / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour(s)}">'
                    f"<title>{escape(name)}: {escape(list(series)[s])} {values[i]:g}</title></rect>"
                )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
        if totals[i]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - plot_h * totals[i] / peak - 3:.1f}" '
                f'font-size="10" text-anchor="middle">{totals[i]:g}</text>'
            )
    parts.append(_legend(list(series), left, height + 2))
    parts.append("</svg>")
    return Markup("".join(parts))  # built from escaped parts


def horizontal_bars(values: Mapping[str, float], *, title: str, unit: str = "") -> Markup:
    """One bar per label, longest first."""
    items = sorted(values.items(), key=lambda kv: -kv[1])
    width, row, left = 640, 24, 250
    height = 30 + row * max(1, len(items))
    peak = max((v for _, v in items), default=0) or 1
    parts = [_open(width, height, title)]
    if not items:
        parts.append('<text x="10" y="40" font-size="12">nothing in this period</text>')
    for i, (label, value) in enumerate(items):
        y = 22 + i * row
        w = (width - left - 60) * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 8}" fill="{colour(i)}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 14}" font-size="12">{value:g}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def gauge(fraction: float | None, *, title: str) -> Markup:
    """A share (0..1) as a filled bar with its percentage."""
    width, height = 260, 64
    parts = [_open(width, height, title)]
    if fraction is None:
        parts.append('<text x="10" y="44" font-size="13">no decisions in this period</text>')
    else:
        w = (width - 20) * max(0.0, min(1.0, fraction))
        parts.append(
            f'<rect x="10" y="28" width="{width - 20}" height="18" fill="#e6e9ee"/>'
            f'<rect x="10" y="28" width="{w:.1f}" height="18" fill="#3f9b5a"/>'
            f'<text x="{width / 2}" y="42" font-size="13" text-anchor="middle">{100 * fraction:.1f} %</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="14" font-size="13" font-weight="bold">{escape(title)}</text>'
    )


def _axis(left: int, top: int, plot_h: int, peak: float, width: float) -> str:
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4:.0f}" y2="{top + plot_h}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{peak:g}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>'
    )


def _legend(names: Sequence[str], left: int, y: float) -> str:
    parts = []
    for i, name in enumerate(names):
        x = left + (i % 4) * 130
        row_y = y + (i // 4) * 18
        parts.append(
            f'<rect x="{x}" y="{row_y:.0f}" width="10" height="10" fill="{colour(i)}"/>'
            f'<text x="{x + 14}" y="{row_y + 9:.0f}" font-size="11">{escape(name)}</text>'
        )
    return "".join(parts)
