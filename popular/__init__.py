"""A time-decayed most-popular model, plugged in by configuration alone (it touches no generic code).

Each item's score is the sum of its interactions' strengths, each halved every ``oryx.popular.half-life-hours``
since it happened; everyone gets the same ranking, without the items they already know. A strong baseline and a
natural control arm for A/B tests. Select it with::

    oryx.batch.update-class = "popular.batch.PopularUpdate"
    oryx.speed.model-manager-class = "popular.speed.PopularSpeedModelManager"
    oryx.serving.model-manager-class = "popular.serving.PopularServingModelManager"
"""
