"""The benchmark's figures as an SVG chart: one bar per contender, its median ratio to the
group's baseline on a log scale, the min-max spread as a whisker. No plotting library: the
chart is a few rectangles and lines.

    python -m fastsig.bench.chart bench.json > bench.svg
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Dict, List
from xml.sax.saxutils import escape

WIDTH, LABEL, BAR, GAP, LOW, HIGH = 980, 400, 16, 6, 0.01, 20.0


def _x(ratio: float) -> float:
    """Where a ratio falls on the log axis."""
    ratio = min(max(ratio, LOW), HIGH)
    span = math.log10(HIGH) - math.log10(LOW)
    return LABEL + (WIDTH - LABEL - 70) * (math.log10(ratio) - math.log10(LOW)) / span


def svg(report: Dict[str, Any]) -> str:
    rows: List[str] = []
    y = 40
    m = report["machine"]
    title = (f"fastsig {report['fastsig']} vs peers, ratio to each group's baseline (log scale); "
             f"{m['cpu']}, Python {m['python']}; batches of {report['batch']:,}"
             + ("; CPU time" if report.get("clock") == "cpu" else ""))
    rows.append(f'<text x="10" y="20" font-weight="bold">{escape(title)}</text>')
    for group, figures in report["groups"].items():
        rows.append(f'<text x="10" y="{y + 14}" font-weight="bold">{escape(group)}</text>')
        y += 24
        top = y
        for c in sorted(figures["contenders"], key=lambda c: c["ratio_median"]):
            colour = "#d9534f" if not c["name"].startswith("fastsig") else (
                "#2a7ab0" if "(cython)" in c["name"] else "#7fb3d5")
            if c["name"] == figures["baseline"]:
                colour = "#555555"
            x0, x1 = _x(LOW), _x(c["ratio_median"])
            rows.append(f'<text x="{LABEL - 8}" y="{y + BAR - 4}" text-anchor="end">'
                        f'{escape(c["name"])}</text>')
            rows.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" '
                        f'height="{BAR}" fill="{colour}"/>')
            mid = y + BAR / 2
            rows.append(f'<line x1="{_x(c["ratio_min"]):.1f}" x2="{_x(c["ratio_max"]):.1f}" '
                        f'y1="{mid}" y2="{mid}" stroke="black"/>')
            rows.append(f'<text x="{x1 + 6:.1f}" y="{y + BAR - 4}">{c["ratio_median"]:.2f}x</text>')
            y += BAR + GAP
        for tick in (0.01, 0.1, 1, 10):
            x = _x(tick)
            dash = "" if tick == 1 else ' stroke-dasharray="3,3"'
            rows.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{y}" '
                        f'stroke="#999"{dash}/>')
            rows.append(f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle" '
                        f'fill="#666">{tick:g}x</text>')
        y += 30
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
            f'font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>' + "".join(rows) + "</svg>\n")


if __name__ == "__main__":
    with open(sys.argv[1]) as source:
        sys.stdout.write(svg(json.load(source)))
