"""pulumi-tls resources realised with `cryptography` (test infrastructure, see harness.py).

pulumi-tls wraps hashicorp/terraform-provider-tls, which generates keys and
certificates locally with Go's crypto/x509: nothing reaches a server, so doing the same
with `cryptography` is faithful. Modelled on that provider's resources:

| resource | inputs mapped | outputs |
|---|---|---|
| tls.PrivateKey | algorithm (ECDSA only), ecdsaCurve (P256) | privateKeyPem (SEC1 "EC PRIVATE KEY", as Go's MarshalECPrivateKey), publicKeyPem |
| tls.SelfSignedCert | privateKeyPem, subject.commonName, isCaCertificate, validityPeriodHours, earlyRenewalHours, allowedUses, dnsNames | certPem |
| tls.CertRequest | privateKeyPem, subject.commonName, dnsNames | certRequestPem |
| tls.LocallySignedCert | certRequestPem, caPrivateKeyPem, caCertPem, validityPeriodHours, earlyRenewalHours, allowedUses, isCaCertificate | certPem |

allowed_uses → KeyUsage / ExtendedKeyUsage as the provider names them (cert_signing,
crl_signing, digital_signature, key_encipherment, server_auth, client_auth). Any other
input or value fails loudly (plan.UnmappedInput).

Lifecycle (hashicorp/terraform-provider-tls v4, internal/provider/): which input change
replaces is `plan.TLS_RULES` (every one but early_renewal_hours). Certificates also
record validity_start_time / validity_end_time (RFC 3339) and ready_for_renewal; their
`ModifyPlan` (common_cert.go, `modifyPlanIfCertificateReadyForRenewal`) asks for a
replacement once `now >= validity_end_time - early_renewal_hours` (the planned
early_renewal_hours), and `Read` (`modifyStateIfCertificateReadyForRenewal`) sets
ready_for_renewal=true in state then. `Delete` is a no-op for every tls resource.
"""  # noqa: E501 - a table reads better unwrapped

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e import plan
from tests.support.program import Resource

PRIVATE_KEY = plan.TLS_PRIVATE_KEY
SELF_SIGNED = plan.TLS_SELF_SIGNED
CERT_REQUEST = plan.TLS_CERT_REQUEST
LOCALLY_SIGNED = plan.TLS_LOCALLY_SIGNED
TYPES = (PRIVATE_KEY, SELF_SIGNED, CERT_REQUEST, LOCALLY_SIGNED)
CERTIFICATES = (SELF_SIGNED, LOCALLY_SIGNED)
CERT_KEYS = {"validityPeriodHours", "earlyRenewalHours", "allowedUses", "isCaCertificate"}
_KEY_USAGE = {
    "digital_signature",
    "key_encipherment",
    "cert_signing",
    "crl_signing",
}
_EXT_USAGE = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


def diff(
    r: Resource,
    old_inputs: dict[str, Any],
    old_outputs: dict[str, Any],
    new_inputs: dict[str, Any],
    now: datetime | None = None,
) -> plan.Diff:
    """The provider's plan: schema replacements, plus renewal inside the early window."""
    schema = plan.schema_diff(r, old_inputs, new_inputs)
    if r.type in CERTIFICATES and _ready_for_renewal(old_outputs, new_inputs, now):
        return plan.Diff(
            (*schema.changed, "readyForRenewal"), (*schema.replace_keys, "readyForRenewal")
        )
    return schema


