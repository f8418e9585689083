"""One call that builds the server's authentication and authorization from its PKI.

:func:`build_auth` returns the pieces the HTTP layer wires in: the request authenticator
(client certificates, static tokens, service-account JWTs, bootstrap tokens, in that
order), the RBAC authorizer, the token issuer for ``serviceaccounts/<name>/token``, and the
handlers for the service-account issuer discovery paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..interfaces import ObjectSource, UserInfo
from ..rbac import RBACAuthorizer
from ..tokens import DEFAULT_API_AUDIENCES, TokenIssuer, jwks_document, openid_configuration
from .bootstrap import BootstrapTokenAuthenticator
from .serviceaccount import DEFAULT_ISSUER, ServiceAccountTokenAuthenticator
from .simple import CertificateAuthenticator, StaticTokenAuthenticator
from .union import UnionAuthenticator

__all__ = ["AuthComponents", "OIDC_CONFIG_PATH", "JWKS_PATH", "build_auth", "discovery_handlers"]

OIDC_CONFIG_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
Handler = Callable[[dict[str, Any], Any, Any, UserInfo], Any]


@dataclass
class AuthComponents:
    authenticator: UnionAuthenticator
    authorizer: RBACAuthorizer
    token_issuer: TokenIssuer
    #: Exact path -> ASGI-style handler ``(scope, receive, send, user)``.
    extra_paths: dict[str, Handler] = field(default_factory=dict)


def _json_handler(body: bytes, content_type: str) -> Handler:
    async def handler(scope: dict[str, Any], receive: Any, send: Any, user: UserInfo) -> None:
        headers = [
            (b"content-type", content_type.encode()),
            (b"cache-control", b"public, max-age=3600"),
            (b"x-content-type-options", b"nosniff"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return handler


def discovery_handlers(issuer: str, jwks_uri: str, public_keys_pem: bytes) -> dict[str, Handler]:
    """Handlers for ``/.well-known/openid-configuration`` and ``/openid/v1/jwks``."""
    config = json.dumps(openid_configuration(issuer, jwks_uri)).encode()
    jwks = json.dumps(jwks_document(public_keys_pem)).encode()
    return {
        OIDC_CONFIG_PATH: _json_handler(config, "application/json"),
        JWKS_PATH: _json_handler(jwks, "application/jwk-set+json"),
    }


def build_auth(
    *,
    objects: ObjectSource,
    service_account_key_pem: bytes,
    service_account_public_pem: bytes,
    server_url: str,
    issuer: str = DEFAULT_ISSUER,
    api_audiences: Sequence[str] = DEFAULT_API_AUDIENCES,
    static_tokens: Mapping[str, UserInfo] | None = None,
    anonymous: bool = False,
) -> AuthComponents:
    """Build authentication, RBAC and token issuing for one API server.

    Args:
        objects: the watch-cache ``ObjectSource`` (RBAC objects, service accounts, secrets,
            pods, nodes).
        service_account_key_pem: ``ServerPKI.service_account_key_pem``.
        service_account_public_pem: ``ServerPKI.service_account_public_pem``.
        server_url: the externally reachable API URL; the JWKS URI is ``<url>/openid/v1/jwks``.
        static_tokens: optional token -> user table for the server's own credentials.
        anonymous: allow credential-less requests as ``system:anonymous``.
    """
    authenticators: list[Any] = [CertificateAuthenticator()]
    if static_tokens:
        authenticators.append(StaticTokenAuthenticator(static_tokens))
    authenticators.append(
        ServiceAccountTokenAuthenticator(service_account_public_pem, issuer, api_audiences, objects)
    )
    authenticators.append(BootstrapTokenAuthenticator(objects))
    authorizer = RBACAuthorizer(objects)
    return AuthComponents(
        authenticator=UnionAuthenticator(authenticators, anonymous=anonymous, authorizer=authorizer),
        authorizer=authorizer,
        token_issuer=TokenIssuer(service_account_key_pem, issuer, api_audiences=api_audiences),
        extra_paths=discovery_handlers(issuer, server_url.rstrip("/") + JWKS_PATH, service_account_public_pem),
    )
