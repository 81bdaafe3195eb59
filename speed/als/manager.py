"""ALSSpeedModelManager: keeps the ALS model from the update topic and folds new input into user and item vectors."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import ModelStatus, SpeedModelManager, load_status
from oryxpy.messages import ModelMessage, ModelRefMessage, UpdateMessage, VectorUpdate
from oryxpy.modelfiles import open_model_ref
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.topics import KeyValue
from speed.als.aggregate import aggregate, parse_batch
from speed.als.model import ALSSpeedModel
from speed.als.updates import fold_in_batch
from speed.batch import rejecter
from speed.generation import AwaitedVectors
from speed.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


class ALSSpeedModelManager(SpeedModelManager):
    """Oryx's ALS speed logic: MODEL / MODEL-REF / UP build the model; each input batch yields X and Y UPs."""

    def __init__(self, config: Config):
        self._config = config
        self._no_known_items = bool(config.settings.als.no_known_items)
        self._min_fraction = float(config.settings.speed.min_model_load_fraction)
        self.model: ALSSpeedModel | None = None
        self._summary_log = RateLimitedLog(log, 60.0, logging.INFO)
        self._no_solver_log = RateLimitedLog(log)
        self._awaited = AwaitedVectors()

    # -- the update topic -------------------------------------------------------------------------------

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            self._consume_vector(message)
        elif isinstance(message, ModelMessage):
            info = pmml_to_als_model(message.pmml)
            self._install(info)
            self._awaited.expect(info)
        elif isinstance(message, ModelRefMessage):
            ref = open_model_ref(message.uri, self._config)
            if ref is None:
                return
            tables = {side: ref.side(side) for side in ("X", "Y")}
            model = self._install(ref.info)
            for side, table in tables.items():
                if table is not None:
                    self._set_vectors(model, side, table.id_list(), table.matrix)
            self._awaited.expect(ref.info, loaded={side for side, table in tables.items() if table is not None})
            log.info("Loaded model from %s: %s", message.uri, model)

    def _consume_vector(self, update: VectorUpdate) -> None:
        model = self.model
        if model is None:
            return  # an UP before any model is meaningless, as in Oryx
        if len(update.vector) != model.features:
            raise InvalidInput(f"UP for {update.matrix} {update.id} has {len(update.vector)} features, model has {model.features}")
        if update.matrix == "X":
            model.set_user_vector(update.id, update.vector)
        else:
            model.set_item_vector(update.id, update.vector)
        self._awaited.arrived()
        self._summary_log.event("Model: %s", model)

    @staticmethod
    def _set_vectors(model: ALSSpeedModel, side: str, ids: Sequence[str], matrix: np.ndarray) -> None:
        if side == "X":
            model.set_user_vectors(ids, matrix)
        else:
            model.set_item_vectors(ids, matrix)

    def _install(self, info: ALSModelInfo) -> ALSSpeedModel:
        """Start a new model if there is none or the features changed, else keep the vectors; then retain as Oryx."""
        if info.features <= 0:
            raise InvalidInput(f"model has {info.features} features")
        model = self.model
        if info.log_strength and (info.epsilon is None or not info.epsilon > 0):
            raise InvalidInput(f"model has logStrength but epsilon {info.epsilon} is not a positive number")
        if model is None or model.features != info.features:
            log.info("New model with %d features, %d users, %d items", info.features, len(info.x_ids), len(info.y_ids))
            model = ALSSpeedModel.from_info(info)
        else:
            log.info("Updating model: %d users, %d items (vectors of the current model are kept until replaced)",
                     len(info.x_ids), len(info.y_ids))
            model.update_settings(info)
        model.retain_recent_and_ids(set(info.x_ids), set(info.y_ids))
        self.model = model
        return model

    def model_status(self) -> ModelStatus:
        """'none' before any model; 'loading' while less than min-model-load-fraction is loaded, or while the
        latest MODEL's vectors are still arriving (folding new input into half old, half new vectors would mix two
        generations); else 'ready'."""
        status = load_status(self.model, self._min_fraction)
        if status == "ready" and self._awaited.pending:
            return "loading"
        if status == "ready" and self.model is not None:
            self.model.precompute_solvers()
        return status

    # -- the input topic --------------------------------------------------------------------------------

    def build_updates(self, new_data: Sequence[str]) -> list[KeyValue]:
        model = self.model
        if model is None or self.model_status() != "ready":
            return []
        reject = rejecter(new_data, log)
        batch = aggregate(parse_batch(new_data, reject), model.implicit, model.log_strength, model.epsilon)
        if not batch.users:
            return []
        xtx, yty = model.solvers()
        if xtx is None or yty is None:
            missing = " and ".join(name for name, s in (("X'X", xtx), ("Y'Y", yty)) if s is None)
            self._no_solver_log.event("No %s solver yet (not enough data); those updates are skipped", missing, count=len(batch.users))
        return fold_in_batch(model, batch, xtx, yty, self._no_known_items)

