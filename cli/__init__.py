"""The ``stashql`` command: one module per command in ``cli/commands/``.

``cli.main.main`` is the entry point (``[project.scripts]``); ``python -m cli`` runs it too.
"""
