"""Proofs a person can check without trusting the operator.

The registry's audit events become the leaves of an append-only Merkle tree (a
transparency log, :mod:`merkle`, :mod:`log`) whose heads are signed (:mod:`heads`); each
step of a request gets a receipt that proves its event is in the log (:mod:`receipts`);
each dataset gets a signed commitment to the people present in it, from which a person
whose objection holds gets a proof of absence (:mod:`absence`). This package reads the
registry and the datasets; neither depends on it.
"""
