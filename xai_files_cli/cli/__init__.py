"""Typer command tree: parse flags, call core, hand results to output."""
