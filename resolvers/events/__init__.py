"""The subscription side: phase-change streams fed by the shared informers.

``stream`` turns informer changes into meaningful, access-checked events;
``subscriptions`` opens one such stream for a request context (WebSocket only,
bounded per connection, access re-decided as it runs).
"""
