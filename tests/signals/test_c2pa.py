"""C2PA and CAWG training-mining assertions in images signed with real manifests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notrain.signals.decision import Verdict
from notrain.signals.media import read_signals, scan_path
from tests.signals import make
from tests.signals.make import Manifest, SigningKit, sign, training_mining

FORMATS: dict[str, Callable[[], bytes]] = {
    "image/jpeg": make.jpeg,
    "image/png": make.png,
    "image/webp": make.webp,
}
LABELS = ["c2pa.training-mining", "cawg.training-mining"]
ENTRIES = ["ai_training", "ai_generative_training", "data_mining"]


def decide_bytes(data: bytes) -> tuple[Verdict, str | None, str | None]:
    from notrain.signals.decision import decide

    findings, error = read_signals(io.BytesIO(data))
    decision = decide(findings, error)
    return decision.decision, decision.signal, decision.evidence


@pytest.mark.parametrize("mime", list(FORMATS))
@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("use", ["notAllowed", "constrained"])
def test_not_allowed_or_constrained_reserves(
    kit: SigningKit, mime: str, label: str, entry: str, use: str
) -> None:
    signed = sign(FORMATS[mime](), mime, Manifest([training_mining({entry: use}, label)]), kit)
    verdict, signal, evidence = decide_bytes(signed.asset)
    assert verdict is Verdict.RESERVED
    assert signal == label.split(".")[0] + "_training_mining"
    assert f"{label.split('.')[0]}.{entry} use={use}" in (evidence or "")


@pytest.mark.parametrize("label", LABELS)
def test_allowed_everywhere_allows(kit: SigningKit, label: str) -> None:
    entries = dict.fromkeys([*ENTRIES, "ai_inference"], "allowed")
    signed = sign(make.jpeg(), "image/jpeg", Manifest([training_mining(entries, label)]), kit)
    assert decide_bytes(signed.asset)[0] is Verdict.ALLOWED


def test_inference_is_not_training(kit: SigningKit) -> None:
    manifest = Manifest([training_mining({"ai_inference": "notAllowed"})])
    signed = sign(make.jpeg(), "image/jpeg", manifest, kit)
    assert decide_bytes(signed.asset) == (Verdict.ALLOWED, None, None)


def test_a_manifest_without_the_assertion_says_nothing(kit: SigningKit) -> None:
    signed = sign(make.png(), "image/png", Manifest([]), kit)
    assert decide_bytes(signed.asset) == (Verdict.ALLOWED, None, None)


def test_a_manifest_that_fails_validation_still_reserves(kit: SigningKit) -> None:
    signed = sign(
        make.jpeg(), "image/jpeg", Manifest([training_mining({"ai_training": "notAllowed"})]), kit
    )
    tampered = bytearray(signed.asset)
    tampered[-20] ^= 0xFF  # pixel data after the manifest: the hard binding no longer matches
    verdict, _, evidence = decide_bytes(bytes(tampered))
    assert verdict is Verdict.RESERVED
    assert "validation Invalid" in (evidence or "")
    assert "assertion.dataHash.mismatch" in (evidence or "")


def test_an_untrusted_signer_is_reported_and_still_reserves(kit: SigningKit) -> None:
    manifest = Manifest([training_mining({"data_mining": "notAllowed"}, "cawg.training-mining")])
    signed = sign(make.webp(), "image/webp", manifest, kit)
    verdict, _, evidence = decide_bytes(signed.asset)
    assert verdict is Verdict.RESERVED
    assert "signingCredential.untrusted" in (evidence or "")


def test_a_reservation_in_an_ingredient_travels(kit: SigningKit) -> None:
    ingredient = sign(
        make.png(),
        "image/png",
        Manifest([training_mining({"ai_training": "notAllowed"}, "cawg.training-mining")]),
        kit,
    )
    derived = sign(
        make.jpeg(),
        "image/jpeg",
        Manifest(
            [training_mining({"ai_training": "allowed"})],
            ingredients=[(ingredient.asset, "image/png")],
        ),
        kit,
    )
    verdict, signal, evidence = decide_bytes(derived.asset)
    assert (verdict, signal) == (Verdict.RESERVED, "cawg_training_mining")
    assert "(ingredient)" in (evidence or "")


def test_a_remote_manifest_is_not_fetched_and_is_unknown(kit: SigningKit) -> None:
    manifest = Manifest(
        [training_mining({"ai_training": "notAllowed"})],
        remote_url="http://127.0.0.1:9/manifest.c2pa",
    )
    signed = sign(make.jpeg(), "image/jpeg", manifest, kit)
    verdict, signal, evidence = decide_bytes(signed.asset)
    assert (verdict, signal) == (Verdict.UNKNOWN, "c2pa_training_mining")
    assert "not fetched (offline)" in (evidence or "")


def test_a_sidecar_manifest_beside_the_file_is_read(kit: SigningKit, tmp_path: Path) -> None:
    manifest = Manifest(
        [training_mining({"ai_generative_training": "notAllowed"})],
        remote_url="http://127.0.0.1:9/photo.c2pa",
    )
    signed = sign(make.jpeg(), "image/jpeg", manifest, kit)
    (tmp_path / "photo.jpg").write_bytes(signed.asset)
    (tmp_path / "photo.c2pa").write_bytes(signed.manifest)
    decision = scan_path(tmp_path / "photo.jpg")
    assert decision.decision is Verdict.RESERVED
    assert "sidecar .c2pa manifest" in (decision.evidence or "")


def test_xmp_and_c2pa_in_one_file_are_both_read(kit: SigningKit) -> None:
    source = make.jpeg(make.mining("DMI-ALLOWED"))
    signed = sign(
        source, "image/jpeg", Manifest([training_mining({"ai_training": "notAllowed"})]), kit
    )
    findings, _ = read_signals(io.BytesIO(signed.asset))
    assert sorted((f.signal, f.verdict) for f in findings) == [
        ("c2pa_training_mining", Verdict.RESERVED),
        ("iptc_data_mining", Verdict.ALLOWED),
    ]


def test_a_damaged_manifest_is_an_error_not_an_allow(kit: SigningKit) -> None:
    signed = sign(
        make.jpeg(), "image/jpeg", Manifest([training_mining({"ai_training": "allowed"})]), kit
    )
    data = bytearray(signed.asset)
    at = data.index(b"jumb")  # the JUMBF superbox of the manifest store
    data[at + 40 : at + 200] = bytes(160)
    verdict, _, evidence = decide_bytes(bytes(data))
    assert verdict is Verdict.ERROR, evidence


def test_the_c2pa_reader_runs_only_when_a_manifest_may_be_there(
    kit: SigningKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notrain.signals import c2pa as c2pa_signals

    calls: list[str] = []
    real = c2pa_signals.read

    def spy(handle: Any, mime: str, sidecar: bytes | None = None) -> Any:
        calls.append(mime)
        return real(handle, mime, sidecar)

    monkeypatch.setattr(c2pa_signals, "read", spy)
    for source in (make.jpeg(), make.png(make.mining("DMI-ALLOWED")), make.webp()):
        read_signals(io.BytesIO(source))
    assert calls == []
    manifest = Manifest([training_mining({"ai_training": "notAllowed"})])
    for mime, maker in FORMATS.items():
        read_signals(io.BytesIO(sign(maker(), mime, manifest, kit).asset))
    assert calls == list(FORMATS)
