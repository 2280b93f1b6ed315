"""Old home of the page bounds, kept only for schema/limits.py.

It moves to gateway/ in a parallel change; once it imports ``resolvers.reads.paging``
this module goes. New code imports ``resolvers.reads.paging``.
"""

from resolvers.reads.paging import DEFAULT_PAGE, MAX_PAGE

__all__ = ["DEFAULT_PAGE", "MAX_PAGE"]
