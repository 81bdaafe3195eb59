"""The most-popular model's configuration keys (registered through the ``oryxpy.config_keys`` entry point)."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.popular.half-life-hours", 168.0, "most-popular model: an interaction counts half as much after this many hours, a quarter after twice as many", kind="float", minimum=0, min_exclusive=True),
    Key("oryx.popular.max-items", 100000, "most-popular model: items the batch layer's model keeps, most popular first (0: every item)", kind="int", minimum=0),
    Key("oryx.popular.known-items", True, "most-popular model: publish each user's known items, which recommendations leave out and /knownItems lists (false: smaller models, nothing is left out and every user is unknown)", kind="bool"),
]
