"""Pictures of a failing check, drawn as inline SVG from its numbers (no plotting library).

The numbers are those grader.check_data kept with the check. `pictures` chooses from their
shapes:
- two vectors and a number due (dot product, cosine): the vectors as arrows, their lengths and
  the angle between them; vectors of more than two dimensions are drawn in the plane the two
  span, where lengths and the angle are exact;
- one vector in, one out (normalising): the input, the expected and the student's vector as arrows;
- a query, a matrix of keys and k (top-k): the ranking by cosine beside the student's picks;
- rows that sum to 1 (softmax, attention weights): bars per row, expected beside the student's;
- a matrix (similarity matrix, attention scores): expected and student's heatmaps on one colour
  scale, and their difference; a transposed result is named and drawn in its own shape.

Every SVG carries its numbers as data-* attributes (tests and screen readers read them) and
every text in it is escaped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from .check_data import values

MAX_BAR_ROWS = 8
MAX_RANKED = 20

MAX_BAR_ROWS = 8


MAX_RANKED = 20


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Picture:
    kind: str  # arrows | heatmaps | bars | ranking
    svg: Markup
    caption: str  # plain text (escaped where shown)


def num(x: float, digits: int = 3) -> str:
    """A number for a label: at most `digits` decimals, no trailing zeros; from a million on,
    three significant digits and a power of ten (`1.23e308`)."""
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    if abs(x) >= 1e6:
        mantissa, _, exponent = f"{x:.3g}".partition("e")
        return f"{mantissa}e{int(exponent)}".replace("-", "−")
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text.replace("-", "−")


def _attrs(attrs: Mapping[str, Any]) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)


class Svg:
    """An SVG document built element by element; every attribute value and text is escaped."""

    def __init__(self, width: float, height: float, label: str, **attrs: Any) -> None:
        self.width, self.height = width, height
        self.head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
                     f'width="{width:.0f}" height="{height:.0f}" role="img"{_attrs({"aria_label": label, **attrs})}>')
        self.parts: list[str] = [f"<title>{escape(label)}</title>"]

    def add(self, tag: str, text: str | None = None, **attrs: Any) -> None:
        if text is None:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}>{escape(text)}</{tag}>")

    def open(self, tag: str, **attrs: Any) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def markup(self) -> Markup:
        return Markup(self.head + "".join(self.parts) + "</svg>")


COLOURS = {"a": "#1f77b4", "b": "#d62728", "c": "#2ca02c", "expected": "#555555", "got": "#d95f02"}


# ColorBrewer "Blues" (sequential) and "RdBu" (diverging) anchors
_BLUES = ((247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107))


_RDBU = ((178, 24, 43), (239, 138, 98), (247, 247, 247), (103, 169, 207), (33, 102, 172))


def _ramp(anchors: Sequence[tuple[int, int, int]], t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0) * (len(anchors) - 1)
    i = min(int(t), len(anchors) - 2)
    f = t - i
    lo, hi = anchors[i], anchors[i + 1]
    return tuple(round(lo[k] + (hi[k] - lo[k]) * f) for k in range(3))  # type: ignore[return-value]


def _hex(rgb: tuple[int, int, int]) -> str:
    return f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"


def _dark(rgb: tuple[int, int, int]) -> bool:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140


# ------------------------------------------------------------------ arrows


def plane(vectors: Sequence[np.ndarray]) -> tuple[np.ndarray, bool]:
    """An orthonormal 2 × d basis of the plane through the first two independent vectors, and
    whether every vector lies in it (then lengths and angles drawn are exact)."""
    d = len(vectors[0])
    basis: list[np.ndarray] = []
    for v in vectors:
        r = v - sum((float(v @ e) * e for e in basis), np.zeros(d))
        n = float(np.linalg.norm(r))
        if n > 1e-9 * max(float(np.linalg.norm(v)), 1e-300) and n > 0:
            basis.append(r / n)
        if len(basis) == 2:
            break
    while len(basis) < 2:  # fewer than two independent vectors: any axes that complete the plane
        for i in range(d):
            e = np.zeros(d)
            e[i] = 1.0
            r = e - sum((float(e @ b) * b for b in basis), np.zeros(d))
            if float(np.linalg.norm(r)) > 1e-6:
                basis.append(r / float(np.linalg.norm(r)))
                break
    B = np.array(basis)
    exact = all(float(np.linalg.norm(v - B.T @ (B @ v))) <= 1e-6 * max(float(np.linalg.norm(v)), 1.0) for v in vectors)
    return B, exact


def _length(v: np.ndarray) -> float:
    """A vector's length, without overflow when its squares would pass the largest float."""
    size = float(np.max(np.abs(v))) if v.size else 0.0
    if 1e150 < size < math.inf or 0 < size < 1e-150:
        return size * float(np.linalg.norm(v / size))
    return float(np.linalg.norm(v))


