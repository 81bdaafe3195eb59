"""Typed configuration with Oryx's dotted key names."""

from oryxpy.config.loader import KEYS, Config, default_config, env_name, load_config, register_keys
from oryxpy.config.spec import Key

__all__ = ["KEYS", "Config", "Key", "default_config", "env_name", "load_config", "register_keys"]
