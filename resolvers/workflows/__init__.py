"""Restore workflows: the restoreDatabase plan and runner, resumeDatabaseTraffic's runner,
and the controller that carries each workflow through its steps.

The record model is ``resolvers/reads/workflows.py`` (the read side needs it and may not
depend on this package, which uses the write engine). Entry point for the gateway:
``WorkflowController(cache=..., clients=..., settings=...)`` with ``start()``/``stop()``.
"""
