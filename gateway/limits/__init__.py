"""Query limits: size, depth, aliases, page size, introspection and a fan-out cost.

Every limit is checked before a resolver runs, on the parsed document only (no I/O), and
each refusal is a ``GatewayError`` so its message and ``extensions.code`` reach the client
(the server masks every other error).

The order is cheapest first and each step bounds the next one's work:

1. parsing: the document's length and its number of tokens and comments (the parser stops
   at the limit, so a huge document costs no more than a small one);
2. before the standard validation rules: introspection, aliases, depth, ``first`` and
   cost, each a single walk over the document (fragments are measured once, however often
   they are spread), and the first that fails refuses the query without running the
   standard rules at all;
3. with the standard rules: graphql-core's introspection depth rule, given a code
   (``fields`` inside ``type`` inside ``fields``... grows a response exponentially; depth
   and cost skip introspection, which is answered from the in-memory schema).

The cost estimates the work a query asks for and is reported in every response as
``extensions.cost``: each field costs 1, and the selection of a list costs once per item
it may return, multiplied through nested lists. See ``gateway.limits.cost`` for the
model.
"""

from __future__ import annotations

from gateway.limits.checks import QueryLimits, limit_extensions
from gateway.limits.settings import Limits

__all__ = ["Limits", "QueryLimits", "limit_extensions"]
