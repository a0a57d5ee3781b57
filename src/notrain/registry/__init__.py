"""The registry: the system of record of objections, consents, access and erasure requests.

Requests come in (``intake``), are verified by an e-mail code (``verification``), routed
or decided through an explicit state machine (``states``, ``decisions``) within legal
deadlines (``deadlines``), every step recorded in a hash-chained audit trail (``audit``),
and the effective decisions exported as the snapshot the builder reads (``export``).
``service.Registry`` puts it together for the portal and the CLI.
"""
