"""Model-agnostic batch update (Oryx's MLUpdate): build candidates, evaluate, keep the best, publish it."""

from __future__ import annotations

import json
import logging
import math
import time
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from batch.search import HyperParam, SearchPlan, confirmed_choice, finalists
from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.interfaces import BatchLayerUpdate
from oryxpy.messages import MODEL, MODEL_REF
from oryxpy.storage import Storage, join_uri, storage_for
from oryxpy.topics import TopicProducer

log = logging.getLogger(__name__)

MODEL_FILE = "model.pmml"
METRICS_FILE = "metrics.json"
TEMPORARY = ".temporary"
SCORE = "score"
REFIT = "refit"
LOWER_IS_BETTER = frozenset({"rmse"})


@dataclass
class Candidate:
    """One built (or failed) candidate model."""

    index: int
    hyperparams: dict[str, Any]
    uri: str
    built: bool = False
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.metrics.get(SCORE, math.nan)


def values_of(table: pa.Table | None) -> list[str]:
    """The message values of stored input, or [] for none."""
    return [] if table is None else [v for v in table.column("value").to_pylist() if v is not None]


class MLUpdate(BatchLayerUpdate):
    """Drives hyper-parameter search, evaluation and publication; subclasses build and evaluate one model type."""

    def __init__(self, config: Config):
        self.config = config
        self.test_fraction: float = config.settings.ml.eval.test_fraction
        self.candidates: int = config.settings.ml.eval.candidates
        self.parallelism: int = config.settings.ml.eval.parallelism
        self.threshold: float | None = config.settings.ml.eval.threshold
        self.search: str = config.settings.ml.eval.hyperparam_search
        self.metric: str = config.settings.ml.eval.metric
        self.max_message_size: int = config.settings.update_topic.message.max_size
        self.refit: bool = config.settings.ml.eval.refit
        self.finalists: int = config.settings.ml.eval.finalists
        self.seed: int | None = None  # a model type may fix it for reproducible searches
        if self.test_fraction == 0 and self.candidates > 1:
            log.info("Eval is disabled (test-fraction 0): building 1 candidate instead of %d", self.candidates)
            self.candidates = 1

    # ---- what a model type provides -------------------------------------------------------------------------
    @abstractmethod
    def hyperparams(self) -> list[HyperParam]:
        """The search space, in a fixed order."""

    @abstractmethod
    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> Any:
        """Parse the input and split it into train and test (``self.test_fraction``); the result is passed back below."""

    def prepare_tables(self, timestamp_ms: int, new_data: Any, past_data: Any) -> Any:
        """Hand the input to :meth:`prepare` as values; an engine with its own tables (Spark) overrides this."""
        return self.prepare(timestamp_ms, values_of(new_data), values_of(past_data))

    @abstractmethod
    def has_test_data(self, data: Any) -> bool:
        """Whether ``prepare`` held out any test data."""

    @abstractmethod
    def build_model(self, data: Any, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        """Train on the train split and write a complete model directory (with model.pmml) at ``candidate_uri``."""

    @abstractmethod
    def evaluate(self, data: Any, candidate_uri: str) -> dict[str, float]:
        """Metrics on the test split, by name; the one named by ``oryx.ml.eval.metric`` chooses the model."""

    @abstractmethod
    def publish_additional(self, data: Any, model_uri: str, producer: TopicProducer) -> None:
        """Send what follows the MODEL message (for vector models: UP messages)."""

    def release(self, candidate_uri: str) -> None:  # noqa: B027 - optional hook
        """Forget anything kept in memory for a candidate."""

    def second_fold(self, data: Any) -> Any | None:
        """Another held-out split of the train part, to confirm the finalists on (None: the first fold decides)."""
        return None

    def refit_data(self, data: Any) -> Any | None:
        """The data to rebuild the chosen model on (all of it), or None when the model type cannot refit."""
        return None

    def split_note(self, data: Any) -> str:
        """Which train/test split ``prepare`` used and why, for the model's metrics.json."""
        return ""

    def model_promoted(self, storage: Storage, final_uri: str) -> None:  # noqa: B027 - optional hook
        """Called once the chosen model has moved to its final directory ``final_uri`` and before it is published:
        a model type may record that URI in its files (the two-tower model names it in its PMML for the speed layer)."""

    # ---- the generic flow ------------------------------------------------------------------------------------
    def run_update(self, timestamp_ms: int, new_data: pa.Table, past_data: pa.Table | None, model_dir: str,
                   update_producer: TopicProducer | None) -> None:
        storage = storage_for(model_dir, self.config)
        data = self.prepare_tables(timestamp_ms, new_data, past_data)
        evaluating = self.has_test_data(data)
        rng = np.random.default_rng(self.seed)
        params = self.hyperparams()
        plan = SearchPlan(params, self.search, self.candidates, rng)
        if evaluating:
            combos = plan.first_round()
        else:  # nothing could choose among candidates: build one, at the centre of each searched range
            combos = [tuple(p.centre() for p in params)]
            if self.candidates > 1:
                log.info("no evaluation possible: building 1 candidate (the centre of the search space) instead of %d",
                         self.candidates)
        temporary = join_uri(model_dir, TEMPORARY, str(timestamp_ms))
        candidates: list[Candidate] = []
        try:
            while combos:  # one round of the search (batch.search.SearchPlan), then the next around the best so far
                start = len(candidates)
                candidates += [Candidate(start + i, {p.name.rsplit(".", 1)[-1]: v for p, v in zip(params, combo, strict=True)},
                                         join_uri(temporary, str(start + i))) for i, combo in enumerate(combos)]
                self._build_round(data, candidates[start:], storage, evaluating)
                scored = sorted((c for c in candidates if c.built and not math.isnan(c.score)), key=lambda c: -c.score)
                combos = plan.next_round([tuple(c.hyperparams.values()) for c in scored]) if evaluating else []
            confirmed = self._confirm(data, candidates, storage, temporary) if evaluating else None
            best = self._choose([confirmed] if confirmed is not None else candidates, evaluating)
            if best is None:
                log.warning("Unable to build any model")
                return
            chosen = best
            if evaluating and self.refit:
                best = self._refit(data, best, candidates, storage, temporary)
            final_uri = self._promote(storage, model_dir, best, candidates)
            self._append_report(storage, final_uri, data, evaluating, refit=best is not chosen)
        finally:
            for candidate in candidates:
                self.release(candidate.uri)
            self.release(join_uri(temporary, REFIT))
            storage.delete(temporary)
        if update_producer is not None:
            self._publish(storage, data, final_uri, update_producer)

    def _build_round(self, data: Any, round_: list[Candidate], storage: Storage, evaluating: bool) -> None:
        """Build and evaluate one round's candidates, then drop their in-memory state (their files stay)."""
        workers = min(self.parallelism, len(round_))
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="candidate") as pool:
                list(pool.map(lambda c: self._build_and_eval(data, c, storage, evaluating), round_))
        else:
            for candidate in round_:
                self._build_and_eval(data, candidate, storage, evaluating)
        for candidate in round_:
            self.release(candidate.uri)

    def _confirm(self, data: Any, candidates: list[Candidate], storage: Storage, temporary: str) -> Candidate | None:
        """Build the best ``oryx.ml.eval.finalists`` again on a second held-out fold; the best mean of the two folds'
        scores wins (batch.search.confirmed_choice), so a lead within one held-out part's noise does not decide."""
        chosen = finalists([c.score if c.built else math.nan for c in candidates], self.finalists)
        fold = self.second_fold(data) if chosen else None
        if fold is None:
            return None
        started = time.perf_counter()
        again = [Candidate(len(candidates) + n, candidates[i].hyperparams, join_uri(temporary, f"fold2-{n}"))
                 for n, i in enumerate(chosen)]
        self._build_round(fold, again, storage, True)
        for i, second in zip(chosen, again, strict=True):
            candidates[i].metrics["second_fold_score"] = second.score
        winner = candidates[chosen[confirmed_choice([candidates[i].score for i in chosen], [c.score for c in again])]]
        log.info("confirmed on a second held-out fold (%.1fs): %s, mean score %.4f (first fold's best: %s)",
                 time.perf_counter() - started, winner.hyperparams,
                 (winner.score + winner.metrics["second_fold_score"]) / 2, candidates[chosen[0]].hyperparams)
        return winner

    def _refit(self, data: Any, best: Candidate, candidates: list[Candidate], storage: Storage, temporary: str) -> Candidate:
        """Rebuild the chosen hyper-parameters on all data; the published model then holds every user and item."""
        full = self.refit_data(data)
        if full is None:
            log.info("this model type cannot refit on all data; publishing the candidate built on the train split")
            return best
        started = time.perf_counter()
        refit = Candidate(len(candidates), best.hyperparams, join_uri(temporary, REFIT), metrics=dict(best.metrics))
        try:
            self.build_model(full, best.hyperparams, refit.uri)
            refit.built = storage.exists(join_uri(refit.uri, MODEL_FILE))
        except OryxError as exc:
            log.warning("refit of %s on all data failed (%s); publishing the candidate built on the train split",
                        best.hyperparams, exc)
            return best
        if not refit.built:
            log.warning("refit of %s on all data built no model; publishing the train-split candidate", best.hyperparams)
            return best
        log.info("refit %s on all data (%.1fs)", best.hyperparams, time.perf_counter() - started)
        return refit

    def _append_report(self, storage: Storage, final_uri: str, data: Any, evaluating: bool, refit: bool) -> None:
        """Record in metrics.json how the model was chosen: the split, and whether it was refit on all data."""
        uri = join_uri(final_uri, METRICS_FILE)
        report = json.loads(storage.read_text(uri))
        report["split"] = self.split_note(data)
        report["evaluated"] = evaluating
        report["refit"] = refit
        if not evaluating:
            log.warning("model %s was not evaluated (%s): published without a score", final_uri,
                        report["split"] or "no test data")
        storage.write_text(uri, json.dumps(_json_safe(report), indent=2))

    def _build_and_eval(self, data: Any, candidate: Candidate, storage: Storage, evaluating: bool) -> None:
        started = time.perf_counter()
        try:
            self.build_model(data, candidate.hyperparams, candidate.uri)
            candidate.built = storage.exists(join_uri(candidate.uri, MODEL_FILE))
            if candidate.built and evaluating:
                candidate.metrics = self.evaluate(data, candidate.uri)
                chosen_by = candidate.metrics.get(self.metric, math.nan)
                candidate.metrics[SCORE] = -chosen_by if self.metric in LOWER_IS_BETTER else chosen_by
        except OryxError as exc:
            log.warning("candidate %d %s failed: %s", candidate.index, candidate.hyperparams, exc)
            return
        log.info("candidate %d %s: %s (%.1fs)", candidate.index, candidate.hyperparams,
                 _format(candidate.metrics) or "not evaluated", time.perf_counter() - started)

    def _choose(self, candidates: list[Candidate], evaluating: bool) -> Candidate | None:
        built = [c for c in candidates if c.built]
        scored = [c for c in built if not math.isnan(c.score)]
        if not scored:
            if built:
                log.info("no candidate could be evaluated%s; keeping the first built model",
                         "" if evaluating else " (no test data)")
            return built[0] if built else None  # a threshold needs a score: without one it does not discard (spec 9.5)
        best = max(scored, key=lambda c: c.score)
        if self.threshold is not None and best.score < self.threshold:
            log.warning("best model's score %s is below oryx.ml.eval.threshold %s; discarding it", best.score, self.threshold)
            return None
        return best

    def _promote(self, storage: Storage, model_dir: str, best: Candidate, candidates: list[Candidate]) -> str:
        stamp = int(time.time() * 1000)
        while storage.exists(join_uri(model_dir, str(stamp))):
            stamp += 1
        report = {
            "hyperparams": best.hyperparams,
            "metrics": best.metrics,
            "candidates": [{"hyperparams": c.hyperparams, "metrics": c.metrics, "built": c.built} for c in candidates],
        }
        storage.write_text(join_uri(best.uri, METRICS_FILE), json.dumps(_json_safe(report), indent=2))
        final_uri = join_uri(model_dir, str(stamp))
        storage.rename(best.uri, final_uri)
        log.info("new model %s: hyperparams %s, %s", final_uri, best.hyperparams, _format(best.metrics) or "not evaluated")
        self.model_promoted(storage, final_uri)
        return final_uri

    def _publish(self, storage: Storage, data: Any, final_uri: str, producer: TopicProducer) -> None:
        pmml_uri = join_uri(final_uri, MODEL_FILE)
        pmml = storage.read_bytes(pmml_uri)
        if len(pmml) <= self.max_message_size:
            producer.send(MODEL, pmml.decode("utf-8"))
        else:
            producer.send(MODEL_REF, storage.qualify(pmml_uri))
        self.publish_additional(data, final_uri, producer)


def _json_safe(value: Any) -> Any:
    """Plain JSON: NaN becomes null, numpy numbers Python numbers."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
