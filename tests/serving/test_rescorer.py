"""Rescorer providers: loading from config, several combined (MultiRescorer), vectorized rescorers, bad providers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from serving.rescorer import MultiRescorer, MultiRescorerProvider, apply, load_provider
from tests.serving.conftest import PROVIDER, client_for
from tests.serving.rescorer_provider import TestALSRescorerProvider

HERE = "tests.serving.rescorer_provider"


def with_providers(config: Config, value: str) -> Config:
    return config.with_overrides({"oryx.als.rescorer-provider-class": value})


def test_no_provider_by_default(embedded_config: Config) -> None:
    assert load_provider(embedded_config) is None


def test_several_providers_combine(embedded_config: Config) -> None:
    provider = load_provider(with_providers(embedded_config, f"{PROVIDER}, {HERE}.NegatingRescorerProvider"))
    assert isinstance(provider, MultiRescorerProvider)
    assert provider.get_recommend_rescorer(["u"], []) is None
    assert isinstance(provider.get_most_similar_items_rescorer(["x"]), TestALSRescorerProvider.rescorer_class)
    multi = provider.get_recommend_rescorer(["u"], ["x"])
    assert isinstance(multi, MultiRescorer) and len(multi.rescorers) == 2
    assert multi.rescore("I1", 1.5) == -3.0 and multi.is_filtered("I2") and not multi.is_filtered("I3")
    nested = MultiRescorer([multi, multi])
    assert len(nested.rescorers) == 4  # flattened


def test_nan_stops_the_chain() -> None:
    class Nan:
        def rescore(self, id: str, score: float) -> float:  # noqa: A002
            return math.nan

        def is_filtered(self, id: str) -> bool:  # noqa: A002
            return False

    class Boom(Nan):
        def rescore(self, id: str, score: float) -> float:  # noqa: A002
            raise AssertionError("not reached")

    assert math.isnan(MultiRescorer([Nan(), Boom()]).rescore("a", 1.0))


def test_apply_skips_excluded_and_filtered_candidates() -> None:
    calls: list[str] = []

    class Spy:
        def rescore(self, id: str, score: float) -> float:  # noqa: A002
            calls.append(id)
            return score + 1

        def is_filtered(self, id: str) -> bool:  # noqa: A002
            return id == "b"

    out = apply(Spy(), np.array(["a", "b", "c"], dtype=object), np.array([1.0, 2.0, np.nan]))
    assert np.isnan(out[1:]).all() and out[0] == 2.0 and calls == ["a"]


@pytest.mark.parametrize("value", [
    "no.such.module.Provider", f"{HERE}.Missing", "NoDots", f"{HERE}.BrokenProvider", "serving.rescorer.MultiRescorer",
])
def test_bad_provider_stops_startup_naming_the_key(embedded_config: Config, value: str) -> None:
    with pytest.raises(ConfigError, match="oryx.als.rescorer-provider-class"):
        client_for(embedded_config, **{"oryx.als.rescorer-provider-class": value})


def test_vectorized_rescorer_gives_the_same_answers(embedded_config: Config) -> None:
    scalar, _ = client_for(embedded_config, **{"oryx.als.rescorer-provider-class": PROVIDER})
    vectorized, _ = client_for(embedded_config, **{"oryx.als.rescorer-provider-class": f"{HERE}.VectorizedRescorerProvider"})
    for path in ("/recommend/U2", "/similarity/I1", "/recommendToAnonymous/I3", "/mostPopularItems"):
        for query in ("", "?rescorerParams=a&rescorerParams=b"):
            assert scalar.get(path + query).text == vectorized.get(path + query).text, path + query
