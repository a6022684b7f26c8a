"""Benchmarks (R0-R1): paired, interleaved trials of FastPath variants on a real corpus.

``python -m benchmarks run`` is the entry point (``benchmarks.cli``). Data flows
corpus (``corpus``) -> questions and prepared trees (``oracle``) -> units and
their ABBA order (``schedule``) -> isolated worker processes per arm (``arms``,
``worker``) -> trials -> summaries (``summary``) -> the versioned artifact
(``artifact``, documented in ``SCHEMA.md``).
"""
