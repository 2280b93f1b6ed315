"""The client side of ``stashql``: commands that talk to a running gateway.

``config`` finds the gateway and the token, ``transport`` speaks GraphQL over HTTP and
graphql-transport-ws, ``render`` prints tables, JSON or YAML, ``exits`` names the exit
codes, ``app`` holds what every client command shares (its options, the confirmation
before a change, the progress of a wait). The commands themselves are in ``cli.commands``.
"""
