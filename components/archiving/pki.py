"""The stack's own certificate authority for continuous archiving (pulumi-tls).

One CA signs: the dev store's TLS front (pgBackRest speaks S3 only over HTTPS and the
dev store is plain HTTP), the backup server sidecar, and the agent's client certificate
(the sidecar answers no one else). Keys are Pulumi secrets (pulumi-tls marks them so) and
reach containers only as secret environment variables. Certificates live five years and
are re-issued by any `pulumi up` in their last year (`early_renewal_hours`); the CA
outlives them (ten years, re-issued in its last two).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

LEAF_HOURS = 5 * 365 * 24
LEAF_RENEW_HOURS = 365 * 24
CA_HOURS = 10 * 365 * 24
CA_RENEW_HOURS = 2 * 365 * 24


@dataclass(frozen=True)
class Leaf:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    """Secret."""


class ArchivingPki(pulumi.ComponentResource):
    ca_cert_pem: pulumi.Output[str]

    def __init__(
        self, name: str, name_prefix: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:archiving:Pki", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._ca_key = self._key("ca")
        ca = tls.SelfSignedCert(
            "ca",
            private_key_pem=self._ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name_prefix} archiving CA"),
            validity_period_hours=CA_HOURS,
            early_renewal_hours=CA_RENEW_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            opts=self._child,
        )
        self.ca_cert_pem = ca.cert_pem
        self.register_outputs({"caCertPem": self.ca_cert_pem})

    def _key(self, name: str) -> tls.PrivateKey:
        return tls.PrivateKey(
            f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=self._child
        )

    def leaf(self, name: str, common_name: str, dns_names: Sequence[str] = ()) -> Leaf:
        """A certificate for servers and clients alike (pgBackRest checks the CN)."""
        key = self._key(name)
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=common_name),
            dns_names=list(dns_names) or None,
            opts=self._child,
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=self._ca_key.private_key_pem,
            ca_cert_pem=self.ca_cert_pem,
            validity_period_hours=LEAF_HOURS,
            early_renewal_hours=LEAF_RENEW_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
            opts=self._child,
        )
        return Leaf(cert.cert_pem, pulumi.Output.secret(key.private_key_pem))
