"""A small planted data set for the two-tower tests: two genres of items, users who each like one genre."""

from __future__ import annotations

import numpy as np

from oryxpy.content import ItemContent, content_record

T0 = 1_600_000_000_000
ITEMS_PER_GENRE = 16
USERS_PER_GENRE = 24
GENRES = {"a": ("Space Alien Adventure", ["SciFi", "Action"]), "b": ("Love Letters in Paris", ["Romance", "Drama"])}


def item_content(item: str, genre: str) -> ItemContent:
    title, genres = GENRES[genre]
    return ItemContent(item, {"title": f"{title} {item}", "genres": genres})


def interactions(seed: int = 0, per_user: int = 6) -> list[str]:
    """Users uA* pick items of genre a, uB* of genre b; increasing timestamps."""
    rng = np.random.default_rng(seed)
    lines = []
    for genre in GENRES:
        for u in range(USERS_PER_GENRE):
            for i in rng.choice(ITEMS_PER_GENRE, per_user, replace=False):
                lines.append(f"u{genre.upper()}{u},{genre}{i},1,{T0 + len(lines) * 1000}")
    order = rng.permutation(len(lines))
    return [lines[n].rsplit(",", 1)[0] + f",{T0 + k * 1000}" for k, n in enumerate(order)]


def contents() -> list[str]:
    """A content record for every item."""
    return [content_record(item_content(f"{g}{i}", g)) for g in GENRES for i in range(ITEMS_PER_GENRE)]


def genre_of(item: str) -> str:
    return item[0]


#: Fast two-tower settings for tests.
FAST_DEEP = {
    "oryx.batch.update-class": "batch.deep.update.TwoTowerUpdate",
    "oryx.speed.model-manager-class": "speed.deep.manager.TwoTowerSpeedModelManager",
    "oryx.deep.hyperparams.features": 8, "oryx.deep.hyperparams.learning-rate": 0.03, "oryx.deep.epochs": 40,
    "oryx.deep.batch-size": 64, "oryx.deep.negatives": 16, "oryx.deep.hidden": 16, "oryx.deep.hash-buckets": 256,
    "oryx.deep.seed": 3,
}
