"""ALS batch update on the local engine."""
