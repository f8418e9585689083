"""Certificate authorities and the certificates they issue.

A ``CertificateAuthority`` is an immutable (certificate, key) pair that can sign leaves.
The cluster has three, all self-signed ECDSA P-256 roots valid ten years:

- the **server CA** signs serving certificates (API server, kubelets); its PEM is what
  ``/cacerts`` serves and what the join token's hash covers;
- the **client CA** signs client certificates; the API server trusts it to authenticate
  users (CN = user, O = groups);
- the **request-header CA** signs the front-proxy client certificate used by aggregated API
  servers; it is never trusted for ordinary client authentication.

Issued certificates are written with the CA appended after the leaf (``IssuedCert.cert_pem``),
as K3s does, so a peer that only knows the root can still build the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import certs
from .certs import AltNames, CertSpec, PrivateKey
from .errors import CertificateError, CSRRejectedError

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"


@attrs.frozen(slots=True)
class IssuedCert:
    """A leaf certificate, its private key and the chain up to (and including) its CA."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> bytes:
        """Leaf followed by its CA chain: the content of a ``.crt`` file."""
        return certs.encode_cert_pem(self.cert, *self.chain)

    @property
    def leaf_pem(self) -> bytes:
        return certs.encode_cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return certs.encode_key_pem(self.key)

    @property
    def identity(self) -> certs.ClientIdentity | None:
        return certs.identity_from_certificate(self.cert)


