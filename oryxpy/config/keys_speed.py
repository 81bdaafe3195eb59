"""Speed layer keys."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.speed.model-manager-class", "speed.als.manager.ALSSpeedModelManager", "dotted path of the speed model manager class"),
    Key("oryx.speed.min-model-load-fraction", 0.8, "fraction of the model (vectors present / vectors present + expected) that must be loaded before input is folded in; until then input waits in the input topic (not committed), except that input arriving when no model exists at all is dropped and counted, as in Oryx, since the batch layer's first model is built from it", kind="float", minimum=0, maximum=1),
    Key("oryx.speed.max-batch-size", 1000, "most input records folded in per step (one poll of what is available, plus what arrives within max-batch-wait-ms)", kind="int", minimum=1),
    Key("oryx.speed.max-batch-wait-ms", 0, "longest wait for more input, once some has arrived, before a step runs (0: fold in what one poll returns at once; input that arrives during a step is batched anyway)", kind="int", minimum=0, maximum=60000),
    Key("oryx.speed.commit-interval-ms", 1000, "how often the input offsets are committed (only ever after the UPs of what they cover were acknowledged, and always at shutdown); after a crash at most this much input is folded in again (0: after every step)", kind="int", minimum=0, maximum=600000),
]