def _vector_text(v: np.ndarray) -> str:
    if v.size > 6:
        return f"({v.size} numbers)"
    return "[" + ", ".join(num(float(x)) for x in v) + "]"


def arrows(named: Sequence[tuple[str, np.ndarray]], unit_circle: bool = False, angle_between: bool = True) -> Picture:
    """Vectors as arrows from the origin, with their lengths, and the angle between the first two."""
    d = len(named[0][1])
    raw = [np.asarray(v, dtype=float) for _, v in named]
    size = max((float(np.max(np.abs(v))) for v in raw if v.size), default=0.0)
    unit = size if 1e100 < size < math.inf else 1.0  # huge numbers are drawn in units of the largest
    unit_circle = unit_circle and unit == 1.0
    vecs = [v / unit for v in raw]
    if d == 1:
        points = [np.array([v[0], 0.0]) for v in vecs]
        note, exact = "One-dimensional vectors, drawn on a line.", True
    elif d == 2:
        points, note, exact = list(vecs), "", True
    else:
        B, exact = plane(vecs)
        points = [B @ v for v in vecs]
        first, second = named[0][0], named[1][0] if len(named) > 1 else named[0][0]
        note = (f"{d}-dimensional vectors, drawn in the plane through {first} and {second}"
                + (": their lengths and the angle between them are exact." if exact else
                   "; a vector outside that plane is drawn as its shadow in it."))
    scaled = [_length(v) for v in vecs]
    lengths = [n * unit for n in scaled]
    angle = cos = None
    if angle_between and len(vecs) >= 2 and 0 < scaled[0] < math.inf and 0 < scaled[1] < math.inf:
        with np.errstate(all="ignore"):
            ratio = float(vecs[0] @ vecs[1] / (scaled[0] * scaled[1]))
        if math.isfinite(ratio):  # else no angle is drawn or named
            cos = float(np.clip(ratio, -1.0, 1.0))
            angle = math.degrees(math.acos(cos))
    # the drawing: a box around the origin and every tip, one scale for both axes
    xs = [0.0] + [float(p[0]) for p in points] + ([-1.0, 1.0] if unit_circle else [])
    ys = [0.0] + [float(p[1]) for p in points] + ([-1.0, 1.0] if unit_circle else [])
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-12)
    plot, pad = 240.0, 34.0
    scale = plot / span
    width = max((max(xs) - min(xs)) * scale + 2 * pad, 300.0)
    legend_top = (max(ys) - min(ys)) * scale + 2 * pad
    height = legend_top + 20 * (len(named) + (1 if angle is not None else 0)) + 8
    ox = (width - (max(xs) - min(xs)) * scale) / 2 - min(xs) * scale
    oy = pad + max(ys) * scale

    def xy(p: np.ndarray) -> tuple[float, float]:
        return ox + float(p[0]) * scale, oy - float(p[1]) * scale

    label = "arrows: " + ", ".join(f"{n} of length {num(L)}" for (n, _), L in zip(named, lengths, strict=True))
    if angle is not None:
        label += f", {num(angle, 1)}° apart"
    svg = Svg(width, height, label, class_="picture arrows", data_angle=None if angle is None else f"{angle:.6g}",
              data_exact="true" if exact else "false")
    svg.add("line", x1=f"{pad / 2:.1f}", y1=f"{oy:.1f}", x2=f"{width - pad / 2:.1f}", y2=f"{oy:.1f}", class_="axis")
    svg.add("line", x1=f"{ox:.1f}", y1=f"{pad / 2:.1f}", x2=f"{ox:.1f}", y2=f"{legend_top - pad / 2:.1f}", class_="axis")
    if unit_circle:
        svg.add("circle", cx=f"{ox:.1f}", cy=f"{oy:.1f}", r=f"{scale:.2f}", class_="unit-circle")
    if angle is not None:
        a0 = math.atan2(points[0][1], points[0][0])
        a1 = math.atan2(points[1][1], points[1][0])
        r = max(16.0, min(36.0, 0.4 * scale * min(float(np.linalg.norm(points[0])), float(np.linalg.norm(points[1])))))
        sweep = (a1 - a0 + math.pi) % (2 * math.pi) - math.pi
        if abs(abs(sweep) - math.pi) < 1e-9:
            sweep = math.pi  # opposite vectors: the half turn, drawn counter-clockwise
        x0, y0 = ox + r * math.cos(a0), oy - r * math.sin(a0)
        x1, y1 = ox + r * math.cos(a0 + sweep), oy - r * math.sin(a0 + sweep)
        svg.add("path", d=f"M {x0:.2f} {y0:.2f} A {r:.2f} {r:.2f} 0 0 {0 if sweep > 0 else 1} {x1:.2f} {y1:.2f}",
                class_="angle")
        mid = a0 + sweep / 2
        svg.add("text", "θ", x=f"{ox + (r + 9) * math.cos(mid) - 4:.1f}", y=f"{oy - (r + 9) * math.sin(mid) + 4:.1f}",
                class_="angle-label")
    palette = [COLOURS[n] if n in COLOURS else None for n, _ in named]
    spare = iter(c for c in (COLOURS["a"], COLOURS["b"], COLOURS["c"]) if c not in palette)
    palette = [c or next(spare, COLOURS["c"]) for c in palette]
    for i, ((name, v), p, length, colour) in enumerate(zip(named, points, lengths, palette, strict=True)):
        x, y = xy(p)
        svg.open("g", class_="arrow", data_name=name, data_length=f"{length:.6g}", style=f"color:{colour}")
        if length == 0:
            svg.add("circle", cx=f"{ox:.1f}", cy=f"{oy:.1f}", r=4, class_="zero")
        else:
            svg.add("line", x1=f"{ox:.1f}", y1=f"{oy:.1f}", x2=f"{x:.2f}", y2=f"{y:.2f}", class_="shaft")
            ang = math.atan2(oy - y, x - ox)
            head = [(x, y), (x - 10 * math.cos(ang - 0.4), y + 10 * math.sin(ang - 0.4)),
                    (x - 10 * math.cos(ang + 0.4), y + 10 * math.sin(ang + 0.4))]
            svg.add("polygon", points=" ".join(f"{hx:.2f},{hy:.2f}" for hx, hy in head), class_="head")
            side = 1 if i % 2 == 0 else -1  # labels of nearly parallel arrows to either side
            lx = x + 10 * math.cos(ang) - side * 9 * math.sin(ang)
            ly = y - 10 * math.sin(ang) - side * 9 * math.cos(ang)
            svg.add("text", name, x=f"{lx - 4:.1f}", y=f"{ly + 4:.1f}", class_="label")
        line = f"{name} = {_vector_text(v)}   ‖{name}‖ = {num(length)}" + ("  (no direction)" if length == 0 else "")
        svg.add("text", line, x=12, y=f"{legend_top + 20 * i + 6:.1f}", class_="label legend")
        svg.close("g")
    if angle is not None and cos is not None:
        svg.add("text", f"θ = {num(angle, 1)}°   cos θ = {num(cos, 4)}", x=12,
                y=f"{legend_top + 20 * len(named) + 6:.1f}", class_="angle-label", data_degrees=f"{angle:.6g}",
                data_cosine=f"{cos:.6g}")
    return Picture("arrows", svg.markup(), note)


