"""The ALS serving model: user and item vectors in memory, their manager, and the queries over them."""
