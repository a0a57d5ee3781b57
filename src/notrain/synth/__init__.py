"""Synthetic inputs for notrain: a platform's accounts and content, and a registry snapshot."""

from notrain.synth.names import PEOPLE
from notrain.synth.platform import ACCOUNTS_FILE, CONTENT_FILE, SynthResult, synthesize_platform
from notrain.synth.snapshot import DEFAULT_AS_OF_RANGE, SNAPSHOT_FILE, synthesize_snapshot

__all__ = [
    "ACCOUNTS_FILE",
    "CONTENT_FILE",
    "DEFAULT_AS_OF_RANGE",
    "PEOPLE",
    "SNAPSHOT_FILE",
    "SynthResult",
    "synthesize_platform",
    "synthesize_snapshot",
]