# ------------------------------------------------------------------ heatmaps


def _heatmap(svg: Svg, m: np.ndarray, x0: float, y0: float, cell: float, colour: Any, role: str,
             values_shown: bool) -> None:
    svg.open("g", class_=f"heatmap {role}", data_shape="×".join(str(n) for n in m.shape))
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = float(m[i, j])
            rgb = colour(v)
            svg.open("g", class_="cell", data_row=i, data_col=j, data_value="nan" if math.isnan(v) else f"{v:.6g}")
            svg.add("rect", x=f"{x0 + j * cell:.1f}", y=f"{y0 + i * cell:.1f}", width=f"{cell:.1f}",
                    height=f"{cell:.1f}", fill="#ffffff" if math.isnan(v) else _hex(rgb))
            svg.add("title", f"[{i}, {j}] = {num(v, 4)}")
            if values_shown:
                svg.add("text", num(v, 2), x=f"{x0 + (j + 0.5) * cell:.1f}", y=f"{y0 + (i + 0.5) * cell + 4:.1f}",
                        class_="value light" if _dark(rgb) else "value")
            svg.close("g")
    svg.close("g")


def heatmaps(expected: np.ndarray, got: np.ndarray | None, got_text: str = "") -> Picture:
    """Expected and got side by side on one colour scale, and got − expected when shapes agree."""
    mats = [expected] + ([got] if got is not None and got.ndim == 2 else [])
    finite = np.concatenate([m[np.isfinite(m)].ravel() for m in mats])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi == lo:
        hi = lo + 1.0
    same = got is not None and got.shape == expected.shape
    transposed = got is not None and got.ndim == 2 and got.shape == expected.T.shape and \
        np.allclose(got, expected.T, rtol=1e-5, atol=1e-8, equal_nan=True)
    if same and transposed and got is not None and np.allclose(got, expected, rtol=1e-5, atol=1e-8, equal_nan=True):
        transposed = False  # a symmetric matrix: its transpose is itself
    diff = got - expected if same and got is not None else None
    big = max(max(m.shape) for m in mats)
    cell = max(14.0, min(34.0, 200.0 / big))
    shown = big <= 8
    gap, top = 28.0, 40.0
    panels: list[tuple[str, np.ndarray, str]] = [("expected", expected, "expected")]
    if got is not None and got.ndim == 2:
        panels.append(("yours", got, "got"))
    if diff is not None:
        panels.append(("yours − expected", diff, "difference"))
    widths = [max(m.shape[1] * cell, 104.0) for _, m, _ in panels]
    width = max(sum(widths) + gap * (len(panels) + 1), 360.0)
    height = top + max(m.shape[0] for _, m, _ in panels) * cell + 64
    label = f"heatmaps: expected {expected.shape[0]}×{expected.shape[1]}"
    if got is not None and got.ndim == 2:
        label += f", yours {got.shape[0]}×{got.shape[1]}" + (" (the transpose)" if transposed else "")
    svg = Svg(width, height, label, class_="picture heatmaps", data_low=f"{lo:.6g}", data_high=f"{hi:.6g}",
              data_transposed="true" if transposed else "false")
    span = float(np.abs(diff[np.isfinite(diff)]).max()) if diff is not None and np.isfinite(diff).any() else 1.0
    span = span or 1.0
    x = gap
    for (title, m, role), w in zip(panels, widths, strict=True):
        shape = "" if role == "difference" else f" ({m.shape[0]}×{m.shape[1]})"
        svg.add("text", title + shape, x=f"{x:.1f}", y=f"{top - 10:.1f}", class_="panel-title")
        if role == "difference":
            def colour(v: float) -> tuple[int, int, int]:
                return (255, 255, 255) if math.isnan(v) else _ramp(_RDBU, 0.5 + 0.5 * v / span)  # ±inf: an end
        else:
            def colour(v: float) -> tuple[int, int, int]:
                return (255, 255, 255) if math.isnan(v) else _ramp(_BLUES, (v - lo) / (hi - lo))
        _heatmap(svg, m, x, top, cell, colour, role, shown)
        if transposed and role == "got":
            svg.add("text", "rows ⇄ columns", x=f"{x:.1f}", y=f"{top + m.shape[0] * cell + 16:.1f}", class_="warning")
        x += w + gap
    # the shared scale
    ly = height - 22
    for k in range(40):
        svg.add("rect", x=f"{gap + k * 4:.1f}", y=f"{ly:.1f}", width="4.5", height="10",
                fill=_hex(_ramp(_BLUES, k / 39)))
    svg.add("text", num(lo), x=f"{gap:.1f}", y=f"{ly + 22:.1f}", class_="scale")
    svg.add("text", num(hi), x=f"{gap + 160:.1f}", y=f"{ly + 22:.1f}", class_="scale", text_anchor="end")
    svg.add("text", "one scale for expected and yours" if len(panels) > 1 else "the colour scale", x=f"{gap + 170:.1f}",
            y=f"{ly + 9:.1f}", class_="note")
    if transposed:
        caption = (f"Your result is the expected matrix with rows and columns swapped: shape {got.shape[0]}×{got.shape[1]}"  # type: ignore[union-attr]
                   f" where {expected.shape[0]}×{expected.shape[1]} is due." if not same else
                   "Your matrix is the expected one mirrored across its diagonal: entry [i, j] holds [j, i].")
    elif same:
        caption = "The difference: red where yours is lower than expected, blue where higher, white where equal."
    elif got is not None and got.ndim == 2:
        caption = f"Your result has shape {got.shape[0]}×{got.shape[1]} where {expected.shape[0]}×{expected.shape[1]} is due."
    else:
        caption = f"Only the expected matrix is drawn: you returned {got_text or 'no matrix'}."
    return Picture("heatmaps", svg.markup(), caption)


