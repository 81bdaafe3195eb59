"""The endpoint groups, one router module each; ``oryx.serving.application-resources`` chooses which are served
(as Oryx's key of that name chooses its JAX-RS resource packages).

An entry of that key is a group named here or the dotted path of any module exposing a FastAPI ``router`` (a model
package's own endpoints), so adding endpoints needs no change here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from oryxpy.errors import ConfigError

KEY = "oryx.serving.application-resources"

GROUPS = {
    # read endpoints (model queries)
    "recommend": "serving.routes.recommend",
    "similarity": "serving.routes.similarity",
    "estimate": "serving.routes.estimate",
    "explain": "serving.routes.explain",
    "popular": "serving.routes.popular",
    "ids": "serving.routes.ids",
    "ready": "serving.routes.ready",
    # writes, console, metrics
    "ingest": "serving.routes.ingest",
    "pref": "serving.routes.pref",
    "item-content": "serving.routes.item_content",
    "console": "serving.routes.console",
    "metrics": "serving.routes.metrics",
    "dashboard": "serving.routes.dashboard",  # issue 17: the live dashboard
    "docs": "serving.routes.docs",  # issue 17: /docs from bundled Swagger UI files (app.py sets docs_url=None)
}
ALL = ",".join(GROUPS)


def router_modules(setting: str) -> list[ModuleType]:
    """The router modules named by the key's comma-separated value, in order, each once; ConfigError naming the key
    for an unknown group, a module that cannot be imported or one without a ``router``."""
    names = list(dict.fromkeys(n.strip() for n in setting.split(",") if n.strip()))
    if not names:
        raise ConfigError(f"{KEY} is empty: name at least one of {ALL}")
    modules = []
    for name in names:
        dotted = GROUPS.get(name, name)
        if dotted == name and "." not in name:
            raise ConfigError(f"{KEY}: unknown endpoint group {name!r}; the groups are {ALL}, or give a module's "
                              "dotted path")
        try:
            module = importlib.import_module(dotted)
        except ImportError as exc:
            raise ConfigError(f"{KEY}: cannot import {dotted} ({exc})") from exc
        if not hasattr(module, "router"):
            raise ConfigError(f"{KEY}: module {dotted} has no FastAPI 'router'")
        modules.append(module)
    return modules
