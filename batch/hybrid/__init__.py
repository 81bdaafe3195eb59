"""The ALS + two-tower hybrid as a batch update class (issue 17), one arm of an A/B test like any other model."""
