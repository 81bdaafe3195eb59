"""The speed layer: folds each new interaction into the current model and publishes the changed vectors."""
