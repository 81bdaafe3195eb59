"""Stream analytics beside the model layers: the A/B test join of served lists with later input, and its statistics."""
