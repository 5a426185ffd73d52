"""C2SP signed notes and checkpoints, against the Go reference implementation's vector."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from distillguard.errors import DistillguardError, VerificationError
from distillguard.ledger import note

# golang.org/x/mod/sumdb/note test vector (public test data of the reference code).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n"
)


def go_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[-1])  # the key itself may hold "+"
    assert seed[0] == 0x01
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def test_go_reference_vector_byte_for_byte() -> None:
    key = go_key()
    assert note.verifier_key("PeterNeumann", key.public_key()) == GO_VKEY
    assert note.key_id("PeterNeumann", key.public_key()).hex() == "c74f20a3"
    signed = note.sign_note(GO_TEXT, "PeterNeumann", key)
    assert signed == GO_TEXT + "\n" + GO_SIG
    name, pub = note.parse_verifier_key(GO_VKEY)
    assert note.open_note(signed, name, pub) == GO_TEXT


def test_tampered_or_foreign_notes_are_rejected() -> None:
    name, pub = note.parse_verifier_key(GO_VKEY)
    signed = GO_TEXT + "\n" + GO_SIG
    with pytest.raises(VerificationError, match="bad signature"):
        note.open_note(signed.replace("cryptography", "cryptographY"), name, pub)
    with pytest.raises(VerificationError, match="no signature by"):
        note.open_note(signed, "SomeoneElse", pub)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(VerificationError, match="key ID differs"):
        note.open_note(signed, name, other)
    with pytest.raises(VerificationError, match="truncated"):
        note.open_note(signed[:-1], name, pub)
    with pytest.raises(VerificationError, match="no blank line"):
        note.open_note(GO_TEXT, name, pub)


def test_malformed_verifier_keys() -> None:
    for bad in (GO_VKEY[:-1], GO_VKEY.replace("c74f20a3", "c74f20a4"), "a+b", "x y+00+AA=="):
        with pytest.raises(DistillguardError):
            note.parse_verifier_key(bad)


def test_checkpoint_round_trip_and_origin_binding() -> None:
    key = Ed25519PrivateKey.generate()
    cp = note.Checkpoint("example.com/log", 20852163, bytes(range(32)))
    text = note.sign_checkpoint(cp, key)
    lines = text.split("\n")
    assert lines[:3] == ["example.com/log", "20852163", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3] == "" and lines[4].startswith("— example.com/log ")
    assert note.open_checkpoint(text, key.public_key(), "example.com/log") == cp
    with pytest.raises(VerificationError, match=r"not 'other\.example/log'"):
        note.open_checkpoint(text, key.public_key(), "other.example/log")
    with pytest.raises(VerificationError):
        note.open_checkpoint(text.replace("20852163", "20852164"), key.public_key())


@pytest.mark.parametrize(
    "body",
    ["o\n", "o\n01\nAAAA\n", "o\n1\nnot base64!\n", "o\n1\nAAAA\n", "o\n-1\n" + "A" * 43 + "=\n"],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        note.parse_checkpoint_text(body)
