"""Experiments: the `shopgym` command, run folders, suites (compare, transfer, continual, sweep, tune) and
the scripts behind docs/results.md."""
