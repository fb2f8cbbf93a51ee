"""Reusable test helpers that are not fixtures: network shims such as the latency proxy."""
