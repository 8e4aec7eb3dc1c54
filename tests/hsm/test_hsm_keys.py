"""Key generation on a real SoftHSM token, with the attributes read back from the token."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import HsmError, NotFound, Refused
from s1spki.hsm import Hsm, KeyAttributes, open_session_count

if TYPE_CHECKING:
    from conftest import SoftToken

pytestmark = pytest.mark.hsm


def test_generated_key_is_sensitive_sign_only_and_never_extractable(hsm: Hsm) -> None:
    attributes = hsm.generate_ec_key("root-ca-1")
    assert attributes == hsm.key_attributes("root-ca-1")
    assert attributes.label == "root-ca-1"
    assert len(bytes.fromhex(attributes.id)) == 16
    assert (attributes.key_type, attributes.curve) == ("EC", "secp256r1")
    assert attributes.sensitive and attributes.always_sensitive
    assert not attributes.extractable and attributes.never_extractable
    assert attributes.local and attributes.token and attributes.private
    assert attributes.sign
    assert not (attributes.decrypt or attributes.unwrap or attributes.derive)
    assert attributes.is_protected_signing_key
    assert attributes.as_dict()["never_extractable"] is True
    assert set(attributes.as_dict()) == set(KeyAttributes.__dataclass_fields__)


def test_ids_are_random_and_keys_listed(hsm: Hsm) -> None:
    first, second = hsm.generate_ec_key("a-1"), hsm.generate_ec_key("b-1")
    assert first.id != second.id
    assert hsm.key_labels() == ("a-1", "b-1")
    assert hsm.has_key("a-1") and not hsm.has_key("c-1")


def test_public_key_matches_the_token_key(hsm: Hsm, ca_key_label: str) -> None:
    public = hsm.public_key(ca_key_label)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, ec.SECP256R1)
    assert hsm.signing_key(ca_key_label).public_key() == public


def test_duplicate_label_is_refused_in_one_line(hsm: Hsm, ca_key_label: str) -> None:
    with pytest.raises(Refused) as info:
        hsm.generate_ec_key(ca_key_label)
    message = str(info.value)
    assert "\n" not in message
    assert f"'{ca_key_label}'" in message and "'s1spki-test'" in message
    assert hsm.key_labels() == (ca_key_label,)


@pytest.mark.parametrize("label", ["", " lead", "has space", "x" * 65, "semi;colon"])
def test_unsafe_labels_are_refused(hsm: Hsm, label: str) -> None:
    with pytest.raises(Refused):
        hsm.generate_ec_key(label)


def test_missing_key_is_not_found(hsm: Hsm) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        hsm.key_attributes("nope")
    with pytest.raises(NotFound):
        hsm.signing_key("nope")
    with pytest.raises(NotFound):
        hsm.public_key("nope")


def test_token_info(hsm: Hsm) -> None:
    info = hsm.token_info()
    assert info.label == "s1spki-test"
    assert info.manufacturer == "SoftHSM project"
    assert info.model.startswith("SoftHSM")
    assert info.serial and info.serial == info.serial.strip()


def test_handles_share_one_session_and_close_is_idempotent(soft_token: SoftToken) -> None:
    first = Hsm.connect(soft_token.settings)
    second = Hsm.connect(soft_token.settings)
    assert open_session_count() == 1
    first.generate_ec_key("shared")
    first.close()
    first.close()
    assert second.has_key("shared")  # the other handle keeps the login
    with pytest.raises(HsmError, match="closed"):
        first.has_key("shared")
    second.close()
    assert open_session_count() == 0
    with Hsm.connect(soft_token.settings) as third:
        assert third.has_key("shared")
    assert open_session_count() == 0


def test_keys_persist_across_close_all(soft_token: SoftToken) -> None:
    with Hsm.connect(soft_token.settings) as hsm:
        created = hsm.generate_ec_key("persisted")
    Hsm.close_all(finalize=True)
    with Hsm.connect(soft_token.settings) as hsm:
        assert hsm.key_attributes("persisted") == created
