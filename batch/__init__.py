"""Batch layer: generation runner, model updates (ALS on the local engine), evaluation and hyper-parameter search."""
