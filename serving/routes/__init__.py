"""One router module per resource group; app.py includes every module listed here (each exposes ``router``)."""

ROUTER_MODULES = [
    # read endpoints (model queries)
    "serving.routes.recommend",
    "serving.routes.similarity",
    "serving.routes.estimate",
    "serving.routes.explain",
    "serving.routes.popular",
    "serving.routes.ids",
    "serving.routes.ready",
    # writes, console, metrics
    "serving.routes.ingest",
    "serving.routes.pref",
    "serving.routes.item_content",
    "serving.routes.console",
    "serving.routes.metrics",
    "serving.routes.dashboard",  # issue 17: the live dashboard
    "serving.routes.docs",  # issue 17: /docs from bundled Swagger UI files (app.py sets docs_url=None)
]
