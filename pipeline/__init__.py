"""The promotion pipeline's orchestrator: plans and runs the nox sessions in order.

It needs the contracts layer (orjson) beside nox: ``nox -s pipeline`` runs it in a
session of its own with the ``pipeline`` group and nox installed, and ``invoke
promote`` in invoke's environment, which then needs that group too. Every stage
runs in its own nox session (and so its own virtualenv).
"""
