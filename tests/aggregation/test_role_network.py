"""The role network of a wave, on literal cells: dominant roles, the ascribing panel, gaps
computed by hand, and what is left out."""

import math

import pandas as pd
import pytest

from aggregation.role_network import dominant_role, network_layout, role_network

ACTORS = [("RUS", "state"), ("ARM", "state"), ("CSTO", "organisation"), ("VIG1", "vignette")]
HOME = {"RUS": "MOW", "ARM": "YER"}


def _cells(rows):
    return pd.DataFrame(rows, columns=["panel", "holder", "subject", "perspective", "role", "mean"])


CELLS = _cells(
    [
        # Armenia's self-conception on its own panel, and as seen from Moscow (not used).
        ("YER", "ARM", "ARM", "conception", "protectee", 4.0),
        ("YER", "ARM", "ARM", "conception", "independent", 8.0),
        ("MOW", "ARM", "ARM", "conception", "protectee", 9.0),
        # Russia ascribes to Armenia: on the Moscow panel (used) and on Yerevan's (not used).
        ("MOW", "RUS", "ARM", "expectation", "protectee", 9.0),
        ("MOW", "RUS", "ARM", "expectation", "independent", 5.0),
        ("YER", "RUS", "ARM", "expectation", "protectee", 1.0),
        ("YER", "RUS", "ARM", "expectation", "independent", 1.0),
        # Russia's self-conception; CSTO (no panel) expects of Russia, pooled over panels.
        ("MOW", "RUS", "RUS", "conception", "great_power", 9.5),
        ("MOW", "RUS", "RUS", "conception", "regional_leader", 9.5),
        ("ALL", "CSTO", "RUS", "expectation", "regional_leader", 8.0),
        ("MOW", "CSTO", "RUS", "expectation", "regional_leader", 3.0),
        # A vignette is never a node.
        ("MOW", "RUS", "VIG1", "expectation", "protectee", 7.0),
    ]
)


def test_edges_read_the_holders_panel_and_gaps_are_rms_per_role():
    network = role_network(CELLS, actors=ACTORS, home_panel=HOME)
    edges = {(edge.holder, edge.subject): edge for edge in network.edges}
    assert set(edges) == {("RUS", "ARM"), ("CSTO", "RUS")}
    ascribed = edges[("RUS", "ARM")]
    assert ascribed.panel == "MOW"
    assert (ascribed.ascribed_role, ascribed.ascribed_mean) == ("protectee", 9.0)
    assert ascribed.subject_self_role == "independent"
    # (9 − 4)² + (5 − 8)² = 34 over two roles: D = √34, gap = √(34 / 2) = √17.
    assert ascribed.distance == pytest.approx(math.sqrt(34), abs=1e-12)
    assert ascribed.gap == pytest.approx(math.sqrt(17), abs=1e-12)
    assert ascribed.common_roles == 2


def test_an_organisation_ascribes_from_all_panels_and_a_tie_takes_the_first_role():
    network = role_network(CELLS, actors=ACTORS, home_panel=HOME)
    organised = next(edge for edge in network.edges if edge.holder == "CSTO")
    assert (organised.panel, organised.ascribed_mean) == ("ALL", 8.0)
    # Russia's self-conception ties at 9.5: the first role in the frame's order wins.
    assert network.node("RUS").self_role == "great_power"
    # One common role (regional leader): 9.5 − 8 = 1.5, and the RMS of one role is that.
    assert organised.gap == pytest.approx(1.5, abs=1e-12)


def test_vignettes_are_left_out_and_an_actor_without_a_panel_has_no_self_conception():
    network = role_network(CELLS, actors=ACTORS, home_panel=HOME)
    assert [node.code for node in network.nodes] == ["RUS", "ARM", "CSTO"]
    csto = network.node("CSTO")
    assert csto.self_role is None and math.isnan(csto.self_mean)


def test_a_subject_without_self_conception_has_no_gap():
    cells = CELLS.loc[CELLS["subject"] != "ARM"]
    cells = pd.concat([cells, _cells([("MOW", "RUS", "CSTO", "expectation", "bridge", 6.0)])])
    network = role_network(cells, actors=ACTORS, home_panel=HOME)
    edge = next(edge for edge in network.edges if edge.subject == "CSTO")
    assert math.isnan(edge.gap) and edge.common_roles == 0 and edge.subject_self_role is None


def test_dominant_role_ignores_missing_means():
    profile = pd.Series([float("nan"), 3.0, 7.0], index=["a", "b", "c"])
    assert dominant_role(profile) == ("c", 7.0)
    assert dominant_role(pd.Series([float("nan")], index=["a"]))[0] is None


def test_layout_puts_the_best_connected_actor_in_the_centre_the_same_way_each_time():
    network = role_network(CELLS, actors=ACTORS, home_panel=HOME)
    first = network_layout(network)
    assert first == network_layout(network)
    assert first["RUS"] == pytest.approx((0.0, 0.0), abs=1e-9)
    assert all(math.hypot(*first[code]) > 0.1 for code in ("ARM", "CSTO"))


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="mean"):
        role_network(CELLS.drop(columns="mean"), actors=ACTORS, home_panel=HOME)