def read(
    r: Resource, inputs: dict[str, Any], outputs: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """`Read`: state as it is, ready_for_renewal set once the early window has begun."""
    if r.type in CERTIFICATES and _ready_for_renewal(outputs, inputs, now):
        return {**outputs, "readyForRenewal": True}
    return outputs


def _ready_for_renewal(
    outputs: dict[str, Any], inputs: dict[str, Any], now: datetime | None
) -> bool:
    end = datetime.fromisoformat(str(outputs["validityEndTime"]))
    early = timedelta(hours=int(inputs.get("earlyRenewalHours") or 0))
    return (now or datetime.now(UTC)) >= end - early


def realise(r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
    if r.type == PRIVATE_KEY:
        plan.check_keys(r, inputs, {"algorithm", "ecdsaCurve"})
        if inputs.get("algorithm") != "ECDSA" or inputs.get("ecdsaCurve", "P224") != "P256":
            raise plan.UnmappedInput(r, "algorithm/ecdsaCurve (only ECDSA P256)", ["ECDSA"])
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"id": secrets.token_hex(20), "privateKeyPem": pem, "publicKeyPem": public.decode()}
    if r.type == CERT_REQUEST:
        plan.check_keys(r, inputs, {"privateKeyPem", "subject", "dnsNames"})
        key = _key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(r, inputs))
        if inputs.get("dnsNames"):
            builder = builder.add_extension(_sans(inputs["dnsNames"]), critical=False)
        csr = builder.sign(key, hashes.SHA256())
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        return {"id": secrets.token_hex(20), "certRequestPem": pem}
    if r.type == SELF_SIGNED:
        plan.check_keys(r, inputs, {"privateKeyPem", "subject", "dnsNames", *CERT_KEYS})
        key = _key(inputs["privateKeyPem"])
        subject = _subject(r, inputs)
        return _cert(
            r,
            inputs,
            subject=subject,
            issuer=subject,
            public_key=key.public_key(),
            signer=key,
            dns_names=inputs.get("dnsNames"),
        )
    if r.type == LOCALLY_SIGNED:
        plan.check_keys(r, inputs, {"certRequestPem", "caPrivateKeyPem", "caCertPem", *CERT_KEYS})
        csr = x509.load_pem_x509_csr(str(inputs["certRequestPem"]).encode())
        ca = x509.load_pem_x509_certificate(str(inputs["caCertPem"]).encode())
        names = [
            name
            for e in csr.extensions
            if isinstance(e.value, x509.SubjectAlternativeName)
            for name in e.value.get_values_for_type(x509.DNSName)
        ]
        return _cert(
            r,
            inputs,
            subject=csr.subject,
            issuer=ca.subject,
            public_key=csr.public_key(),
            signer=_key(inputs["caPrivateKeyPem"]),
            dns_names=names,
        )
    raise plan.UnmappedInput(r, "<resource type>", TYPES)


def _key(pem: object) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(str(pem).encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _subject(r: Resource, inputs: dict[str, Any]) -> x509.Name:
    subject = dict(inputs.get("subject") or {})
    plan.check_keys(r, subject, {"commonName"}, "subject.")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(subject["commonName"]))])


def _sans(names: list[str]) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([x509.DNSName(str(n)) for n in names])


def _cert(
    r: Resource,
    inputs: dict[str, Any],
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: Any,
    signer: ec.EllipticCurvePrivateKey,
    dns_names: list[str] | None,
) -> dict[str, Any]:
    uses = [str(u) for u in inputs.get("allowedUses") or []]
    unknown = [u for u in uses if u not in _KEY_USAGE and u not in _EXT_USAGE]
    if unknown:
        raise plan.UnmappedInput(r, f"allowedUses {unknown}", [*_KEY_USAGE, *_EXT_USAGE])
    now = datetime.now(UTC)
    is_ca = bool(inputs.get("isCaCertificate"))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(hours=int(inputs["validityPeriodHours"])))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in uses,
                content_commitment=False,
                key_encipherment="key_encipherment" in uses,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign="cert_signing" in uses,
                crl_sign="crl_signing" in uses,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    ext = [_EXT_USAGE[u] for u in uses if u in _EXT_USAGE]
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    if dns_names:
        builder = builder.add_extension(_sans(list(dns_names)), critical=False)
    cert = builder.sign(signer, hashes.SHA256())
    return {
        "id": str(cert.serial_number),
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": _rfc3339(cert.not_valid_before_utc),
        "validityEndTime": _rfc3339(cert.not_valid_after_utc),
        "readyForRenewal": False,
    }


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
