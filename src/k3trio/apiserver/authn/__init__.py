"""Authentication: who is making a request.

Modules: ``jwt`` (RS256 compact JWS, key ids, JWKs), ``base`` (token results and errors,
header parsing), ``simple`` (client certificates, static tokens), ``bootstrap`` (bootstrap
tokens), ``serviceaccount`` (service-account JWTs), ``union`` (the request chain), ``impersonation`` (``Impersonate-*`` headers),
``setup`` (``build_auth``: everything wired from the server PKI; import it from
``k3trio.apiserver.authn.setup``, it depends on ``tokens`` which depends on this package).

The API server builds one :class:`UnionAuthenticator` and calls
``await union.authenticate_request(headers, peer)`` per request; TokenReview calls
``await union.authenticate_token(token, audiences)``.
"""

from .base import InvalidToken, TokenResult, bearer_token, with_authenticated_group
from .bootstrap import BootstrapTokenAuthenticator
from .impersonation import apply_impersonation, impersonation_headers
from .serviceaccount import (
    DEFAULT_ISSUER,
    LEGACY_ISSUER,
    ServiceAccountTokenAuthenticator,
    service_account_username,
    split_username,
)
from .simple import CertificateAuthenticator, StaticTokenAuthenticator
from .union import UnionAuthenticator, authenticate_request

__all__ = [
    "DEFAULT_ISSUER",
    "LEGACY_ISSUER",
    "BootstrapTokenAuthenticator",
    "CertificateAuthenticator",
    "InvalidToken",
    "ServiceAccountTokenAuthenticator",
    "StaticTokenAuthenticator",
    "TokenResult",
    "UnionAuthenticator",
    "apply_impersonation",
    "impersonation_headers",
    "authenticate_request",
    "bearer_token",
    "service_account_username",
    "split_username",
    "with_authenticated_group",
]
