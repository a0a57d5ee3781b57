"""The registry: the system of record of objections, consents, access and erasure requests."""
