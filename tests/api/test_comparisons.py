"""The comparison builder's API and the research questions' API on the synthetic demo."""

import pytest

from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

ADHOC = "/api/v1/comparisons/adhoc/"
QUESTIONS = "/api/v1/research-questions/"


def _side(**fields) -> dict[str, str]:
    return {"wave": "2025", "panel": "MOW", **fields}


ASCRIBED_VS_ENACTED = {
    "left": _side(holder="RUS", subject="ARM", perspective="expectation"),
    "right": _side(holder="ARM", subject="ARM", perspective="performance"),
}


def test_adhoc_expectation_rus_arm_against_performance_arm_returns_per_role_statistics(demo):
    response = api_client(demo.researcher).post(ADHOC, ASCRIBED_VS_ENACTED, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["method"] == "paired"  # the same Moscow responses rated both sides
    assert body["left"]["estimator"] == "plain_means"
    protectee = next(row for row in body["roles"] if row["role"] == "protectee")
    assert protectee["n_left"] == protectee["n_right"] > 0
    assert protectee["diff"] == pytest.approx(protectee["mean_left"] - protectee["mean_right"])
    assert protectee["diff_ci_low"] < protectee["diff"] < protectee["diff_ci_high"]
    assert body["dominant_left"] == "protectee"


def test_adhoc_across_panels_is_welch(demo):
    sides = {
        "left": _side(holder="RUS", subject="ARM", perspective="expectation"),
        "right": _side(panel="YER", holder="ARM", subject="ARM", perspective="conception"),
    }
    body = api_client(demo.researcher).post(ADHOC, sides, format="json").json()
    assert body["method"] == "welch"


def test_adhoc_bad_values_are_a_400_naming_the_allowed_values(demo):
    sides = {
        "left": {**ASCRIBED_VS_ENACTED["left"], "panel": "XXX", "estimator": "irt"},
        "right": {"wave": "1999"},
    }
    response = api_client(demo.researcher).post(ADHOC, sides, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "MOW" in errors["left.panel"]["allowed_values"]
    assert "ALL" in errors["left.panel"]["allowed_values"]
    assert errors["left.estimator"]["allowed_values"] == ["plain_means"]
    assert errors["right.wave"]["allowed_values"] == ["2021", "2025"]
    assert {"right.holder", "right.subject", "right.perspective"} <= set(errors)


def test_panel_admin_compares_only_their_panels_never_all_panels_pooled(demo):
    sides = {**ASCRIBED_VS_ENACTED, "right": {**ASCRIBED_VS_ENACTED["right"], "panel": "ALL"}}
    client = api_client(demo.panel_admin)
    assert client.post(ADHOC, ASCRIBED_VS_ENACTED, format="json").status_code == 200
    response = client.post(ADHOC, sides, format="json")
    assert response.status_code == 400
    assert "ALL" not in response.json()["errors"]["right.panel"]["allowed_values"]


def test_adhoc_needs_the_results_permission(demo):
    assert api_client(demo.plain).post(ADHOC, ASCRIBED_VS_ENACTED, format="json").status_code == 403
    assert api_client(None).post(ADHOC, ASCRIBED_VS_ENACTED, format="json").status_code in {
        401,
        403,
    }


def test_research_questions_rows_say_the_estimator_and_the_change_per_wave(demo):
    response = api_client(demo.researcher).get(QUESTIONS)
    assert response.status_code == 200
    rows = response.json()["results"]
    protectee = [
        row
        for row in rows
        if row["comparison"] == "rq-ascribed-conceived-arm" and row["role"] == "protectee"
    ]
    assert [row["wave"] for row in protectee] == ["2021", "2025"]
    assert protectee[1]["previous_wave"] == "2021"
    assert protectee[1]["change_ci_low"] <= protectee[1]["change"] <= protectee[1]["change_ci_high"]
    assert {row["estimator"] for row in rows} == {"plain_means"}
    assert {row["question"] for row in rows} == {
        "ego_alter",
        "ascribed",
        "inter_role",
        "organized_other",
    }


def test_research_questions_need_the_results_permission(demo):
    assert api_client(demo.panel_admin).get(QUESTIONS).status_code == 403


def test_saved_comparisons_are_listed_beside_the_presets_under_their_slug(demo):
    client = api_client(demo.researcher)
    rows = client.get("/api/v1/comparisons/", {"preset": "rq-ascribed-conceived-arm"}).json()
    assert rows["results"]
    assert {row["preset"] for row in rows["results"]} == {"rq-ascribed-conceived-arm"}
    assert client.get("/api/v1/comparisons/", {"preset": "nope"}).status_code == 400


@pytest.mark.parametrize("preset", ["ego_vs_perceived_alter", "perceived_vs_actual_expectation"])
def test_adhoc_with_a_presets_selectors_gives_the_stored_presets_numbers(demo, preset):
    from aggregation import engine

    homes = {"RUS": "MOW", "KAZ": "AST"}
    left, right = engine.PRESETS[preset]("KAZ", homes)

    def side(selector):
        panel = selector.panel or "ALL"
        return {
            "wave": "2025",
            "panel": panel,
            "holder": selector.holder,
            "subject": selector.subject,
            "perspective": selector.perspective,
        }

    client = api_client(demo.researcher)
    adhoc = client.post(ADHOC, {"left": side(left), "right": side(right)}, format="json").json()
    stored = client.get(
        "/api/v1/comparisons/",
        {"wave": "2025", "preset": preset, "subject": "KAZ", "page_size": 100},
    ).json()["results"]
    numbers = [
        "n_left",
        "mean_left",
        "sd_left",
        "n_right",
        "mean_right",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "t",
        "df",
        "hedges_g",
        "p_value",
        "p_adjusted",
    ]
    by_role = {row["role"]: row for row in stored}
    assert adhoc["method"] == stored[0]["method"]
    assert {row["role"] for row in adhoc["roles"]} == set(by_role)
    for row in adhoc["roles"]:
        assert [row[name] for name in numbers] == [by_role[row["role"]][name] for name in numbers]
