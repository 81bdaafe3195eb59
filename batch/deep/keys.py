"""The two-tower model's configuration keys: batch training hyper-parameters and item-tower shape (registered through
the ``oryxpy.config_keys`` entry point, as every model package's keys)."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.deep.hyperparams.features", 64, "size of user and item vectors of the two-tower model; [min, max] searches that range, a longer list those values", kind="hyperparam", minimum=1, maximum=4096),
    Key("oryx.deep.hyperparams.learning-rate", 0.02, "Adam learning rate; [min, max] searches that range, a longer list those values", kind="hyperparam", minimum=0, min_exclusive=True),
    Key("oryx.deep.hyperparams.l2", 5.0e-5, "L2 penalty on the user and item vectors of each minibatch (matters most: ml-latest-small nDCG@10 0.23 at 1e-6, 0.30 at 5e-5, 0.17 at 3e-4); [min, max] searches that range, a longer list those values", kind="hyperparam", minimum=0),
    Key("oryx.deep.hyperparams.id-dropout", 0.25, "probability of dropping an item's ID embedding in a training step, so the content tower alone learns to place items; [min, max] searches that range", kind="hyperparam", minimum=0, maximum=1),
    Key("oryx.deep.epochs", 20, "passes over the training interactions", kind="int", minimum=1, maximum=10000),
    Key("oryx.deep.batch-size", 2048, "interactions per minibatch", kind="int", minimum=1),
    Key("oryx.deep.negatives", 512, "uniformly sampled negative items shared by a minibatch (sampled softmax)", kind="int", minimum=1),
    Key("oryx.deep.hidden", 64, "hidden units of the item tower over the hashed content features", kind="int", minimum=1, maximum=65536),
    Key("oryx.deep.user-embedding", True, "users also get a trained embedding added to their tower vector (new users start from the tower alone)", kind="bool"),
    Key("oryx.deep.hash-buckets", 8192, "hash buckets of the item-content tokens", kind="int", minimum=16, maximum=16777216),
    Key("oryx.deep.seed", None, "random seed of two-tower initialization, sampling and search (unset: different every run)", kind="int", optional=True),
]
