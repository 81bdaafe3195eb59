"""Speed layer keys."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.speed.model-manager-class", "speed.als.manager.ALSSpeedModelManager", "dotted path of the speed model manager class"),
    Key("oryx.speed.min-model-load-fraction", 0.8, "fraction of the model that must be loaded before input is folded in", kind="float", minimum=0, maximum=1),
    Key("oryx.speed.max-batch-size", 1000, "most input records folded in per step", kind="int", minimum=1),
    Key("oryx.speed.max-batch-wait-ms", 20, "longest wait for more input before a step runs", kind="int", minimum=0, maximum=60000),
]
