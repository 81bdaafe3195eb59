"""The hybrid model's configuration keys (batch.hybrid.update.HybridUpdate, typically one arm of an A/B test),
registered through the ``oryxpy.config_keys`` entry point, as every model package's keys."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.hybrid.hyperparams.weight", 0.5,
        "hybrid update class: weight of ALS in the blend (the two-tower model gets 1 - weight), each model's scores "
        "divided by their spread; [min, max] searches that range, a longer list those values",
        kind="hyperparam", minimum=0, maximum=1),
    Key("oryx.hybrid.hyperparams.tower-features", 32,
        "hybrid update class: features of its two-tower part (its ALS part uses oryx.als.hyperparams.features; the "
        "blend has their sum); [min, max] searches that range, a longer list those values",
        kind="hyperparam", minimum=1, maximum=4096),
]
