"""ALSUpdate pieces: Oryx's time-based train/test split, hyper-parameter keys, metric checks."""

from __future__ import annotations

import pytest

from batch.als.update import ALSUpdate
from oryxpy.config import Config
from oryxpy.errors import ConfigError

T0 = 1_600_000_000_000


def split(config: Config, new: list[str], past: list[str]) -> tuple[list[str], list[str]]:
    data = ALSUpdate(config).prepare(T0 + 10**9, new, past)
    test = [] if data.test is None else sorted(data.test.items.tolist())
    return sorted(data.train.items.tolist()), test


def test_latest_fraction_of_the_new_records_by_time_quantile_is_the_test_set(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.ml.eval.test-fraction": 0.25})
    new = [f"u{t % 3},n{t % 5},1,{T0 + t}" for t in range(100)]  # boundary = the 0.75 quantile = T0 + 75
    data = ALSUpdate(config).prepare(T0 + 10**9, new, [f"u0,p,1,{T0 + 500}"])
    assert data.test is not None
    assert sorted(data.test.timestamp.tolist()) == [T0 + t for t in range(75, 100)]
    assert sorted(data.train.timestamp.tolist()) == sorted([T0 + 500] + [T0 + t for t in range(75)])  # past is never test
    assert data.note.startswith("time split")


def test_fraction_zero_trains_on_everything_and_one_tests_on_all_new(embedded_config: Config) -> None:
    new, past = [f"u,n,1,{T0}", f"u,m,1,{T0 + 5}"], [f"u,p,1,{T0}"]
    assert split(embedded_config.with_overrides({"oryx.ml.eval.test-fraction": 0.0}), new, past) == (["m", "n", "p"], [])
    assert split(embedded_config.with_overrides({"oryx.ml.eval.test-fraction": 1.0}), new, past) == (["p"], ["m", "n"])


def test_split_leaving_no_training_data_trains_on_all(embedded_config: Config) -> None:
    assert split(embedded_config, [f"u,a,1,{T0}", f"v,b,1,{T0}"], []) == (["a", "b"], [])


def test_epsilon_is_searched_only_with_log_strength(embedded_config: Config) -> None:
    assert [p.name for p in ALSUpdate(embedded_config).hyperparams()][-1] == "oryx.als.hyperparams.alpha"
    with_log = embedded_config.with_overrides({"oryx.als.logStrength": True, "oryx.als.hyperparams.epsilon": [0.1, 1.0]})
    assert ALSUpdate(with_log).hyperparams()[-1].values == (0.1, 1.0)


@pytest.mark.parametrize("implicit,metric", [(True, "rmse"), (False, "auc")])
def test_metric_must_fit_the_feedback_kind(embedded_config: Config, implicit: bool, metric: str) -> None:
    with pytest.raises(ConfigError, match="oryx.ml.eval.metric"):
        ALSUpdate(embedded_config.with_overrides({"oryx.als.implicit": implicit, "oryx.ml.eval.metric": metric}))
