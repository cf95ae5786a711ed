"""The harness's pulumi-tls realisation: a CA that really signs, unknown inputs refused."""

from __future__ import annotations

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
