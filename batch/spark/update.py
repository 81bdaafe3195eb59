"""ALSUpdate on Spark: everything after the input runs on the executors (split, ALS, evaluation, known items, the ID
indices, X/ and Y/, UP messages). The driver holds counts, hyper-parameters and metrics; model.pmml's ID lists are
streamed from the executors into the file one partition at a time (batch.spark.ids)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.als.engine import ALSParams
from batch.als.scale import StrengthScale
from batch.als.update import ALSUpdate
from batch.mlupdate import MODEL_FILE
from batch.spark import data as sdata
from batch.spark import evaluation
from batch.spark.ids import IndexedIds, file_length, index_ids, write_pmml
from batch.spark.split import split_new
from batch.spark.vectors import publish_vectors, write_vectors
from batch.vector_update import RANK_K
from oryxpy.config import Config
from oryxpy.messages import MODEL, MODEL_REF
from oryxpy.pmml import ALSModelInfo
from oryxpy.storage import Storage, join_uri
from oryxpy.topics import TopicProducer

log = logging.getLogger(__name__)

ALS_CHECKPOINT_INTERVAL = 5  # as Oryx (spec 3.3); needs the SparkContext's checkpoint dir


@dataclass
class SparkALSData:
    """One generation's input on Spark, as cached DataFrames: train pairs before log strength, test events, all events."""

    timestamp_ms: int
    spark: SparkSession
    train: DataFrame  # user, item, value (aggregated)
    test: DataFrame | None  # parsed events held out of this generation's input
    test_count: int
    everything: DataFrame  # parsed events of all data
    cached: list[DataFrame] = field(default_factory=list)
    note: str = ""  # which split was used and why (batch.split)
    scale: tuple[float, StrengthScale] | None = None  # (configured epsilon, scaling of this train part)
    _known: DataFrame | None = None

    def known(self) -> DataFrame:
        """(user, known): each user's items whose last event is not a delete (groupBy on the executors)."""
        if self._known is None:
            self._known = sdata.known_items(self.everything).cache()
            self.cached.append(self._known)
        return self._known


@dataclass
class SparkModel:
    """A candidate kept for its evaluation: the fitted model, its ID indices, and the trained-on pairs (u, i, value)."""

    model: ALSModel
    users: IndexedIds  # (user, u)
    items: IndexedIds  # (item, i)
    rows: DataFrame
    epsilon: float
    log_strength: bool

    def unpersist(self) -> None:
        self.rows.unpersist()
        self.users.unpersist()
        self.items.unpersist()


