"""The ALS serving model manager: reads ALS's PMML and update messages into a serving.vectors model."""
