"""Typed configuration with Oryx's dotted key names."""

from oryxpy.config.loader import KEYS, Config, default_config, env_name, load_config, register_keys
from oryxpy.config.settings import Settings
from oryxpy.config.spec import Key
from oryxpy.config.typed import Hyperparam, setting, subsection

__all__ = [
    "KEYS",
    "Config",
    "Hyperparam",
    "Key",
    "Settings",
    "default_config",
    "env_name",
    "load_config",
    "register_keys",
    "setting",
    "subsection",
]
