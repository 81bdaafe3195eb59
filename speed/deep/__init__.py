"""Two-tower (deep) model: speed model manager."""
