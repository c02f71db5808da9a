"""The role network map: one wave's web of ascribed and self-conceived roles, drawn in SVG.

``aggregation.role_network`` computes the nodes, edges and gaps; this module turns them into
finished strings: the SVG (escaped in ``reports.svg``), the table that says the same for
screen readers, and the CSV rows. Nothing here reads the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString

from aggregation.engine import POOLED_PANEL
from aggregation.role_network import NetworkEdge, RoleNetwork
from reports.formats import csv_number, fmt, is_number
from reports.svg import TEXT_COLOUR, num, svg_document, svg_text, tag

WIDTH = 900
HEIGHT = 800
NODE_RADIUS = 30
RING_RADIUS = 270
CENTRE = (WIDTH / 2, 350)
LABEL_AT = 0.5
"""Where along an edge its label sits (0: holder, 1: subject)."""
LABEL_GAP = 12
"""Distance of a label from its line, on the line's left-hand side (so that the labels of the
two directions of a pair fall on either side of the pair)."""


@dataclass(frozen=True)
class GapClass:
    """A band of gaps (RMS difference per role, 0–10 units) and how its edges are drawn."""

    key: str
    label: str
    upper: float
    colour: str
    width: float
    dash: str | None = None


GAP_CLASSES = (
    GapClass("close", "gap under 1", 1.0, "#31688e", 1.5),
    GapClass("moderate", "gap 1 to 2", 2.0, "#2e8b57", 3.0),
    GapClass("large", "gap 2 to 3", 3.0, "#c47f00", 4.5),
    GapClass("very-large", "gap 3 or more", math.inf, "#b2182b", 6.0),
)
NO_GAP = GapClass("none", "no self-conception to compare", math.nan, "#7f7f7f", 2.0, "6 4")


def gap_class(gap: float) -> GapClass:
    if not is_number(gap):
        return NO_GAP
    return next(band for band in GAP_CLASSES if gap < band.upper)


@dataclass(frozen=True)
class EdgeRow:
    holder: str
    subject: str
    panel: str
    ascribed: str
    ascribed_mean: str
    subject_self_role: str
    gap: str
    gap_class: str
    common_roles: int


@dataclass(frozen=True)
class NodeRow:
    code: str
    name: str
    kind: str
    self_role: str
    self_mean: str


@dataclass(frozen=True)
class NetworkView:
    wave: str
    chart: SafeString
    nodes: list[NodeRow]
    edges: list[EdgeRow]


def _role(names: Mapping[str, str], code: str | None) -> str:
    return names.get(code, code) if code else "—"


def _panel(panels: Mapping[str, str], code: str) -> str:
    return "all panels" if code == POOLED_PANEL else f"{panels.get(code, code)} panel"


def network_view(
    network: RoleNetwork,
    positions: Mapping[str, tuple[float, float]],
    *,
    wave: str,
    actor_names: Mapping[str, str],
    role_names: Mapping[str, str],
    panel_cities: Mapping[str, str],
) -> NetworkView:
    """The chart and the tables of one wave's network."""
    nodes = [
        NodeRow(
            code=node.code,
            name=actor_names.get(node.code, node.code),
            kind=node.kind,
            self_role=_role(role_names, node.self_role),
            self_mean=fmt(node.self_mean),
        )
        for node in network.nodes
    ]
    edges = [
        EdgeRow(
            holder=actor_names.get(edge.holder, edge.holder),
            subject=actor_names.get(edge.subject, edge.subject),
            panel=_panel(panel_cities, edge.panel),
            ascribed=_role(role_names, edge.ascribed_role),
            ascribed_mean=fmt(edge.ascribed_mean),
            subject_self_role=_role(role_names, edge.subject_self_role),
            gap=fmt(edge.gap),
            gap_class=gap_class(edge.gap).label,
            common_roles=edge.common_roles,
        )
        for edge in network.edges
    ]
    chart = network_svg(
        network, positions, wave=wave, actor_names=actor_names, role_names=role_names
    )
    return NetworkView(wave=wave, chart=chart, nodes=nodes, edges=edges)


