"""Compact JWS (RS256) encoding and verification for service-account tokens.

Only what Kubernetes service-account tokens need: the compact serialisation
``base64url(header).base64url(claims).base64url(signature)`` signed with RSASSA-PKCS1-v1_5
over SHA-256. The header is ``{"alg":"RS256","kid":"<key id>"}``; the key id is derived from
the public key as kube-apiserver does (base64url, unpadded, of the SHA-256 of the PKIX DER).

Invariants:
- ``peek_claims`` never trusts anything: it only decodes, so callers can route a token by its
  issuer before spending a signature check (as upstream's ``hasCorrectIssuer``).
- ``verify`` accepts a token only if its header's ``alg`` is RS256 and one of the given keys
  verifies the signature over the exact bytes received.
- Everything is pure: no clocks, no I/O. Time checks belong to the callers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "ALGORITHM",
    "JWTError",
    "b64url_decode",
    "b64url_encode",
    "encode",
    "jwk",
    "key_id",
    "load_private_key",
    "load_public_keys",
    "peek_claims",
    "verify",
]

ALGORITHM = "RS256"


class JWTError(ValueError):
    """A token that is not a well-formed, correctly signed RS256 JWS."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if "=" in text:
        raise JWTError("illegal base64 data: padding is not allowed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JWTError(f"illegal base64 data: {exc}") from exc


def _json_part(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(text))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JWTError(f"invalid {what}: {exc}") from exc
    if not isinstance(value, dict):
        raise JWTError(f"invalid {what}: not a JSON object")
    return value


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JWTError("compact JWS format must have three parts")
    return parts[0], parts[1], parts[2]


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("service-account signing key must be an RSA key")
    return key


def load_public_keys(pem: bytes) -> list[rsa.RSAPublicKey]:
    """Every RSA public key in a PEM bundle (public keys, certificates or private keys)."""
    from cryptography import x509

    keys: list[rsa.RSAPublicKey] = []
    for block in _pem_blocks(pem):
        if b"CERTIFICATE" in block.split(b"\n", 1)[0]:
            key: Any = x509.load_pem_x509_certificate(block).public_key()
        elif b"PRIVATE KEY" in block.split(b"\n", 1)[0]:
            key = serialization.load_pem_private_key(block, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(block)
        if isinstance(key, rsa.RSAPublicKey):
            keys.append(key)
    if not keys:
        raise ValueError("no RSA public key found")
    return keys


def _pem_blocks(pem: bytes) -> Iterable[bytes]:
    start = 0
    while True:
        begin = pem.find(b"-----BEGIN ", start)
        if begin < 0:
            return
        end_marker = pem.find(b"-----END ", begin)
        if end_marker < 0:
            return
        end = pem.find(b"-----", end_marker + 9)
        if end < 0:
            return
        yield pem[begin : end + 5] + b"\n"
        start = end + 5


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """kube-apiserver's key id: base64url(SHA-256(PKIX DER of the public key)), unpadded."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64url_encode(hashlib.sha256(der).digest())


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def jwk(public_key: rsa.RSAPublicKey, kid: str | None = None) -> dict[str, str]:
    """The public key as a JWK, in the field order kube-apiserver serves on /openid/v1/jwks."""
    numbers = public_key.public_numbers()
    return {
        "use": "sig",
        "kty": "RSA",
        "kid": kid if kid is not None else key_id(public_key),
        "alg": ALGORITHM,
        "n": b64url_encode(_int_bytes(numbers.n)),
        "e": b64url_encode(_int_bytes(numbers.e)),
    }


def encode(claims: Mapping[str, Any], private_key: rsa.RSAPrivateKey, kid: str = "") -> str:
    """Sign ``claims`` as a compact RS256 JWS."""
    header: dict[str, str] = {"alg": ALGORITHM}
    if kid:
        header["kid"] = kid
    signing_input = (
        b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    )
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url_encode(signature)


def peek_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, unverified.

    Raises:
        JWTError: not three base64url parts or the payload is not a JSON object.
    """
    _, payload, _ = _split(token)
    return _json_part(payload, "payload")


def verify(token: str, keys: Iterable[rsa.RSAPublicKey]) -> dict[str, Any]:
    """Verify the RS256 signature with any of ``keys`` and return the claims.

    A ``kid`` in the header is only a hint: like upstream, every key is tried.

    Raises:
        JWTError: malformed token, another algorithm, or no key verifies the signature.
    """
    header_b64, payload_b64, sig_b64 = _split(token)
    header = _json_part(header_b64, "header")
    if header.get("alg") != ALGORITHM:
        raise JWTError(f"unexpected signature algorithm {header.get('alg')!r}; expected RS256")
    signature = b64url_decode(sig_b64)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    for key in keys:
        try:
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return _json_part(payload_b64, "payload")
    raise JWTError("crypto/rsa: verification error")
