"""Runnable examples that put the parts together (see docs/ml.md for the fraud example)."""
