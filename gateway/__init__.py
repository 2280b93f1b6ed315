"""The HTTP and WebSocket front of StashQL, below the app assembly (``server``).

- ``settings``: what ``stashql serve`` runs with;
- ``services``: the service container (clusters, cache, hub, reviewers, audit log);
- ``views``: the GraphQL view over HTTP and WebSocket;
- ``graphiql``: the GraphiQL page and its assets;
- ``health``: /healthz and /readyz;
- ``limits`` and ``masking``: the strawberry extensions that refuse oversized queries
  and keep everything but domain errors from reaching clients.
"""