# SVG ----------------------------------------------------------------------------------------


def _place(position: tuple[float, float], extent: float) -> tuple[float, float]:
    x, y = position
    scale = RING_RADIUS / extent if extent else 0.0
    return CENTRE[0] + x * scale, CENTRE[1] - y * scale


def _edge_shapes(
    edge: NetworkEdge,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    reciprocal: bool,
    marker_prefix: str,
    role_names: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    """The edge's line (with its arrow) and its label, apart: labels are drawn over all lines."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx_, ny_ = -uy, ux  # the left-hand normal: the two directions of a pair go apart
    offset = 7.0 if reciprocal else 0.0
    x1 = start[0] + ux * NODE_RADIUS + nx_ * offset
    y1 = start[1] + uy * NODE_RADIUS + ny_ * offset
    x2 = end[0] - ux * (NODE_RADIUS + 3) + nx_ * offset
    y2 = end[1] - uy * (NODE_RADIUS + 3) + ny_ * offset
    band = gap_class(edge.gap)
    role = _role(role_names, edge.ascribed_role)
    title = (
        f"{edge.holder} ascribes {role} to {edge.subject} ({fmt(edge.ascribed_mean)}); "
        f"gap to {edge.subject}'s self-conception {fmt(edge.gap)}"
    )
    line = tag(
        "line",
        tag("title", escape(title)),
        x1=num(x1),
        y1=num(y1),
        x2=num(x2),
        y2=num(y2),
        stroke=band.colour,
        stroke_width=num(band.width),
        stroke_dasharray=band.dash,
        stroke_linecap="round",
        marker_end=f"url(#{marker_prefix}-{band.key})",
    )
    lx = x1 + (x2 - x1) * LABEL_AT + nx_ * LABEL_GAP
    ly = y1 + (y2 - y1) * LABEL_AT + ny_ * LABEL_GAP + 4 + 6 * ny_
    # The text grows away from its line: to the right of a line whose left side is right.
    anchor = "start" if nx_ > 0.35 else "end" if nx_ < -0.35 else "middle"
    text = f"{role} {fmt(edge.ascribed_mean, 1)}"
    label = [
        svg_text(lx, ly, text, text_anchor=anchor, font_size=12, stroke="#ffffff",
                 stroke_width=4, stroke_linejoin="round", aria_hidden="true"),
        svg_text(lx, ly, text, text_anchor=anchor, font_size=12, fill=band.colour,
                 font_weight=700),
    ]  # fmt: skip
    return [line], label


def _markers(prefix: str) -> str:
    markers = [
        tag(
            "marker",
            tag("path", d="M0,0 L10,5 L0,10 z", fill=band.colour),
            id=f"{prefix}-{band.key}",
            viewBox="0 0 10 10",
            refX=9,
            refY=5,
            markerWidth=11,
            markerHeight=11,
            markerUnits="userSpaceOnUse",
            orient="auto",
        )
        for band in (*GAP_CLASSES, NO_GAP)
    ]
    return tag("defs", "".join(markers))


def _node_shapes(code: str, name: str, self_role: str, mean: float, x: float, y: float):
    shapes = [
        tag("circle", cx=num(x), cy=num(y), r=NODE_RADIUS, fill="#ffffff", stroke=TEXT_COLOUR,
            stroke_width=2),
        svg_text(x, y + 5, code, text_anchor="middle", font_size=14, font_weight=700),
    ]  # fmt: skip
    lines = [name, f"self: {self_role} {fmt(mean, 1)}" if self_role != "—" else "no panel"]
    for index, text in enumerate(lines):
        ty = y + NODE_RADIUS + 15 + 14 * index
        weight = 600 if index == 0 else 400
        shapes.append(
            svg_text(x, ty, text, text_anchor="middle", font_size=12, stroke="#ffffff",
                     stroke_width=4, stroke_linejoin="round", aria_hidden="true")
        )  # fmt: skip
        shapes.append(svg_text(x, ty, text, text_anchor="middle", font_size=12, font_weight=weight))
    return shapes


LEGEND_LINES = (
    "Arrow: holder → subject, labelled with the role the holder ascribes most strongly (mean).",
    "Colour and width: gap between the ascribed and the subject's self-conceived profile",
    "(root mean square difference per role, 0–10 scale).",
)


def _legend(y: float) -> list[str]:
    shapes = [
        svg_text(20, y + 15 * index, line, font_size=12) for index, line in enumerate(LEGEND_LINES)
    ]
    x, y = 20.0, y + 15 * len(LEGEND_LINES) + 12
    for band in (*GAP_CLASSES, NO_GAP):
        shapes.append(
            tag("line", x1=num(x), y1=num(y), x2=num(x + 34), y2=num(y), stroke=band.colour,
                stroke_width=num(band.width), stroke_dasharray=band.dash)
        )  # fmt: skip
        shapes.append(svg_text(x + 40, y + 4, band.label, font_size=12))
        x += 40 + 6.6 * len(band.label) + 22
    return shapes


def network_svg(
    network: RoleNetwork,
    positions: Mapping[str, tuple[float, float]],
    *,
    wave: str,
    actor_names: Mapping[str, str],
    role_names: Mapping[str, str],
) -> SafeString:
    """The network as an SVG: nodes on the layout's positions, edges with arrows and labels."""
    title = f"Role network, wave {wave}"
    if not network.nodes:
        return svg_document(WIDTH, 80, title, [svg_text(20, 40, "No roles stored for this wave.")])
    extent = max((max(abs(x), abs(y)) for x, y in positions.values()), default=0.0)
    placed = {code: _place(position, extent) for code, position in positions.items()}
    pairs = {(edge.holder, edge.subject) for edge in network.edges}
    prefix = f"arrow-{''.join(char for char in wave if char.isalnum())}"
    lines: list[str] = []
    labels: list[str] = []
    for edge in network.edges:
        line, label = _edge_shapes(
            edge,
            placed[edge.holder],
            placed[edge.subject],
            reciprocal=(edge.subject, edge.holder) in pairs,
            marker_prefix=prefix,
            role_names=role_names,
        )
        lines += line
        labels += label
    nodes: list[str] = []
    for node in network.nodes:
        x, y = placed[node.code]
        nodes += _node_shapes(
            node.code,
            actor_names.get(node.code, node.code),
            _role(role_names, node.self_role),
            node.self_mean,
            x,
            y,
        )
    description = (
        f"{len(network.nodes)} actors and {len(network.edges)} ascriptions; "
        "the table below the chart gives the same numbers."
    )
    body = [
        tag("desc", escape(description)),
        _markers(prefix),
        *lines,
        *nodes,
        *labels,
        *_legend(HEIGHT - 80),
    ]
    return svg_document(WIDTH, HEIGHT, title, body)


# CSV ----------------------------------------------------------------------------------------

NETWORK_CSV_HEADER = [
    "wave",
    "holder",
    "subject",
    "panel",
    "ascribed_role",
    "ascribed_mean",
    "subject_self_role",
    "subject_self_mean",
    "gap_rms",
    "profile_distance",
    "common_roles",
]


def network_csv_rows(wave: str, network: RoleNetwork) -> list[list[str]]:
    """Edges with codes and full-precision numbers (a node's own role sits on its edges)."""
    rows = []
    for edge in network.edges:
        subject = network.node(edge.subject)
        rows.append(
            [
                wave,
                edge.holder,
                edge.subject,
                edge.panel,
                edge.ascribed_role or "",
                csv_number(edge.ascribed_mean),
                edge.subject_self_role or "",
                csv_number(subject.self_mean if subject else math.nan),
                csv_number(edge.gap),
                csv_number(edge.distance),
                str(edge.common_roles),
            ]
        )
    return rows


def legend_rows() -> Sequence[GapClass]:
    return (*GAP_CLASSES, NO_GAP)
