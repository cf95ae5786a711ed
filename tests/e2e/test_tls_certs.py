"""The harness's pulumi-tls realisation: a CA that really signs, unknown inputs refused,
replacement and early renewal as terraform-provider-tls v4 plans them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from tests.e2e import plan, tls_certs
from tests.e2e.test_harness_rules import recorded

pytestmark = pytest.mark.e2e


def test_a_locally_signed_certificate_chains_to_its_ca() -> None:
    def key(name: str) -> str:
        r = recorded(tls_certs.PRIVATE_KEY, name, {}, [])
        return tls_certs.realise(r, {"algorithm": "ECDSA", "ecdsaCurve": "P256"})["privateKeyPem"]

    ca_key, leaf_key = key("ca"), key("leaf")
    ca = tls_certs.realise(
        recorded(tls_certs.SELF_SIGNED, "ca", {}, []),
        {
            "privateKeyPem": ca_key,
            "subject": {"commonName": "test CA"},
            "isCaCertificate": True,
            "validityPeriodHours": 24,
            "allowedUses": ["cert_signing"],
        },
    )["certPem"]
    csr = tls_certs.realise(
        recorded(tls_certs.CERT_REQUEST, "csr", {}, []),
        {"privateKeyPem": leaf_key, "subject": {"commonName": "srv"}, "dnsNames": ["srv"]},
    )["certRequestPem"]
    leaf = tls_certs.realise(
        recorded(tls_certs.LOCALLY_SIGNED, "leaf", {}, []),
        {
            "certRequestPem": csr,
            "caPrivateKeyPem": ca_key,
            "caCertPem": ca,
            "validityPeriodHours": 24,
            "allowedUses": ["digital_signature", "server_auth", "client_auth"],
        },
    )["certPem"]
    issued = x509.load_pem_x509_certificate(leaf.encode())
    issued.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.encode()))
    sans = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["srv"]


def test_unmapped_tls_inputs_fail_loudly() -> None:
    r = recorded(tls_certs.PRIVATE_KEY, "rsa", {}, [])
    with pytest.raises(plan.UnmappedInput, match="ECDSA"):
        tls_certs.realise(r, {"algorithm": "RSA"})
    with pytest.raises(plan.UnmappedInput):
        tls_certs.realise(r, {"algorithm": "ECDSA", "ecdsaCurve": "P256", "rsaBits": 2048})


def _leaf(
    validity_h: int, early_h: int | None = None
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    ca_key = tls_certs.realise(
        recorded(tls_certs.PRIVATE_KEY, "k", {}, []), {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
    )["privateKeyPem"]
    r = recorded(tls_certs.SELF_SIGNED, "ca", {}, [])
    inputs: dict[str, Any] = {
        "privateKeyPem": ca_key,
        "subject": {"commonName": "test CA"},
        "isCaCertificate": True,
        "validityPeriodHours": validity_h,
        "allowedUses": ["cert_signing"],
        **({"earlyRenewalHours": early_h} if early_h is not None else {}),
    }
    return r, inputs, tls_certs.realise(r, inputs)


def test_changing_early_renewal_hours_alone_is_an_update_in_state() -> None:
    """terraform-provider-tls: early_renewal_hours has no RequiresReplace."""
    r, inputs, outputs = _leaf(24)
    diff = tls_certs.diff(r, inputs, outputs, {**inputs, "earlyRenewalHours": 2})
    assert diff.changed == ("earlyRenewalHours",) and not diff.replace
    assert not tls_certs.diff(r, inputs, outputs, {**inputs, "earlyRenewalHours": 0}).changed


def test_every_other_certificate_input_forces_a_new_one() -> None:
    r, inputs, outputs = _leaf(24)
    for key, value in (("validityPeriodHours", 48), ("subject", {"commonName": "other"})):
        assert tls_certs.diff(r, inputs, outputs, {**inputs, key: value}).replace, key


def test_a_certificate_in_its_early_renewal_window_is_replaced_and_read_marks_it() -> None:
    """ModifyPlan: replace once now >= validity_end_time - early_renewal_hours."""
    r, inputs, outputs = _leaf(validity_h=10, early_h=4)
    end = datetime.fromisoformat(outputs["validityEndTime"])
    before, inside = end - timedelta(hours=5), end - timedelta(hours=3)
    assert not tls_certs.diff(r, inputs, outputs, inputs, now=before).changed
    assert tls_certs.diff(r, inputs, outputs, inputs, now=inside).replace_keys == (
        "readyForRenewal",
    )
    assert tls_certs.read(r, inputs, outputs, now=before)["readyForRenewal"] is False
    assert tls_certs.read(r, inputs, outputs, now=inside)["readyForRenewal"] is True
    # Past the end with no early window at all: expired, replaced as well.
    r0, inputs0, outputs0 = _leaf(validity_h=1)
    late = datetime.fromisoformat(outputs0["validityEndTime"]) + timedelta(seconds=1)
    assert tls_certs.diff(r0, inputs0, outputs0, inputs0, now=late).replace
