"""The policy: what a corpus build may keep, read from TOML and explained in plain English."""

from notrain.policy.explain import explain_policy
from notrain.policy.loader import (
    DEFAULT_SOURCE,
    LoadedPolicy,
    default_policy_text,
    load_default_policy,
    load_policy,
    load_policy_text,
)
from notrain.policy.model import (
    REASON_ORDER,
    WILDCARD,
    AuthorRules,
    ContentRules,
    ExclusionReason,
    Jurisdiction,
    ObjectionRules,
    Policy,
    RedactionRules,
    Regime,
    ThirdPartyRules,
)

__all__ = [
    "DEFAULT_SOURCE",
    "REASON_ORDER",
    "WILDCARD",
    "AuthorRules",
    "ContentRules",
    "ExclusionReason",
    "Jurisdiction",
    "LoadedPolicy",
    "ObjectionRules",
    "Policy",
    "RedactionRules",
    "Regime",
    "ThirdPartyRules",
    "default_policy_text",
    "explain_policy",
    "load_default_policy",
    "load_policy",
    "load_policy_text",
]
