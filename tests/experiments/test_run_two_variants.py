"""`oryxpy run` with two variants (issue 17): a batch and a speed layer per variant, one serving layer serving both."""

from __future__ import annotations

from pathlib import Path

import pytest

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.experiment_run import variant_configs, variant_layers
from serving.experiments.variants import assign, parse_variants
from tests.integration.system import RunningSystem, free_port
from tests.integration.test_end_to_end import SYSTEM_SETTINGS, movielens_csv

SPEC = "als50:OryxUpdate:50:run-ab, als8:OryxUpdateSmall:50"


def test_variant_layer_configs(embedded_config: Config, tmp_path: Path) -> None:
    (tmp_path / "als8.toml").write_text('[oryx.als.hyperparams]\nfeatures = 8\n[oryx.batch]\nupdate-class = "batch.als.update.ALSUpdate"\n')
    config = embedded_config.with_overrides({"oryx.serving.experiment.variants": SPEC, "oryx.id": "t",
                                             "oryx.serving.experiment.variant-conf-dir": str(tmp_path)})
    own = variant_configs(config)["als8"]
    assert own["oryx.update-topic.message.topic"] == "OryxUpdateSmall" and own["oryx.als.hyperparams.features"] == 8
    assert own["oryx.id"] == "t-als8" and own.model_dir == config.model_dir + "-als8" and own.data_dir != config.data_dir
    assert [n for n, _, _ in variant_layers(config)] == ["batch-als8", "speed-als8"]
    assert variant_configs(embedded_config) == {}
    bad = embedded_config.with_overrides({"oryx.serving.experiment.variants": "a:Other:1, b:OryxUpdate:1"})
    with pytest.raises(ConfigError, match="control"):
        variant_configs(bad)


@pytest.mark.integration
@pytest.mark.slow
def test_oryxpy_run_serves_two_variants(embedded_config: Config, shared_data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "variants").mkdir()
    (tmp_path / "variants" / "als8.toml").write_text("[oryx.als.hyperparams]\nfeatures = 8\n")
    config = embedded_config.with_overrides({**SYSTEM_SETTINGS, "oryx.serving.api.port": free_port(),
                                             "oryx.serving.experiment.variants": SPEC,
                                             "oryx.serving.experiment.variant-conf-dir": str(tmp_path / "variants")})
    variants = parse_variants(SPEC)
    users = [str(u) for u in range(1, 40)]
    by_variant = {v.name: [u for u in users if assign(variants, u).name == v.name] for v in variants}
    assert all(by_variant.values())
    system = RunningSystem(config, tmp_path / "run.log").start()
    try:
        data = movielens_csv(shared_data("ml-100k/u.data"), 30000)
        assert system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"}).status_code == 204
        for name, members in by_variant.items():
            system.wait_for(lambda m=members: system.get(f"/estimate/{m[0]}/50").status_code == 200, 240,
                            f"a model of variant {name}")
            r = system.get(f"/recommend/{members[0]}")
            assert r.status_code == 200 and r.headers["x-oryx-variant"] == name
            assert len(r.text.strip().splitlines()) == 10
        anonymous = system.get("/recommendToAnonymous/50", headers={"X-Oryx-Assignment-Key": "browser-1"})
        assert anonymous.status_code == 200 and anonymous.headers["x-oryx-variant"] == assign(variants, "browser-1").name
        assert (Path(config.model_dir.removeprefix("file://") + "-als8")).is_dir()
        system.wait_for(lambda: sum(v["exposures"] for v in system.get("/experiment").json()["variants"]) == 3, 30,
                        "the served lists to be counted")
    finally:
        system.stop()
