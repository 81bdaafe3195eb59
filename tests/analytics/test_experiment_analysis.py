"""The served x input join, its statistics and the variant config (issue 17)."""

from __future__ import annotations

import pytest
from scipy.stats import norm

from oryxpy.analytics.experiment import ExperimentAnalysis
from oryxpy.analytics.stats import two_proportion_test, wilson_interval
from oryxpy.errors import ConfigError
from serving.experiments.variants import assign, parse_variants


def test_conversion_within_window_once_per_exposure() -> None:
    a = ExperimentAnalysis(["c", "t"], window_s=100)
    a.served("u1", "c", ["i1", "i2"], 1000)
    assert a.interaction("u1", "i1", 1050)
    assert not a.interaction("u1", "i2", 1060)  # the exposure already converted
    a.served("u2", "t", ["i1"], 1000)
    assert not a.interaction("u2", "i1", 1101)  # outside the window
    assert not a.interaction("u2", "i9", 1010)  # not served
    a.served("u3", "t", ["i5"], 2000)
    assert not a.interaction("u3", "i5", 1999)  # before it was served
    rows = {r["name"]: r for r in a.results()["variants"]}
    assert (rows["c"]["exposures"], rows["c"]["conversions"]) == (1, 1)
    assert (rows["t"]["exposures"], rows["t"]["conversions"]) == (2, 0)


def test_input_read_before_the_served_list_still_converts() -> None:
    a = ExperimentAnalysis(["c"], window_s=60)
    a.interaction("u", "x", 130)
    a.served("u", "c", ["x"], 100)
    a.served("u", "c", ["x"], 10)  # the interaction is 120 s later: outside
    assert a.results()["variants"][0]["conversions"] == 1


def test_old_state_is_dropped() -> None:
    a = ExperimentAnalysis(["c"], window_s=10)
    for t in range(0, 10000, 5):
        a.served(f"u{t}", "c", ["x"], t)
    assert len(a._users) < 10


def test_unknown_variant_is_counted_apart() -> None:
    a = ExperimentAnalysis(["c"], window_s=10)
    a.served("u", "nope", ["x"], 1)
    assert a.results()["unknown_variant"] == 1 and a.results()["variants"][0]["exposures"] == 0


def test_statistics_against_textbook_values() -> None:
    low, high = wilson_interval(50, 100, 0.95)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    test = two_proportion_test(40, 100, 60, 100)
    assert test.z == pytest.approx(0.2 / (0.5 * 0.5 * 0.02) ** 0.5)
    assert test.p_value == pytest.approx(2 * norm.sf(test.z))
    assert two_proportion_test(0, 10, 0, 10).p_value == 1.0


def test_verdicts_and_winner() -> None:
    a = ExperimentAnalysis(["c", "t"], window_s=10, significance=0.05)
    for n in range(400):
        a.served(f"c{n}", "c", ["x"], 0)
        a.served(f"t{n}", "t", ["x"], 0)
        if n % 4 == 0:
            a.interaction(f"c{n}", "x", 1)
        if n % 2 == 0:
            a.interaction(f"t{n}", "x", 1)
    result = a.results()
    assert result["winner"] == "t" and result["variants"][1]["verdict"] == "better"
    assert result["variants"][1]["p_value"] < 1e-6


def test_variant_config() -> None:
    variants = parse_variants("als:OryxUpdate:60:salt1, pop:OryxUpdatePop:40")
    assert [(v.name, v.update_topic, v.weight) for v in variants] == [("als", "OryxUpdate", 60), ("pop", "OryxUpdatePop", 40)]
    assert parse_variants(None) == [] and parse_variants(" ") == []
    for bad, words in (("a:T", "name:update-topic"), ("a:T:x", "not a number"), ("a:T:1,a:U:1", "repeat"),
                       ("a:T:0", "sum to 0"), ("a b:T:1", "variant name"), ("a:T:-1", ">= 0")):
        with pytest.raises(ConfigError, match=words):
            parse_variants(bad)


def test_assignment_is_stable_weighted_and_salted() -> None:
    variants = parse_variants("a:T:75:s, b:U:25")
    first = [assign(variants, f"user{i}").name for i in range(4000)]
    assert first == [assign(variants, f"user{i}").name for i in range(4000)]
    assert 0.72 < first.count("a") / 4000 < 0.78
    other = parse_variants("a:T:75:t, b:U:25")
    moved = sum(f != assign(other, f"user{i}").name for i, f in enumerate(first))
    assert moved > 800  # a new salt reshuffles
    assert {assign(parse_variants("a:T:0:s, b:U:1"), f"x{i}").name for i in range(100)} == {"b"}


def test_one_interaction_converts_one_exposure_in_either_order() -> None:
    # the same list served twice, the interaction read before both lists (the served topic lagging) and after
    late = ExperimentAnalysis(["a", "b"], window_s=60)
    late.interaction("u", "i1", 10.5)
    late.served("u", "a", ["i1", "i2"], 10.0)
    late.served("u", "a", ["i1", "i2"], 10.1)
    timely = ExperimentAnalysis(["a", "b"], window_s=60)
    timely.served("u", "a", ["i1", "i2"], 10.0)
    timely.served("u", "a", ["i1", "i2"], 10.1)
    timely.interaction("u", "i1", 10.5)
    for analysis in (late, timely):
        row = analysis.results()["variants"][0]
        assert (row["exposures"], row["conversions"]) == (2, 1)
