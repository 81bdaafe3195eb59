"""Two-tower (deep) model: batch update class and numpy trainer."""
