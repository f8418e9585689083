"""Node-join tokens in K3s's format, and the CA hash that lets agents trust a server.

Format (the "secure" or "full" token)::

    K10<ca-hash>::<username>:<password>        e.g. K10a1b2...::server:4f3e...
    K10<ca-hash>::<id>.<secret>                 a kubeadm-style bootstrap token

``<ca-hash>`` is 64 lower-case hex digits: the SHA-256 of the server CA bundle exactly as
served at ``/cacerts`` (the bytes of ``server-ca.crt``). When that bundle holds more than one
certificate the hash is of the DER of the chain's root instead, so an intermediate can be
rotated without invalidating tokens. A "short" token is only the credentials (a bare password
or bootstrap token) and lets an agent join without authenticating the server first.

Parsing rules (matching K3s): a string without the ``K10`` prefix is a bare password (or a
bootstrap token); the hash part may be empty; a non-empty hash must be 64 characters; basic
credentials split at the first ``:`` and need a non-empty password.

Everything here is pure: no files, no network.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .certs import is_issued_by, load_certs_pem
from .errors import CertificateError, TokenCAMismatchError, TokenError

TOKEN_PREFIX = "K10"
CA_HASH_LENGTH = 64
SERVER_USERNAME = "server"
AGENT_USERNAME = "node"

_BOOTSTRAP_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class ParsedToken(NamedTuple):
    """A token split into its parts; ``username`` is "" for bare and bootstrap tokens."""

    ca_hash: str | None
    username: str
    secret: str

    @property
    def is_bootstrap_token(self) -> bool:
        return not self.username and bool(_BOOTSTRAP_TOKEN.match(self.secret))

    @property
    def credentials(self) -> str:
        """The part after ``::`` in a full token."""
        if self.username or not self.is_bootstrap_token:
            return f"{self.username}:{self.secret}"
        return self.secret


def parse_token(token: str) -> ParsedToken:
    """Split a full or short token into (CA hash or None, username, secret).

    Raises:
        TokenError: empty token, wrong hash length, or credentials without a password.
    """
    token = token.strip()
    if not token:
        raise TokenError("token must not be empty")
    if not token.startswith(TOKEN_PREFIX):
        # A short token: the whole string is the password (or a bootstrap token).
        return ParsedToken(None, "", token)
    body = token[len(TOKEN_PREFIX) :]
    ca_hash, sep, creds = body.partition("::")
    if not sep:
        # "K10..." without "::": no hash part, the rest must be credentials.
        return _parse_credentials(None, body)
    if ca_hash and len(ca_hash) != CA_HASH_LENGTH:
        raise TokenError("invalid token CA hash length")
    if ca_hash and not _HEX.match(ca_hash):
        raise TokenError("token CA hash is not hexadecimal")
    return _parse_credentials(ca_hash.lower() or None, creds)


def _parse_credentials(ca_hash: str | None, creds: str) -> ParsedToken:
    if _BOOTSTRAP_TOKEN.match(creds):
        return ParsedToken(ca_hash, "", creds)
    username, sep, password = creds.partition(":")
    if not sep or not password:
        raise TokenError("invalid token format: expected <username>:<password> credentials")
    return ParsedToken(ca_hash, username, password)


def format_token(ca_pem: bytes, secret: str, username: str = SERVER_USERNAME) -> str:
    """The full K10 token for ``secret`` against the CA bundle ``ca_pem``.

    Bootstrap-token secrets (``abcdef.0123456789abcdef``) are embedded without a username.
    """
    if not secret:
        raise TokenError("token secret must not be empty")
    creds = secret if _BOOTSTRAP_TOKEN.match(secret) else f"{username}:{secret}"
    return f"{TOKEN_PREFIX}{hash_ca(ca_pem)}::{creds}"


def hash_ca(ca_pem: bytes) -> str:
    """Hex SHA-256 identifying a CA bundle, computed the way K3s does.

    A single certificate: hash of the raw bytes as given. Several: hash of the DER of the
    root the first certificate chains to (falling back to the raw bytes if it does not
    chain within the bundle).

    Raises:
        CertificateError: the bytes are not a PEM certificate bundle.
    """
    chain = load_certs_pem(ca_pem)
    data = ca_pem
    if len(chain) > 1:
        root = _root_of(chain)
        if root is not None:
            data = root.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(data).hexdigest()


def verify_ca_hash(ca_pem: bytes, ca_hash: str) -> bool:
    """True if ``ca_pem`` is the CA bundle that ``ca_hash`` (from a token) names.

    An unparsable bundle never verifies.
    """
    try:
        actual = hash_ca(ca_pem)
    except CertificateError:
        return False
    return hmac.compare_digest(actual, ca_hash.strip().lower())


def generate_secret() -> str:
    """A random password for a new cluster (16 random bytes, hex-encoded, like K3s)."""
    return secrets.token_hex(16)


def resolve_server_token(ca_pem: bytes, *, given: str | None, stored: str | None) -> str:
    """The full server token to use on this start.

    Precedence: the user's ``--token`` (bare secret, or full token whose hash must match the
    CA), then the token stored by a previous start (re-hashed against the current CA), then a
    new random secret.

    Raises:
        TokenError: the given token is malformed.
        TokenCAMismatchError: a full given token names a different CA.
    """
    ca_hash = hash_ca(ca_pem)
    if given:
        parsed = parse_token(given)
        if parsed.ca_hash is not None and not hmac.compare_digest(parsed.ca_hash, ca_hash):
            raise TokenCAMismatchError(parsed.ca_hash, ca_hash)
        return format_token(ca_pem, parsed.secret)
    if stored:
        try:
            previous = parse_token(stored)
        except TokenError:
            previous = None
        if previous is not None:
            return format_token(ca_pem, previous.secret, previous.username or SERVER_USERNAME)
    return format_token(ca_pem, generate_secret())


def _root_of(chain: list[x509.Certificate]) -> x509.Certificate | None:
    current = chain[0]
    others = chain[1:]
    for _ in range(len(chain)):
        if current.issuer == current.subject and is_issued_by(current, current):
            return current
        parent = next((c for c in others if c is not current and is_issued_by(current, c)), None)
        if parent is None:
            return None
        current = parent
    return None
