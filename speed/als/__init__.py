"""The ALS speed model and its manager (Oryx's ALSSpeedModel / ALSSpeedModelManager)."""
