"""The vector serving model that every dot-product model (ALS, two-tower, hybrid) loads: user and item vectors in
memory, compact ID tables and known items, approximate indexes, and the queries over them."""