class SparkALSUpdate(ALSUpdate):
    """The ALS batch update run on Spark; takes the generation's input as DataFrames (key, value, gen).

    Its data is a SparkALSData where ALSUpdate's is an ALSData: the methods that take it are marked as overrides
    with another argument type (``type: ignore[override]``); MLUpdate's flow passes back what prepare_tables made.
    """

    takes_dataframes = True

    def __init__(self, config: Config):
        super().__init__(config)
        self.blocks: int | None = config.settings.batch.spark.als_blocks
        self._data: SparkALSData | None = None
        self._spark_models: dict[str, SparkModel] = {}
        self._known_lock = threading.Lock()

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
        """Parse all input, split this generation's by batch.split's rule, aggregate the train part (spec 3.3)."""
        new = sdata.parse_input(new_data).cache()
        past = sdata.parse_input(past_data).cache() if past_data is not None else None
        everything = new if past is None else past.unionByName(new)
        cached = [new] + ([past] if past is not None else [])
        split = split_new(new, past, self.test_fraction, self.seed)
        train, test = everything, None
        if split.evaluating:
            train = split.train_new if past is None else past.unionByName(split.train_new)
            test = split.test
        data = SparkALSData(timestamp_ms, new_data.sparkSession, self._aggregated(train, timestamp_ms), test,
                            split.test_count, everything, cached, note=f"{split.method} split: {split.reason}")
        cached.append(data.train)
        self._data = data
        return data

    def _aggregated(self, events: DataFrame, timestamp_ms: int) -> DataFrame:
        weighted = sdata.decay_and_threshold(events, self.decay_factor, self.zero_threshold, timestamp_ms)
        return sdata.aggregate(weighted, self.implicit).cache()

    def refit_data(self, data: SparkALSData) -> SparkALSData | None:  # type: ignore[override]
        """All data as the train part, for the published model built with the chosen hyper-parameters."""
        if not isinstance(data, SparkALSData) or data.test is None:
            return None
        train = self._aggregated(data.everything, data.timestamp_ms)
        data.cached.append(train)
        return dataclasses.replace(data, train=train, test=None, test_count=0, scale=None)

    def split_note(self, data: SparkALSData) -> str:  # type: ignore[override]
        return getattr(data, "note", "")

    def _scale(self, data: SparkALSData, epsilon: float) -> StrengthScale:
        """The strength scaling of this train part (batch.als.scale's rule), decided once per configured epsilon."""
        with self._known_lock:
            if data.scale is None or data.scale[0] != epsilon:
                scale = sdata.strength_scale(data.train, self.strength_scale, self.implicit, self.log_strength, epsilon)
                log.info("strength scale: %s", scale.note)
                data.scale = (epsilon, scale)
            return data.scale[1]

    def has_test_data(self, data: SparkALSData) -> bool:  # type: ignore[override]
        return data.test is not None and data.test_count > 0

    def build_model(self, data: SparkALSData, hyperparams: dict[str, Any], candidate_uri: str) -> None:  # type: ignore[override]
        scale = self._scale(data, float(hyperparams.get("epsilon", 1e-5)))  # epsilon is searched only with logStrength
        epsilon = scale.epsilon
        ratings = sdata.log_strength(data.train, epsilon) if scale.log_strength else data.train
        users, items = index_ids(ratings, "user", "u"), index_ids(ratings, "item", "i")
        if users.count == 0:
            users.unpersist()
            items.unpersist()
            log.warning("no training data left after aggregation; no model")
            return
        params = ALSParams(int(hyperparams["features"]), float(hyperparams["lambda"]),
                           float(hyperparams["alpha"]) / scale.alpha_divisor, self.implicit, self.iterations, self.seed,
                           self.cg_steps)
        rows = (ratings.join(users.frame, "user").join(items.frame, "item").select("u", "i", "value")).cache()
        model = self._als(params).fit(rows)
        self._write_factors(data, model, users, items, candidate_uri)
        info = ALSModelInfo(params.features, self.implicit, [], [], params.lambda_, params.alpha, scale.log_strength,
                            epsilon if scale.log_strength else None)
        write_pmml(data.spark, join_uri(candidate_uri, MODEL_FILE), info, users, items)
        with self._lock:
            self._spark_models[candidate_uri] = SparkModel(model, users, items, rows, epsilon, scale.log_strength)

    def _write_factors(self, data: SparkALSData, model: ALSModel, users: IndexedIds, items: IndexedIds, uri: str) -> None:
        x = model.userFactors.join(users.frame.withColumnRenamed("u", "id"), "id").select(
            F.col("user").alias("id"), F.col("features").alias("vector"))
        if not self.no_known_items:
            with self._known_lock:  # candidates are built in threads; the known items are computed once
                known = data.known()
            x = x.join(known.withColumnRenamed("user", "id"), "id", "left").select(
                "id", "vector", F.coalesce("known", F.array().cast("array<string>")).alias("known"))
        write_vectors(x, join_uri(uri, "X"))
        y = model.itemFactors.join(items.frame.withColumnRenamed("i", "id"), "id").select(
            F.col("item").alias("id"), F.col("features").alias("vector"))
        write_vectors(y, join_uri(uri, "Y"))

    def _als(self, params: ALSParams) -> ALS:
        als = ALS(rank=params.features, maxIter=params.iterations, regParam=params.lambda_, implicitPrefs=params.implicit,
                  alpha=params.alpha, userCol="u", itemCol="i", ratingCol="value", checkpointInterval=ALS_CHECKPOINT_INTERVAL)
        if params.seed is not None:
            als.setSeed(params.seed)
        if self.blocks is not None:
            als.setNumUserBlocks(self.blocks).setNumItemBlocks(self.blocks)
        return als

    def evaluate(self, data: SparkALSData, candidate_uri: str) -> dict[str, float]:  # type: ignore[override]
        """The local engine's metrics (AUC or RMSE, then nDCG, precision, recall, MAP at 10) as DataFrame operations."""
        built = self._spark_models[candidate_uri]
        assert data.test is not None
        test = sdata.aggregate(sdata.decay_and_threshold(data.test, self.decay_factor, self.zero_threshold,
                                                         data.timestamp_ms), self.implicit)
        if built.log_strength:
            test = test.withColumn("value", F.log1p(F.col("value") / F.lit(built.epsilon)))
        # only the pairs the model knows both sides of
        pairs = test.join(built.users.frame, "user").join(built.items.frame, "item").select("u", "i", "value").cache()
        try:
            x = built.model.userFactors.select(F.col("id").alias("u"), F.col("features").alias("x"))
            y = built.model.itemFactors.select(F.col("id").alias("i"), F.col("features").alias("y"))
            metrics: dict[str, float] = {}
            if self.implicit:
                metrics["auc"] = evaluation.mean_auc(pairs, x, y, self.seed)
                relevant = pairs.where(F.col("value") > 0)
            else:
                metrics["rmse"] = evaluation.rmse(pairs, x, y)
                relevant = pairs
            metrics.update(evaluation.ranking_metrics(built.model, relevant.select("u", "i").distinct(),
                                                      built.rows.select("u", "i"), built.items.count, RANK_K))
            metrics["test_pairs"] = float(pairs.count())
            return metrics
        finally:
            pairs.unpersist()

    def release(self, candidate_uri: str) -> None:
        with self._lock:
            built = self._spark_models.pop(candidate_uri, None)
        if built is not None:
            built.unpersist()

    def publish_additional(self, data: SparkALSData, model_uri: str, producer: TopicProducer) -> None:  # type: ignore[override]
        """UP messages for Y then X, sent by the executors, one producer per partition (acks=all)."""
        if not self.publish_vectors:
            log.info("oryx.batch.publish-vectors is false: no UP messages (consumers load X/ and Y/ from %s)", model_uri)
            return
        # the driver's producer has had the MODEL message acknowledged (send is synchronous): UP messages follow it
        items = publish_vectors(data.spark, self.config, join_uri(model_uri, "Y"), "Y", with_known=False)
        users = publish_vectors(data.spark, self.config, join_uri(model_uri, "X"), "X", with_known=not self.no_known_items)
        log.info("published %d item and %d user vectors from the executors", items, users)

    def _publish(self, storage: Storage, data: SparkALSData, final_uri: str, producer: TopicProducer) -> None:
        """MODEL with the PMML when it fits in a message, else MODEL-REF: the file is read only when it is that small."""
        pmml_uri = join_uri(final_uri, MODEL_FILE)
        if file_length(data.spark, pmml_uri) <= self.max_message_size:
            producer.send(MODEL, storage.read_bytes(pmml_uri).decode("utf-8"))
        else:
            producer.send(MODEL_REF, storage.qualify(pmml_uri))
        self.publish_additional(data, final_uri, producer)
