"""Old home of the request context, kept only for schema/limits.py and schema/errors.py.

Those two move to gateway/ in a parallel change; once they import
``resolvers.reads.context`` this module goes. New code imports ``resolvers.reads.context``.
"""

from resolvers.reads.context import RequestContext

__all__ = ["RequestContext"]
