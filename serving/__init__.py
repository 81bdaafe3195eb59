"""Serving layer: Oryx's ALS REST API on FastAPI, answering from vectors held in memory."""