# ------------------------------------------------------------------ bars


def is_distribution(a: np.ndarray) -> bool:
    """Rows (the last axis) of non-negative numbers that each sum to 1."""
    if a.ndim not in (1, 2) or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < -1e-12):
        return False
    return bool(np.allclose(a.sum(axis=-1), 1.0, atol=1e-6))


def bars(expected: np.ndarray, got: np.ndarray | None) -> Picture:
    """Per row (up to MAX_BAR_ROWS), the expected weights beside the student's, and each row's sum."""
    e2 = expected.reshape(1, -1) if expected.ndim == 1 else expected
    g2 = None
    if got is not None and got.shape == expected.shape:
        g2 = got.reshape(1, -1) if got.ndim == 1 else got
    rows, cols = min(e2.shape[0], MAX_BAR_ROWS), e2.shape[1]
    bw = max(4.0, min(14.0, 220.0 / max(cols, 1) / 2))
    row_w = cols * (2 * bw + 4) + 24
    row_h, top, left = 86.0, 24.0, 8.0
    finite = np.abs(g2[:rows][np.isfinite(g2[:rows])]) if g2 is not None else np.zeros(0)
    gmax = float(finite.max()) if finite.size else 1.0
    peak = max(1.0, gmax)
    width = left + 150 + row_w
    svg = Svg(max(width, 300), top + rows * row_h + 10, f"bars: {rows} row(s) of weights, expected beside yours",
              class_="picture bars")
    svg.add("rect", x=left, y=6, width=10, height=10, fill=COLOURS["expected"])
    svg.add("text", "expected", x=left + 14, y=15, class_="note")
    svg.add("rect", x=left + 80, y=6, width=10, height=10, fill=COLOURS["got"])
    svg.add("text", "yours", x=left + 94, y=15, class_="note")
    for i in range(rows):
        y0 = top + i * row_h
        base = y0 + row_h - 22
        esum = float(np.sum(e2[i]))
        gsum = float(np.nansum(g2[i])) if g2 is not None else math.nan
        svg.open("g", class_="row", data_row=i, data_expected_sum=f"{esum:.6g}",
                 data_got_sum="" if g2 is None else f"{gsum:.6g}")
        svg.add("text", f"row {i}", x=left, y=f"{y0 + 22:.1f}", class_="panel-title")
        svg.add("text", f"Σ expected = {num(esum)}", x=left, y=f"{y0 + 40:.1f}", class_="note")
        if g2 is not None:
            svg.add("text", f"Σ yours = {num(gsum)}", x=left, y=f"{y0 + 56:.1f}",
                    class_="note" if abs(gsum - 1) < 1e-6 else "warning")
        x = left + 150
        svg.add("line", x1=x - 4, y1=f"{base:.1f}", x2=f"{x + cols * (2 * bw + 4):.1f}", y2=f"{base:.1f}", class_="axis")
        one = base - (row_h - 30) / peak
        svg.add("line", x1=x - 4, y1=f"{one:.1f}", x2=f"{x + cols * (2 * bw + 4):.1f}", y2=f"{one:.1f}", class_="guide")
        svg.add("text", "1", x=f"{x - 12:.1f}", y=f"{one + 4:.1f}", class_="note")
        for j in range(cols):
            for k, (role, m) in enumerate((("expected", e2), ("got", g2))):
                if m is None:
                    continue
                v = float(m[i, j])
                if math.isinf(v):  # ±inf: a bar of the whole height up (or to the row's foot down), marked
                    h = row_h - 30 if v > 0 else -18.0
                else:
                    h = 0.0 if math.isnan(v) else (row_h - 30) * v / peak
                svg.open("g", class_=f"bar {role}", data_col=j, data_value="nan" if math.isnan(v) else f"{v:.6g}")
                svg.add("rect", x=f"{x + j * (2 * bw + 4) + k * bw:.1f}", y=f"{base - max(h, 0):.1f}",
                        width=f"{bw:.1f}", height=f"{abs(h):.1f}", fill=COLOURS[role])
                svg.add("title", f"{role} [{i}, {j}] = {num(v, 4)}")
                if math.isinf(v):
                    svg.add("text", num(v), x=f"{x + j * (2 * bw + 4) + k * bw:.1f}",
                            y=f"{base - h - 3 if v > 0 else base - h + 11:.1f}", class_="warning")
                svg.close("g")
        svg.close("g")
    caption = "Each row of weights should add up to 1."
    if expected.ndim == 2 and expected.shape[0] > rows:
        caption += f" The first {rows} of {expected.shape[0]} rows are drawn."
    if g2 is not None and expected.ndim == 2 and not is_distribution(g2) and is_distribution(g2.T):
        caption += " Your columns add up to 1, not your rows: the sums run along the other axis."
    return Picture("bars", svg.markup(), caption)


