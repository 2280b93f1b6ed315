"""The read side: what each Query field and each object field returns.

``graph`` is the viewer's view of the shared cache; the other modules are pure,
synchronous functions over it (lists and paging, joins, backup status, policies,
methods, recovery windows), plus the request context every resolver receives.
Nothing here imports ``resolvers.writes`` (an import-linter contract).
"""
