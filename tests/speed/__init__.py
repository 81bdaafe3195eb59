"""Tests of the speed layer."""
