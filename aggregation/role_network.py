"""The role network of one wave: who ascribes which role to whom, against what each conceives.

Role theory draws the web of a region as actors linked by ascribed roles (Holsti 1970; Harnisch,
Frank & Maull 2011, ch. 1): an *alter* expects a role of an *ego*, and the ego holds its own
role conception. From the stored cell statistics of one aggregation run:

- a **node** per actor (states and organisations; vignettes, being hypothetical, are left
  out), labelled with its *dominant self-conceived role*: the role with the highest mean in
  the conception cells of that actor on its home panel (organisations have no panel, hence no
  self-conception here);
- a directed **edge** holder → subject wherever the expectation cells "holder expects of
  subject" exist, labelled with the *dominant ascribed role* (highest expectation mean). The
  ascription is read where the holder's own experts sit: on the holder's home panel, as in the
  preset "role ascribed by Russia vs role self-conceived"; for a holder without a panel (an
  organisation) from all panels pooled;
- each edge's **gap** between the ascribed profile a (expectation means, role by role) and the
  subject's self-conceived profile c, over the K roles both have a mean for:

      D = sqrt( Σ_r (a_r − c_r)² )         (``stats.profile_distance``, the comparison pages' D)
      gap = D / sqrt(K)                    (root mean square difference per role, 0–10 units)

  The gap is what colours and weighs the edge: dividing by √K makes edges with different role
  sets comparable. NaN (drawn as "no self-conception") when the subject has no conception
  cells or no role in common.

Dominant roles take the first role in the frame's order on a tie. Pure: a DataFrame in,
dataclasses out; ``network_layout`` places the nodes with networkx.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import pandas as pd

from aggregation import stats
from aggregation.engine import POOLED_PANEL

NETWORK_CELL_COLUMNS = ["panel", "holder", "subject", "perspective", "role", "mean"]
"""The cells the network is drawn from; ``panel`` is a panel code or ``POOLED_PANEL``."""

EXCLUDED_KINDS = frozenset({"vignette"})


@dataclass(frozen=True)
class NetworkNode:
    code: str
    kind: str
    home_panel: str | None
    self_role: str | None
    """Dominant self-conceived role (None without conception cells on the home panel)."""
    self_mean: float


@dataclass(frozen=True)
class NetworkEdge:
    holder: str
    subject: str
    panel: str
    """The panel whose experts' ascription this is (``POOLED_PANEL``: all panels)."""
    ascribed_role: str | None
    ascribed_mean: float
    subject_self_role: str | None
    gap: float
    """Root mean square difference per role between ascribed and self-conceived profiles."""
    distance: float
    common_roles: int


@dataclass(frozen=True)
class RoleNetwork:
    nodes: tuple[NetworkNode, ...]
    edges: tuple[NetworkEdge, ...]

    def node(self, code: str) -> NetworkNode | None:
        return next((node for node in self.nodes if node.code == code), None)


def dominant_role(profile: pd.Series) -> tuple[str | None, float]:
    """The role (index) with the highest mean and that mean; the first one on a tie."""
    profile = profile.dropna()
    if profile.empty:
        return None, math.nan
    return str(profile.idxmax()), float(profile.max())


def _profile(cells: pd.DataFrame, **where: str) -> pd.Series:
    mask = pd.Series(True, index=cells.index)
    for column, value in where.items():
        mask &= cells[column] == value
    part = cells.loc[mask]
    return pd.Series(part["mean"].to_numpy(dtype=float), index=part["role"].to_numpy())


def _ascribing_panel(cells: pd.DataFrame, holder: str, home_panel: Mapping[str, str]) -> str:
    home = home_panel.get(holder)
    if home is not None and ((cells["panel"] == home) & (cells["holder"] == holder)).any():
        return home
    return POOLED_PANEL


def role_network(
    cells: pd.DataFrame,
    *,
    actors: Sequence[tuple[str, str]],
    home_panel: Mapping[str, str],
) -> RoleNetwork:
    """Nodes and edges of one run's cells (columns ``NETWORK_CELL_COLUMNS``).

    ``actors`` are (code, kind) pairs in display order; ``home_panel`` maps an actor code to
    the code of the panel in its capital. Actors of an excluded kind (vignettes) and actors
    that appear in no conception or expectation cell are left out.
    """
    missing = set(NETWORK_CELL_COLUMNS) - set(cells.columns)
    if missing:
        raise ValueError(f"cells lack columns {sorted(missing)}")
    kinds = {code: kind for code, kind in actors if kind not in EXCLUDED_KINDS}
    cells = cells.loc[cells["holder"].isin(kinds) & cells["subject"].isin(kinds)]
    expectation = cells.loc[
        (cells["perspective"] == "expectation") & (cells["holder"] != cells["subject"])
    ]
    conception = cells.loc[cells["perspective"] == "conception"]

    self_profiles: dict[str, pd.Series] = {}
    for code in kinds:
        home = home_panel.get(code)
        if home is not None:
            self_profiles[code] = _profile(conception, panel=home, holder=code, subject=code)

    edges = []
    pairs = expectation[["holder", "subject"]].drop_duplicates().itertuples(index=False)
    order = {code: position for position, code in enumerate(kinds)}
    for holder, subject in sorted(pairs, key=lambda pair: (order[pair[0]], order[pair[1]])):
        panel = _ascribing_panel(expectation, holder, home_panel)
        ascribed = _profile(expectation, panel=panel, holder=holder, subject=subject)
        if ascribed.dropna().empty:
            continue
        conceived = self_profiles.get(subject, pd.Series(dtype=float))
        common = ascribed.dropna().index.intersection(conceived.dropna().index)
        distance = stats.profile_distance(ascribed.to_dict(), conceived.to_dict())
        role, mean = dominant_role(ascribed)
        edges.append(
            NetworkEdge(
                holder=holder,
                subject=subject,
                panel=panel,
                ascribed_role=role,
                ascribed_mean=mean,
                subject_self_role=dominant_role(conceived)[0],
                gap=distance / math.sqrt(len(common)) if len(common) else math.nan,
                distance=distance,
                common_roles=len(common),
            )
        )

    linked = {edge.holder for edge in edges} | {edge.subject for edge in edges}
    nodes = []
    for code, kind in kinds.items():
        profile = self_profiles.get(code, pd.Series(dtype=float))
        if code not in linked and profile.dropna().empty:
            continue
        role, mean = dominant_role(profile)
        nodes.append(NetworkNode(code, kind, home_panel.get(code), role, mean))
    return RoleNetwork(nodes=tuple(nodes), edges=tuple(edges))


def network_layout(network: RoleNetwork) -> dict[str, tuple[float, float]]:
    """Node positions in [−1, 1]²: the best-connected actors in the centre, the rest on a ring.

    networkx's shell layout (deterministic: no random seed involved). The centre shell holds
    the actors with the most edges (in the role webs of a region, the hegemon every other
    actor relates to); the ring keeps the display order of the others, so that the same
    actors sit in the same places in every wave.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(node.code for node in network.nodes)
    graph.add_edges_from((edge.holder, edge.subject) for edge in network.edges)
    if graph.number_of_nodes() == 0:
        return {}
    degrees = dict(graph.degree())
    top = max(degrees.values())
    centre = [code for code in graph.nodes if degrees[code] == top and top > 0]
    ring = [code for code in graph.nodes if code not in centre]
    shells = [list(graph.nodes)] if len(centre) != 1 or not ring else [centre, ring]
    positions = nx.shell_layout(graph, nlist=shells, scale=1.0, center=(0.0, 0.0))
    return {code: (float(x), float(y)) for code, (x, y) in positions.items()}
