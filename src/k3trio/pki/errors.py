"""The PKI package's exception tree.

    PKIError
    ├── PKIStateError          files on disk are inconsistent (a CA certificate without its key,
    │                          a key that does not match its certificate) and cannot be repaired
    │                          without losing trust; never "fixed" by silently minting a new CA
    ├── CertificateError       a certificate, key or CSR cannot be parsed or is unusable
    │   └── CSRRejectedError   a CSR failed its signature check or asked for a different identity
    └── TokenError             a join token is malformed
        └── TokenCAMismatchError  a full K10 token's CA hash does not match the cluster CA

``cryptography`` and ``OSError`` exceptions are translated at the module boundary with
``raise ... from exc`` where the caller needs to tell them apart; plain I/O errors on the data
directory propagate unchanged as ``OSError``.
"""

from __future__ import annotations


class PKIError(Exception):
    """Base class of every error the PKI package raises."""


class PKIStateError(PKIError):
    """The on-disk PKI state is inconsistent and needs an operator's decision."""


class CertificateError(PKIError):
    """A certificate, private key or CSR is malformed or cannot be used."""


class CSRRejectedError(CertificateError):
    """A certificate signing request was refused."""


class TokenError(PKIError):
    """A join token is malformed."""


class TokenCAMismatchError(TokenError):
    """The CA hash embedded in a K10 token does not match the cluster's server CA."""

    def __init__(self, token_hash: str, ca_hash: str) -> None:
        super().__init__(
            "token CA hash does not match the cluster CA certificate hash: "
            f"{token_hash} != {ca_hash}"
        )
        self.token_hash = token_hash
        self.ca_hash = ca_hash
