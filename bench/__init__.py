"""Benchmarks of identification quality and speed, runnable offline (`bookimg bench ...`)."""