@attrs.frozen(slots=True)
class CertificateAuthority:
    """A signing CA: its certificate and private key."""

    cert: x509.Certificate
    key: PrivateKey

    @classmethod
    def generate(
        cls,
        common_name: str,
        *,
        now: datetime | None = None,
        validity: timedelta = certs.CA_VALIDITY,
        key: PrivateKey | None = None,
    ) -> CertificateAuthority:
        """A new self-signed CA (ECDSA P-256 unless ``key`` is given)."""
        key = key if key is not None else certs.generate_ec_key()
        now = now or datetime.now(UTC)
        return cls(certs.build_ca_certificate(common_name, key, now=now, validity=validity), key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        """Load a CA from PEM, checking that the key belongs to the certificate.

        Raises:
            CertificateError: unparsable PEM, mismatched key, or not a CA certificate.
        """
        cert = certs.load_cert_pem(cert_pem)
        key = certs.load_key_pem(key_pem)
        if not certs.key_matches_cert(key, cert):
            raise CertificateError("CA private key does not match the CA certificate")
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is None or not bc.ca:
            raise CertificateError("certificate is not a CA (BasicConstraints ca=false)")
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        return certs.encode_cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return certs.encode_key_pem(self.key)

    @property
    def common_name(self) -> str:
        return certs.common_name(self.cert)

    def signed(self, cert: x509.Certificate) -> bool:
        """True if this CA directly issued ``cert``."""
        return certs.is_issued_by(cert, self.cert)

    def issue(
        self,
        spec: CertSpec,
        *,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        validity: timedelta = certs.LEAF_VALIDITY,
    ) -> IssuedCert:
        """Sign a leaf for ``spec``; a fresh ECDSA P-256 key is made unless ``key`` is given."""
        key = key if key is not None else certs.generate_ec_key()
        cert = certs.build_leaf_certificate(
            spec,
            key.public_key(),
            issuer_cert=self.cert,
            issuer_key=self.key,
            now=now or datetime.now(UTC),
            validity=validity,
        )
        return IssuedCert(cert, key, (self.cert,))

    def issue_client_cert(
        self,
        common_name: str,
        groups: Sequence[str] = (),
        *,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        validity: timedelta = certs.LEAF_VALIDITY,
    ) -> IssuedCert:
        """A client-auth certificate for user ``common_name`` in ``groups``."""
        return self.issue(CertSpec.client(common_name, groups), key=key, now=now, validity=validity)

    def issue_serving_cert(
        self,
        common_name: str,
        alt_names: AltNames,
        *,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        validity: timedelta = certs.LEAF_VALIDITY,
    ) -> IssuedCert:
        """A server-auth certificate valid for ``alt_names``."""
        return self.issue(
            CertSpec.server(common_name, alt_names), key=key, now=now, validity=validity
        )

    def issue_kubelet_serving_cert(
        self,
        node_name: str,
        addresses: Iterable[str] = (),
        *,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        validity: timedelta = certs.LEAF_VALIDITY,
    ) -> IssuedCert:
        """A kubelet's serving certificate, shaped like the ``kubelet-serving`` signer's output.

        Subject ``system:node:<name>`` / ``system:nodes``; SANs: the node name, ``localhost``,
        the loopback addresses and every given node address.
        """
        return self.issue(
            kubelet_serving_spec(node_name, addresses), key=key, now=now, validity=validity
        )

    def sign_client_csr(
        self,
        csr_pem: bytes,
        *,
        common_name: str | None = None,
        groups: Sequence[str] | None = None,
        now: datetime | None = None,
        validity: timedelta = certs.LEAF_VALIDITY,
    ) -> x509.Certificate:
        """Sign a client certificate for the key in a PEM CSR.

        Only the CSR's public key and (when not overridden) its subject are used: requested
        extensions are ignored, so a CSR can never obtain a CA or serving certificate.

        Args:
            common_name: the identity the caller has authorised; if given and the CSR asks
                for a different CommonName the request is rejected.
            groups: the groups to grant; defaults to the CSR's Organization values.

        Raises:
            CSRRejectedError: bad PEM, bad self-signature, unsupported key, identity mismatch.
        """
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise CSRRejectedError(f"cannot parse CSR: {exc}") from exc
        if not csr.is_signature_valid:
            raise CSRRejectedError("CSR signature is invalid")
        public_key = csr.public_key()
        if not isinstance(public_key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            raise CSRRejectedError(f"unsupported CSR key type {type(public_key).__name__}")
        if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
            raise CSRRejectedError("RSA keys shorter than 2048 bits are refused")
        requested_cn = _subject_value(csr.subject, "CN")
        if common_name is not None and requested_cn not in ("", common_name):
            raise CSRRejectedError(
                f"CSR asks for CommonName {requested_cn!r}, expected {common_name!r}"
            )
        cn = common_name if common_name is not None else requested_cn
        if not cn:
            raise CSRRejectedError("CSR has no CommonName")
        orgs = tuple(groups) if groups is not None else _subject_values(csr.subject, "O")
        return certs.build_leaf_certificate(
            CertSpec.client(cn, orgs),
            public_key,
            issuer_cert=self.cert,
            issuer_key=self.key,
            now=now or datetime.now(UTC),
            validity=validity,
        )


def kubelet_serving_spec(node_name: str, addresses: Iterable[str] = ()) -> CertSpec:
    """The ``CertSpec`` of a kubelet serving certificate for ``node_name``."""
    alt = AltNames.from_strings([node_name, "localhost", "127.0.0.1", "::1", *addresses])
    return CertSpec.server(NODE_USER_PREFIX + node_name, alt, (NODES_GROUP,))


def node_client_spec(node_name: str) -> CertSpec:
    """The ``CertSpec`` of a kubelet's client certificate (the Node authorizer's identity)."""
    return CertSpec.client(NODE_USER_PREFIX + node_name, (NODES_GROUP,))


def issue_client_cert(
    ca: CertificateAuthority,
    common_name: str,
    groups: Sequence[str] = (),
    *,
    key: PrivateKey | None = None,
    now: datetime | None = None,
    validity: timedelta = certs.LEAF_VALIDITY,
) -> IssuedCert:
    """Function form of ``CertificateAuthority.issue_client_cert``."""
    return ca.issue_client_cert(common_name, groups, key=key, now=now, validity=validity)


def sign_client_csr(
    ca: CertificateAuthority,
    csr_pem: bytes,
    *,
    common_name: str | None = None,
    groups: Sequence[str] | None = None,
    now: datetime | None = None,
    validity: timedelta = certs.LEAF_VALIDITY,
) -> bytes:
    """Sign a client CSR and return the certificate chain PEM (leaf, then the CA).

    See ``CertificateAuthority.sign_client_csr`` for the rules.
    """
    cert = ca.sign_client_csr(
        csr_pem, common_name=common_name, groups=groups, now=now, validity=validity
    )
    return certs.encode_cert_pem(cert, ca.cert)


_OIDS = {"CN": x509.oid.NameOID.COMMON_NAME, "O": x509.oid.NameOID.ORGANIZATION_NAME}


def _subject_values(name: x509.Name, short: str) -> tuple[str, ...]:
    with certs.long_names_allowed():
        values = name.get_attributes_for_oid(_OIDS[short])
    return tuple(str(a.value) for a in values)


def _subject_value(name: x509.Name, short: str) -> str:
    values = _subject_values(name, short)
    return values[0] if values else ""
