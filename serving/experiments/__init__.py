"""A/B tests between model variants in one serving layer: config, stable assignment, per-variant managers and update
consumers, served-items publishing and the results endpoint (issue 17)."""
