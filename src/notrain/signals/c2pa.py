"""Training and mining assertions in C2PA manifests: ``c2pa.training-mining`` and CAWG's
``cawg.training-mining``.

Each assertion holds ``entries`` keyed ``<ns>.ai_training``, ``<ns>.ai_generative_training``,
``<ns>.data_mining`` and ``<ns>.ai_inference``, each with a ``use`` of ``allowed``,
``notAllowed`` or ``constrained``. ``notAllowed`` or ``constrained`` on either training
entry or on data mining reserves the item ("constrained" means: not without a licence).
Inference is not training and is not read.

Manifests are read with c2pa-python, offline: no remote manifest, no OCSP, no network host.
Validation does not decide. A manifest that fails it (untrusted or unknown signer, hash
mismatch after an edit) is read like any other: a training assertion in it that reserves
still reserves — the statement was made, and an edit does not withdraw it — and one that
allows still allows; without a training assertion it says nothing, and the item is decided
by its other signals. Either way the validation state and failure codes go into the
evidence. A store the library cannot parse at all is ``error``.

Every manifest in the store counts, the active one and its ingredients', since an
ingredient's reservation travels with the pixels it contributed. A manifest stored only
remotely cannot be read offline: that is ``unknown``, unless a ``.c2pa`` sidecar supplies
it, and then the sidecar decides. When the library refuses a file (a structure it will not
parse) that holds no C2PA manifest store at all, there was nothing to read: the refusal is
no error, and the file is judged by its other signals, whatever its format.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, BinaryIO

from notrain.signals.decision import Finding, Signal, Verdict

OFFLINE = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "core": {"allowed_network_hosts": []},
}
LABEL = re.compile(r"^(c2pa|cawg)\.training-mining(?:\.v\d+)?(?:__\d+)?$")
RESERVING_ENTRIES = {"ai_training", "ai_generative_training", "data_mining"}
RESERVING_USES = {"notallowed", "constrained"}


@cache
def _context() -> Any:
    import c2pa

    return c2pa.Context.from_dict(OFFLINE)


# The JUMBF description of a C2PA manifest store: its type UUID (ISO 19566-5, C2PA §11.1).
STORE_UUID = b"c2pa" + bytes.fromhex("00110010800000aa00389b71")
_BLOCK = 1 << 20


def read(handle: BinaryIO, mime: str, sidecar: bytes | None = None) -> list[Finding]:
    """Findings from the C2PA manifest store embedded in ``handle`` (and a sidecar, if any)."""
    findings = _read_store(handle, mime, None)
    if sidecar is not None:
        handle.seek(0)
        beside = _read_store(handle, mime, sidecar)
        if not any(f.verdict in (Verdict.ERROR, Verdict.UNKNOWN) for f in beside):
            # The sidecar was read: it is the remote manifest the file points to.
            findings = [f for f in findings if f.verdict is not Verdict.UNKNOWN]
        findings += beside
    return findings


def holds_store(handle: BinaryIO) -> bool:
    """Whether the bytes hold a C2PA manifest store anywhere, read block by block."""
    handle.seek(0)
    tail = b""
    while block := handle.read(_BLOCK):
        if STORE_UUID in tail + block:
            return True
        tail = block[-(len(STORE_UUID) - 1) :]
    return False


def _read_store(handle: BinaryIO, mime: str, sidecar: bytes | None) -> list[Finding]:
    import c2pa

    source = "sidecar .c2pa manifest" if sidecar is not None else "C2PA manifest"
    try:
        with c2pa.Reader(mime, handle, manifest_data=sidecar, context=_context()) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or "unknown"
    except c2pa.C2paError.ManifestNotFound:
        return []
    except c2pa.C2paError as exc:
        message = str(exc)
        if isinstance(exc, c2pa.C2paError.RemoteManifest) or message.startswith("Remote"):
            evidence = f"{source} is remote and was not fetched (offline): {message}"
            return [Finding(Signal.C2PA_TRAINING_MINING, Verdict.UNKNOWN, evidence)]
        if sidecar is None and not holds_store(handle):
            return []  # refused, but there was no manifest to read
        evidence = f"{source} could not be read: {message}"
        return [Finding(Signal.C2PA_TRAINING_MINING, Verdict.ERROR, evidence)]
    return list(_assertions(store, state, source))


def _assertions(store: dict[str, Any], state: str, source: str) -> list[Finding]:
    failures = [str(s.get("code")) for s in store.get("validation_status") or []]
    validation = f"validation {state}" + (f": {', '.join(failures[:4])}" if failures else "")
    active = store.get("active_manifest")
    findings: list[Finding] = []
    for label, manifest in (store.get("manifests") or {}).items():
        role = "active" if label == active else "ingredient"
        for assertion in manifest.get("assertions") or []:
            match = LABEL.match(str(assertion.get("label", "")))
            if not match:
                continue
            signal = (
                Signal.CAWG_TRAINING_MINING if match[1] == "cawg" else Signal.C2PA_TRAINING_MINING
            )
            where = f"{source} {label} ({role}) {assertion['label']}"
            # The assertion's data is whatever the signer wrote: its shape is not trusted.
            data = assertion.get("data")
            entries = (data.get("entries") if isinstance(data, dict) else data) or {}
            if not isinstance(entries, dict):
                evidence = f"{where} is malformed (entries is not an object); {validation}"
                findings.append(Finding(signal, Verdict.ERROR, evidence))
                continue
            for key, entry in entries.items():
                if str(key).rsplit(".", 1)[-1] not in RESERVING_ENTRIES:
                    continue
                if not isinstance(entry, dict):
                    evidence = f"{where} {key} is malformed (not an object); {validation}"
                    findings.append(Finding(signal, Verdict.ERROR, evidence))
                    continue
                use = str(entry.get("use", ""))
                constraint = entry.get("constraint_info")
                evidence = (
                    f"{where} {key} use={use}"
                    + (f" ({constraint})" if constraint else "")
                    + f"; {validation}"
                )
                if use.lower() in RESERVING_USES:
                    findings.append(Finding(signal, Verdict.RESERVED, evidence))
                elif use.lower() == "allowed":
                    findings.append(Finding(signal, Verdict.ALLOWED, evidence))
    return findings
