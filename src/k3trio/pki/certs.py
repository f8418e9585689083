"""Pure X.509 building blocks: keys, PEM, subject alternative names, certificate templates.

Nothing here touches the filesystem or the clock: callers pass ``now`` so tests can build
certificates that are about to expire. The shapes follow what Kubernetes components expect:

- identities live in the subject: user = CommonName, groups = every Organization value
  (the API server's x509 authenticator reads them back with ``identity_from_certificate``);
- CA certificates carry BasicConstraints(ca) and keyCertSign; leaves carry BasicConstraints
  (not a CA), digitalSignature, the extended key usages they are for (client and/or server
  auth), Authority/Subject Key Identifiers, and SANs when they serve TLS;
- certificate keys are ECDSA P-256 (cheap to generate: a full server PKI is created in well
  under a second); RSA is only used for the service-account signing key.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import CertificateError

#: CAs live ten years, leaves one year; leaves are renewed when less than 90 days remain.
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=90)
#: Certificates are back-dated so a peer whose clock lags a little still accepts them.
CLOCK_SKEW = timedelta(hours=1)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DNS_NAME = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$")


@contextlib.contextmanager
def long_names_allowed() -> Iterator[None]:
    """Silence cryptography's warning about CommonNames over X.520's 64 characters.

    Kubernetes node names reach 253 characters, so ``system:node:<name>`` may exceed the
    bound; Kubernetes neither enforces nor warns about it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Attribute's length must be", category=UserWarning
        )
        yield


class Usage(enum.Enum):
    """Which side of a TLS connection a certificate may authenticate."""

    CLIENT = "client"
    SERVER = "server"


_EKU = {
    Usage.CLIENT: ExtendedKeyUsageOID.CLIENT_AUTH,
    Usage.SERVER: ExtendedKeyUsageOID.SERVER_AUTH,
}


# --- keys and PEM ---------------------------------------------------------------------------


def generate_ec_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def generate_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh RSA private key (public exponent 65537)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def encode_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted traditional PEM (``EC PRIVATE KEY`` / ``RSA PRIVATE KEY``), as K3s writes."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def encode_public_key_pem(key: PrivateKey) -> bytes:
    """The public half as a SubjectPublicKeyInfo ``PUBLIC KEY`` PEM block."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def encode_cert_pem(*certs: x509.Certificate) -> bytes:
    """Concatenated PEM of ``certs`` in the given order (leaf first for chains)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_key_pem(data: bytes) -> PrivateKey:
    """Parse an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8).

    Raises:
        CertificateError: not a PEM private key, encrypted, or neither EC nor RSA.
    """
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"cannot parse private key: {exc}") from exc
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise CertificateError(f"unsupported private key type {type(key).__name__}")
    return key


def load_certs_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in file order.

    Raises:
        CertificateError: no certificate, or a block that does not parse.
    """
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(f"cannot parse certificate PEM: {exc}") from exc
    if not certs:
        raise CertificateError("no certificate found in PEM data")
    return certs


def load_cert_pem(data: bytes) -> x509.Certificate:
    """The first certificate of a PEM bundle (the leaf of a chain)."""
    return load_certs_pem(data)[0]


def public_key_bytes(key: PrivateKey | x509.Certificate) -> bytes:
    """DER SubjectPublicKeyInfo of a private key or a certificate, for equality checks."""
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches_cert(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True if ``key`` is the private half of ``cert``'s public key."""
    return public_key_bytes(key) == public_key_bytes(cert)


# --- subject alternative names --------------------------------------------------------------


@attrs.frozen(slots=True)
class AltNames:
    """Normalised subject alternative names: lower-case DNS names and parsed IP addresses.

    Order is preserved (first occurrence wins) so certificates are reproducible; equality
    for "do I need a new certificate" checks goes through ``same_as``, which ignores order.
    """

    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()

    @classmethod
    def from_strings(cls, values: Iterable[str]) -> AltNames:
        """Split free-form names (``--tls-san`` style) into IP and DNS SANs.

        ``[::1]`` brackets and a trailing dot are stripped, non-ASCII names are IDNA-encoded,
        empty entries are ignored and duplicates dropped.

        Raises:
            CertificateError: a value is neither an IP address nor a plausible DNS name.
        """
        dns: list[str] = []
        ips: list[IPAddress] = []
        for raw in values:
            value = raw.strip()
            if value.startswith("[") and value.endswith("]"):
                value = value[1:-1]
            if not value:
                continue
            try:
                ip = ipaddress.ip_address(value)
            except ValueError:
                name = _normalise_dns(value)
                if name not in dns:
                    dns.append(name)
            else:
                if ip not in ips:
                    ips.append(ip)
        return cls(tuple(dns), tuple(ips))

    def merged(self, other: AltNames) -> AltNames:
        dns = list(self.dns_names) + [n for n in other.dns_names if n not in self.dns_names]
        ips = list(self.ip_addresses) + [
            i for i in other.ip_addresses if i not in self.ip_addresses
        ]
        return AltNames(tuple(dns), tuple(ips))

    def same_as(self, other: AltNames) -> bool:
        return set(self.dns_names) == set(other.dns_names) and set(self.ip_addresses) == set(
            other.ip_addresses
        )

    def __bool__(self) -> bool:
        return bool(self.dns_names or self.ip_addresses)

    def to_extension(self) -> x509.SubjectAlternativeName:
        general: list[x509.GeneralName] = [x509.DNSName(n) for n in self.dns_names]
        general += [x509.IPAddress(ip) for ip in self.ip_addresses]
        return x509.SubjectAlternativeName(general)


