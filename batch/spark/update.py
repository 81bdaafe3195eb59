"""ALSUpdate on Spark: DataFrame input preparation and pyspark.ml ALS; evaluation, model files and publishing are shared."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pyspark.ml.feature import StringIndexer
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from batch.als.data import Events, Ratings
from batch.als.engine import ALSParams
from batch.als.update import ALSUpdate
from batch.spark import data as sdata
from oryxpy.config import Config
from oryxpy.topics import TopicProducer

log = logging.getLogger(__name__)

ALS_CHECKPOINT_INTERVAL = 5  # as Oryx (spec 3.3); needs the SparkContext's checkpoint dir


@dataclass
class SparkALSData:
    """One generation's input on Spark: the weighted train pairs before log strength, the test split on the driver."""

    timestamp_ms: int
    train: DataFrame  # user, item, value (aggregated; cached)
    test: Events | None
    everything: DataFrame  # parsed events of all data (cached)
    cached: list[DataFrame] = field(default_factory=list)
    _known: dict[str, list[str]] | None = None

    def known(self) -> dict[str, list[str]]:
        if self._known is None:
            table = sdata.known_items(self.everything).toArrow()
            self._known = dict(zip(table.column("user").to_pylist(), table.column("known").to_pylist(), strict=True))
        return self._known


def _factors(frame: DataFrame, count: int, rank: int) -> np.ndarray:
    """ALS factors (id, features) as a count x rank float32 matrix indexed by id."""
    table = frame.toArrow()
    matrix = np.zeros((count, rank), dtype=np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        flat = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        matrix[ids] = flat.reshape(len(ids), rank)
    return matrix


class SparkALSUpdate(ALSUpdate):
    """The ALS batch update run on Spark; takes the generation's input as DataFrames (key, value, gen)."""

    takes_dataframes = True

    def __init__(self, config: Config):
        super().__init__(config)
        self.blocks: int | None = config["oryx.batch.spark.als-blocks"]
        self._data: SparkALSData | None = None

    def run_update(self, timestamp_ms: int, new_data: Any, past_data: Any, model_dir: str,
                   update_producer: TopicProducer | None) -> None:
        try:
            super().run_update(timestamp_ms, new_data, past_data, model_dir, update_producer)
        finally:
            if self._data is not None:
                for frame in self._data.cached:
                    frame.unpersist()
                self._data = None

    def prepare_tables(self, timestamp_ms: int, new_data: DataFrame, past_data: DataFrame | None) -> SparkALSData:
        """Parse all input, split this generation's by time (spec 3.4), aggregate the train part (spec 3.3)."""
        new = sdata.parse_input(new_data).cache()
        past = sdata.parse_input(past_data).cache() if past_data is not None else None
        everything = new if past is None else past.unionByName(new)
        cached = [new] + ([past] if past is not None else [])
        train, test = everything, None
        low, high = new.agg(F.min("timestamp"), F.max("timestamp")).first() or (None, None)
        if self.test_fraction > 0 and low is not None:
            boundary = low if self.test_fraction >= 1 else int(high - self.test_fraction * (high - low))
            if past is None and boundary == low:  # every new record would be test data
                log.info("the test split would leave no training data (one timestamp, no past data); training on all of it")
            else:
                new_train = new.where(F.col("timestamp") < F.lit(boundary))
                train = new_train if past is None else past.unionByName(new_train)
                test = sdata.collect_events(new.where(F.col("timestamp") >= F.lit(boundary)))
                log.info("test: %d records held out of this generation's input", len(test))
        weighted = sdata.decay_and_threshold(train, self.decay_factor, self.zero_threshold, timestamp_ms)
        ratings = sdata.aggregate(weighted, self.implicit).cache()
        cached.append(ratings)
        self._data = SparkALSData(timestamp_ms, ratings, test, everything, cached)
        return self._data

    def build_model(self, data: SparkALSData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        epsilon = float(hyperparams.get("epsilon", 1e-5))  # searched only with logStrength
        ratings = sdata.log_strength(data.train, epsilon) if self.log_strength else data.train
        indexer = StringIndexer(inputCols=["user", "item"], outputCols=["u", "i"], stringOrderType="alphabetAsc").fit(ratings)
        user_ids, item_ids = (list(labels) for labels in indexer.labelsArray)
        if not user_ids:
            log.warning("no training data left after aggregation; no model")
            return
        params = ALSParams(int(hyperparams["features"]), float(hyperparams["lambda"]), float(hyperparams["alpha"]),
                           self.implicit, self.iterations, self.seed, self.cg_steps)
        rows = indexer.transform(ratings).select(F.col("u").cast("int").alias("u"), F.col("i").cast("int").alias("i"), "value").cache()
        try:
            model = self._als(params).fit(rows)
            x = _factors(model.userFactors, len(user_ids), params.features)
            y = _factors(model.itemFactors, len(item_ids), params.features)
            matrix = _matrix(rows.toArrow(), len(user_ids), len(item_ids))
        finally:
            rows.unpersist()
        self.save_model(data, Ratings(user_ids, item_ids, matrix), x, y, params, epsilon, candidate_uri)

    def _als(self, params: ALSParams) -> ALS:
        als = ALS(rank=params.features, maxIter=params.iterations, regParam=params.lambda_, implicitPrefs=params.implicit,
                  alpha=params.alpha, userCol="u", itemCol="i", ratingCol="value", checkpointInterval=ALS_CHECKPOINT_INTERVAL)
        if params.seed is not None:
            als.setSeed(params.seed)
        if self.blocks is not None:
            als.setNumUserBlocks(self.blocks).setNumItemBlocks(self.blocks)
        return als


def _matrix(rows: pa.Table, users: int, items: int) -> sp.csr_matrix:
    """The trained-on pairs as a users x items matrix (what evaluation excludes from recommendations)."""
    return sp.csr_matrix((rows.column("value").to_numpy(), (rows.column("u").to_numpy(), rows.column("i").to_numpy())),
                         shape=(users, items))