# ------------------------------------------------------------------ ranking


def _cosines(query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(keys, axis=1) * np.linalg.norm(query)
    with np.errstate(all="ignore"):
        return np.where(norms > 0, keys @ query / np.where(norms > 0, norms, 1), np.nan)


def ranking(query: np.ndarray, keys: np.ndarray, expected: np.ndarray, got: np.ndarray | None) -> Picture:
    """Every key ranked by cosine similarity to the query (the expected top k marked) beside the
    keys the student picked, in the student's order, with lines joining the same key."""
    cos = _cosines(query, keys)
    order = sorted(range(len(keys)), key=lambda i: (-np.nan_to_num(cos[i], nan=-2.0), i))[:MAX_RANKED]
    want = [int(i) for i in expected.ravel()]
    picks = [int(i) for i in got.ravel()] if got is not None and got.ndim == 1 else []
    row, top = 22.0, 48.0
    height = top + max(len(order), len(picks), 1) * row + 16
    svg = Svg(460, height, f"ranking: {len(order)} keys by cosine, {len(want)} expected, {len(picks)} yours",
              class_="picture ranking")
    svg.add("text", "by cosine (expected: the top k)", x=10, y=24, class_="panel-title")
    svg.add("text", "your picks, in your order", x=290, y=24, class_="panel-title")
    place = {key: n for n, key in enumerate(order)}
    for n, key in enumerate(order):
        y = top + n * row
        top_k = key in want
        svg.open("g", class_="ranked" + (" top" if top_k else ""), data_key=key, data_rank=n + 1,
                 data_cosine=f"{cos[key]:.6g}")
        svg.add("rect", x=8, y=f"{y - 14:.1f}", width=200, height=row - 3, class_="chosen" if top_k else "other")
        svg.add("text", f"{n + 1}. key {key}   cos = {num(float(cos[key]))}", x=14, y=f"{y + 1:.1f}", class_="label")
        svg.close("g")
    for n, key in enumerate(picks):
        y = top + n * row
        right = key in want
        svg.open("g", class_="pick" + (" right" if right else " wrong"), data_key=key, data_position=n + 1)
        svg.add("rect", x=288, y=f"{y - 14:.1f}", width=160, height=row - 3, class_="chosen" if right else "miss")
        valid = 0 <= key < len(keys)
        text = f"key {key}   cos = {num(float(cos[key]))}" if valid else f"key {key} (no such key)"
        svg.add("text", text, x=294, y=f"{y + 1:.1f}", class_="label")
        if valid and key in place:
            ly = top + place[key] * row - 5
            svg.add("line", x1=208, y1=f"{ly:.1f}", x2=288, y2=f"{y - 5:.1f}", class_="link")
        svg.close("g")
    missing = [k for k in want if k not in picks]
    caption = "Green: in the expected top k. Lines join the same key."
    if missing:
        caption += " Missing from yours: " + ", ".join(f"key {k}" for k in missing) + "."
    return Picture("ranking", svg.markup(), caption)


# ------------------------------------------------------------------ histogram (class report)


def histogram(percents: Sequence[float], bins: int = 10) -> Markup:
    """Scores in percent as a histogram of `bins` equal bins, each with its count."""
    counts = [0] * bins
    for p in percents:
        counts[min(int(max(p, 0.0) * bins / 100), bins - 1)] += 1
    peak = max(counts + [1])
    bw, h, left, top = 44.0, 140.0, 30.0, 16.0
    svg = Svg(left + bins * bw + 30, top + h + 40, f"score distribution of {len(percents)} students",
              class_="picture histogram")
    svg.add("line", x1=left, y1=top + h, x2=left + bins * bw, y2=top + h, class_="axis")
    for i, c in enumerate(counts):
        bh = h * c / peak
        lo, hi = i * 100 // bins, (i + 1) * 100 // bins
        svg.open("g", class_="bin", data_low=lo, data_high=hi, data_count=c)
        svg.add("rect", x=f"{left + i * bw + 3:.1f}", y=f"{top + h - bh:.1f}", width=f"{bw - 6:.1f}",
                height=f"{bh:.1f}", fill=COLOURS["a"])
        svg.add("title", f"{lo}–{hi}%: {c} student{'s' if c != 1 else ''}")
        if c:
            svg.add("text", str(c), x=f"{left + (i + 0.5) * bw:.1f}", y=f"{top + h - bh - 4:.1f}", class_="value",
                    text_anchor="middle")
        svg.add("text", f"{lo}", x=f"{left + i * bw:.1f}", y=f"{top + h + 16:.1f}", class_="scale", text_anchor="middle")
        svg.close("g")
    svg.add("text", "100 %", x=f"{left + bins * bw:.1f}", y=f"{top + h + 16:.1f}", class_="scale", text_anchor="middle")
    return svg.markup()


# --------------------------------------------------------------------------- choosing


def _dot_picture(first: tuple[str, np.ndarray], second: tuple[str, np.ndarray], expected: float) -> Picture:
    """Two vectors as arrows; the caption ties the number due to their lengths and angle."""
    pic = arrows([first, second])
    (n, a), (m, b) = first, second
    la, lb = _length(a), _length(b)
    dot = float(a @ b)
    if not math.isfinite(dot):  # squares past the largest float: the product of the scaled vectors
        ma, mb = (float(np.max(np.abs(v))) or 1.0 for v in (a, b))
        dot = float((a / ma) @ (b / mb)) * ma * mb
    words = [pic.caption] if pic.caption else []
    if la == 0 or lb == 0:
        zero = n if la == 0 else m
        words.append(f"{zero} is the zero vector: it has no direction, so the angle between {n} and {m} "
                     f"(and their cosine) is not defined.")
    elif 'data-angle="' in pic.svg and math.isfinite(dot):  # the angle is drawn: the caption may use it
        cos = dot / (la * lb)
        if math.isclose(expected, dot, rel_tol=1e-5, abs_tol=1e-8):
            words.append(f"{n}·{m} = ‖{n}‖ ‖{m}‖ cos θ = {num(la)} × {num(lb)} × {num(cos, 4)} = {num(dot, 4)}.")
        elif math.isclose(expected, cos, rel_tol=1e-5, abs_tol=1e-8):
            words.append(f"cos θ = {n}·{m} / (‖{n}‖ ‖{m}‖) = {num(dot, 4)} / ({num(la)} × {num(lb)}) = {num(cos, 4)}.")
    return dataclasses.replace(pic, caption=" ".join(words))


def pictures(data: Mapping[str, Any] | None) -> list[Picture]:
    """The pictures that explain a failing check, chosen from the shapes of its numbers (a
    number that overflows in the drawing's arithmetic is inf there, not a warning)."""
    with np.errstate(all="ignore"):
        return _pictures(data)


def _pictures(data: Mapping[str, Any] | None) -> list[Picture]:
    if not data:
        return []
    exp_v, got_v = data.get("expected") or {}, data.get("got") or {}
    exp, got = values(exp_v), values(got_v)
    if exp is None or exp_v.get("raised"):
        return []
    args = [(str(n), values(v), v) for n, v in data.get("args", [])]
    arrays = [(n, a) for n, a, _ in args if a is not None]
    vectors = [(n, a) for n, a in arrays if a.ndim == 1 and a.size >= 1]
    matrices = [(n, a) for n, a in arrays if a.ndim == 2]
    out: list[Picture] = []
    got_text = str(got_v.get("text", ""))
    # top-k: a query, keys, and indices due
    if exp.ndim == 1 and exp_v.get("integers") and len(vectors) == 1 and len(matrices) == 1 \
            and matrices[0][1].shape[1:] == vectors[0][1].shape and matrices[0][1].shape[0] <= MAX_RANKED:
        keys = matrices[0][1]
        if np.all((exp >= 0) & (exp < len(keys))):
            return [ranking(vectors[0][1], keys, exp, got if got_v.get("integers") else None)]
    # a number due from two vectors of one length: dot product, cosine similarity
    if exp.ndim == 0 and len(vectors) >= 2 and vectors[0][1].shape == vectors[1][1].shape and \
            np.all(np.isfinite(vectors[0][1])) and np.all(np.isfinite(vectors[1][1])):
        return [_dot_picture(vectors[0], vectors[1], float(exp))]
    # one vector in, one out: normalising
    if exp.ndim == 1 and len(vectors) == 1 and vectors[0][1].shape == exp.shape and exp.size >= 2 \
            and not is_distribution(exp) and np.all(np.isfinite(vectors[0][1])):
        name = vectors[0][0]
        drawn = [(name, vectors[0][1]), ("expected", exp)]
        if got is not None and got.shape == exp.shape and np.all(np.isfinite(got)):
            drawn.append(("got", got))
        unit = bool(np.isclose(np.linalg.norm(exp), 1.0))
        pic = arrows(drawn, unit_circle=unit, angle_between=False)
        return [dataclasses.replace(pic, caption="; ".join(x for x in (pic.caption, "the dashed circle holds the vectors of length 1" if unit else "") if x))]
    if is_distribution(exp):
        out.append(bars(exp, got))
    if exp.ndim == 2:
        out.append(heatmaps(exp, got, got_text))
    return out