def _normalise_dns(value: str) -> str:
    name = value.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise CertificateError(f"invalid DNS name for a certificate: {value!r}") from exc
    if len(name) > 253 or not _DNS_NAME.match(name):
        raise CertificateError(f"invalid DNS name or IP address for a certificate: {value!r}")
    return name


def alt_names_of(cert: x509.Certificate) -> AltNames:
    """The SANs a certificate carries (empty if it has no SAN extension)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return AltNames()
    ips = [
        ip
        for ip in ext.get_values_for_type(x509.IPAddress)
        if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address))
    ]
    return AltNames(tuple(ext.get_values_for_type(x509.DNSName)), tuple(ips))


# --- identity ---------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class ClientIdentity:
    """What the API server learns from a verified client certificate."""

    user: str
    groups: tuple[str, ...] = ()


def common_name(cert: x509.Certificate) -> str:
    """The subject CommonName ("" if absent)."""
    with long_names_allowed():
        attrs_ = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs_[0].value) if attrs_ else ""


def organizations(cert: x509.Certificate) -> tuple[str, ...]:
    """Every subject Organization value, in order."""
    with long_names_allowed():
        values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return tuple(str(a.value) for a in values)


def identity_from_certificate(cert: x509.Certificate) -> ClientIdentity | None:
    """User = CN and groups = O, as kube-apiserver maps client certificates.

    Returns None for a certificate without a CommonName: upstream treats it as not
    authenticating anyone rather than as an error.
    """
    user = common_name(cert)
    if not user:
        return None
    return ClientIdentity(user=user, groups=organizations(cert))


def load_client_identity(cert_pem: bytes) -> ClientIdentity | None:
    """``identity_from_certificate`` of the first (leaf) certificate in a PEM bundle."""
    return identity_from_certificate(load_cert_pem(cert_pem))


def identity_from_der(der: bytes) -> ClientIdentity | None:
    """``identity_from_certificate`` for a DER certificate, e.g. ``getpeercert(True)``."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError(f"cannot parse certificate DER: {exc}") from exc
    return identity_from_certificate(cert)


# --- templates --------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class CertSpec:
    """Everything that defines a leaf certificate apart from its key, issuer and dates."""

    common_name: str
    organizations: tuple[str, ...] = ()
    alt_names: AltNames = AltNames()
    usages: frozenset[Usage] = frozenset({Usage.CLIENT})

    @classmethod
    def client(cls, common_name: str, groups: Sequence[str] = ()) -> CertSpec:
        return cls(common_name, tuple(groups), AltNames(), frozenset({Usage.CLIENT}))

    @classmethod
    def server(cls, common_name: str, alt_names: AltNames, groups: Sequence[str] = ()) -> CertSpec:
        return cls(common_name, tuple(groups), alt_names, frozenset({Usage.SERVER}))


def _name(common_name: str, orgs: Sequence[str] = ()) -> x509.Name:
    if not common_name:
        raise CertificateError("a certificate needs a CommonName")
    # Organizations first, CommonName last: the attribute order Go's pkix.Name produces.
    # Length validation is relaxed (see ``long_names_allowed``).
    with long_names_allowed():
        parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o, _validate=False) for o in orgs]
        parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name, _validate=False))
    return x509.Name(parts)


def build_ca_certificate(
    common_name: str, key: PrivateKey, *, now: datetime, validity: timedelta = CA_VALIDITY
) -> x509.Certificate:
    """A self-signed CA certificate for ``key``."""
    name = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def build_leaf_certificate(
    spec: CertSpec,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    *,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    now: datetime,
    validity: timedelta = LEAF_VALIDITY,
) -> x509.Certificate:
    """A certificate for ``spec`` over ``public_key``, signed by the issuing CA.

    The validity never starts before the CA's and never ends after it.
    """
    if not spec.usages:
        raise CertificateError("a certificate needs at least one usage")
    not_before = max(now - CLOCK_SKEW, issuer_cert.not_valid_before_utc)
    not_after = min(now + validity, issuer_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [_EKU[u] for u in (Usage.SERVER, Usage.CLIENT) if u in spec.usages]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if spec.alt_names:
        builder = builder.add_extension(spec.alt_names.to_extension(), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


# --- checks -----------------------------------------------------------------------------------


def usages_of(cert: x509.Certificate) -> frozenset[Usage]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(u for u, oid in _EKU.items() if oid in eku)


def spec_of(cert: x509.Certificate) -> CertSpec:
    """Read back the ``CertSpec`` a certificate was built from."""
    return CertSpec(common_name(cert), organizations(cert), alt_names_of(cert), usages_of(cert))


def matches_spec(cert: x509.Certificate, spec: CertSpec) -> bool:
    """True if the certificate carries exactly the identity, SANs and usages of ``spec``.

    Group order and SAN order do not matter.
    """
    have = spec_of(cert)
    return (
        have.common_name == spec.common_name
        and set(have.organizations) == set(spec.organizations)
        and have.alt_names.same_as(spec.alt_names)
        and have.usages == spec.usages
    )


def is_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True if ``ca_cert``'s key signed ``cert`` (names and signature both checked)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def expires_within(cert: x509.Certificate, window: timedelta, *, now: datetime) -> bool:
    """True if fewer than ``window`` remains before ``cert`` expires (or it already has)."""
    return cert.not_valid_after_utc - now <= window
