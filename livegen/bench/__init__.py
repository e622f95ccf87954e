"""Benchmarks that print figures (never timed asserts): engine, style nets, OSC flood."""
