"""Strawberry types of the write contract (``shared/contract/pending/write.graphql``).

One module per part of the contract: ``conventions`` (plans, warnings, user errors,
the MutationPayload interface and the inputs every family shares), ``storage``,
``policies``, ``hooks`` and ``archivers`` (what admins manage), ``backup`` (what users
turn on for a database); ``convert`` turns inputs into the planners' dataclasses and
plans into payload fields. The Mutation root is wired elsewhere.
"""
