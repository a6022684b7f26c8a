"""The promotion pipeline's orchestrator: plans and runs the nox sessions in order.

Stdlib only, so that ``invoke promote`` can drive it from any environment that
has nox; every stage runs in its own nox session (and so its own virtualenv).
"""
