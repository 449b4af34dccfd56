"""Helpers of ``bench/gateway_bench.py``: the load generator, the servers under test, profiling.

This is a folder, not a ``bench/*.py`` file, so ``make bench`` does not run these modules
on their own.
"""
