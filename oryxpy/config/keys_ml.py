"""Model keys shared by every layer: ALS hyper-parameters, data handling and evaluation."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.als.iterations", 10, "ALS iterations per model build", kind="int", minimum=1, maximum=1000),
    Key("oryx.als.implicit", True, "implicit feedback (strengths are confidence, as clicks or plays) rather than explicit ratings", kind="bool"),
    Key("oryx.als.logStrength", False, "transform aggregated strengths r to ln(1 + r / epsilon) before training", kind="bool"),
    Key("oryx.als.hyperparams.features", [16, 128], "number of latent features (an integer; Oryx: 10); [min, max] searches that range (evenly in log space), a longer list searches exactly those values", kind="hyperparam", minimum=1, maximum=10000),
    Key("oryx.als.hyperparams.lambda", [0.05, 0.5], "regularization, scaled by each user's and item's number of ratings (as MLlib; Oryx: 0.001); [min, max] searches that range (evenly in log space), a longer list those values", kind="hyperparam", minimum=0),
    Key("oryx.als.hyperparams.alpha", [0.25, 32.0], "implicit confidence slope: c = 1 + alpha * |r|, r in units of the mean strength under oryx.als.strength-scale auto (ints are read as floats; Oryx: 1.0); [min, max] searches that range (evenly in log space), a longer list those values", kind="hyperparam", minimum=0, min_exclusive=True),
    Key("oryx.als.hyperparams.epsilon", 1.0e-5, "epsilon of logStrength (searched only when logStrength is true); [min, max] searches that range (evenly in log space), a longer list those values", kind="hyperparam", minimum=0, min_exclusive=True),
    Key("oryx.als.strength-scale", "auto", "implicit only: auto takes log strength (epsilon = median) when strengths are heavy-tailed and measures alpha in units of the mean strength, so one search fits ratings, 0/1 data and counts (published as logStrength, epsilon, alpha); none uses strengths and alpha as given (Oryx)", kind="choice", choices=("auto", "none")),
    Key("oryx.als.seed", None, "random seed of ALS initialization, hyper-parameter search and AUC sampling (unset: different every run)", kind="int", optional=True),
    Key("oryx.als.cg-steps", 3, "conjugate-gradient steps per implicit ALS solve, warm-started (0: exact Cholesky solves, slower); explicit ALS always solves exactly", kind="int", minimum=0, maximum=100),
    Key("oryx.als.no-known-items", False, "do not track or publish the items each user knows", kind="bool"),
    Key("oryx.als.rescorer-provider-class", None, "comma-separated dotted paths module.ClassName of rescorer providers", optional=True),
    Key("oryx.als.decay.factor", 1.0, "per-day multiplier applied to old strengths at training time (age in fractional days before the generation time), in (0, 1]", kind="float", minimum=0, min_exclusive=True, maximum=1),
    Key("oryx.als.decay.zero-threshold", 0.0, "after decay, strengths whose magnitude is at or below this are dropped (0: keep all); deletes are always kept (fixes Oryx quirk 9.2)", kind="float", minimum=0),
    Key("oryx.als.sample-rate", 1.0, "LSH sample rate in (0, 1]: 1.0 scans every item (exact), lower is faster and approximate", kind="float", minimum=0, min_exclusive=True, maximum=1),
    Key("oryx.ml.eval.test-fraction", 0.1, "fraction of each generation's new data held out to evaluate candidates: the latest by timestamp quantile, or a seeded random per-user holdout when timestamps cannot separate (batch/split.py)", kind="float", minimum=0, maximum=1),
    Key("oryx.ml.eval.candidates", 9, "how many hyper-parameter combinations to build and evaluate per generation; with staged search, the size of its first round (the default 9: a 3 x 3 log grid of lambda and alpha), which then adds at most 2 per integer range and 4 per real range (1: exactly one candidate)", kind="int", minimum=1, maximum=65536),
    Key("oryx.ml.eval.hyperparam-search", "staged", "how candidates are chosen: random draws; grid (spread like Oryx's grid, then a fair random sample of it when it is larger than candidates; fixes quirk 9.4); or staged, coarse to fine (batch/search.py): a grid of the real-valued ranges (lambda, alpha) with integers (features) at their centre, then each integer's other grid values at the best so far, then half-step refinements of each real range around the best two", kind="choice", choices=("random", "grid", "staged")),
    Key("oryx.ml.eval.metric", "ndcg@10", "what chooses the best candidate on the test split: a ranking metric at 10 (users' held-out items vs. their top 10, own items excluded), or Oryx's auc (implicit) / rmse (explicit; its score is -rmse)", kind="choice", choices=("ndcg@10", "precision@10", "recall@10", "map@10", "auc", "rmse")),
    Key("oryx.ml.eval.refit", True, "after choosing hyper-parameters on the held-out split, rebuild the published model on all data with them, so it holds every user and item (false: publish the candidate built on the train split, as Oryx)", kind="bool"),
    Key("oryx.ml.eval.finalists", 3, "after the search, the best this many candidates are built and scored again on a second held-out fold (another seeded split of the train part) and the best mean of the two folds wins: scores a hair apart on one held-out part are mostly noise (0 or 1: the first fold alone decides, as Oryx; only the local engine confirms, Spark keeps the first fold's choice)", kind="int", minimum=0, maximum=64),
    Key("oryx.ml.eval.parallelism", 1, "how many candidates to build at once", kind="int", minimum=1, maximum=64),
    Key("oryx.ml.eval.threshold", None, "discard the best model if its oryx.ml.eval.metric (-rmse for rmse) is below this (unset: keep any); never applied to a model that could not be evaluated, e.g. test-fraction 0 (fixes quirk 9.5)", kind="float", optional=True),
]
