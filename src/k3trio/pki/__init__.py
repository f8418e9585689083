"""The cluster's PKI: CAs, certificates, join tokens, kubeconfigs and TLS contexts.

Modules: ``certs`` (pure X.509 building blocks and identity), ``ca`` (CAs and issuing),
``token`` (K10 join tokens), ``kubeconfig`` (K3s-shaped kubeconfig files), ``tls``
(``ssl.SSLContext`` builders), ``server`` (the on-disk server PKI), ``files`` (atomic,
mode-exact writes), ``errors`` (the exception tree).

The one call a server makes at start-up is ``ensure_server_pki``.
"""

from .ca import (
    NODE_USER_PREFIX,
    NODES_GROUP,
    CertificateAuthority,
    IssuedCert,
    issue_client_cert,
    kubelet_serving_spec,
    node_client_spec,
    sign_client_csr,
)
from .certs import (
    AltNames,
    CertSpec,
    ClientIdentity,
    Usage,
    identity_from_certificate,
    identity_from_der,
    load_cert_pem,
    load_certs_pem,
    load_client_identity,
    load_key_pem,
)
from .errors import (
    CertificateError,
    CSRRejectedError,
    PKIError,
    PKIStateError,
    TokenCAMismatchError,
    TokenError,
)
from .kubeconfig import (
    KubeconfigError,
    KubeconfigMaterial,
    read_kubeconfig,
    render_kubeconfig,
    write_kubeconfig,
)
from .server import (
    CLIENT_ROLES,
    ClientRole,
    ServerPaths,
    ServerPKI,
    ServingNames,
    apiserver_alt_names,
    ensure_server_pki,
    first_service_ip,
)
from .tls import (
    client_ssl_context,
    client_ssl_context_from_kubeconfig,
    peer_identity,
    server_ssl_context,
)
from .token import (
    ParsedToken,
    format_token,
    hash_ca,
    parse_token,
    resolve_server_token,
    verify_ca_hash,
)

__all__ = [
    "CLIENT_ROLES",
    "NODES_GROUP",
    "NODE_USER_PREFIX",
    "AltNames",
    "CSRRejectedError",
    "CertSpec",
    "CertificateAuthority",
    "CertificateError",
    "ClientIdentity",
    "ClientRole",
    "IssuedCert",
    "KubeconfigError",
    "KubeconfigMaterial",
    "PKIError",
    "PKIStateError",
    "ParsedToken",
    "ServerPKI",
    "ServerPaths",
    "ServingNames",
    "TokenCAMismatchError",
    "TokenError",
    "Usage",
    "apiserver_alt_names",
    "client_ssl_context",
    "client_ssl_context_from_kubeconfig",
    "ensure_server_pki",
    "first_service_ip",
    "format_token",
    "hash_ca",
    "identity_from_certificate",
    "identity_from_der",
    "issue_client_cert",
    "kubelet_serving_spec",
    "load_cert_pem",
    "load_certs_pem",
    "load_client_identity",
    "load_key_pem",
    "node_client_spec",
    "parse_token",
    "peer_identity",
    "read_kubeconfig",
    "render_kubeconfig",
    "resolve_server_token",
    "server_ssl_context",
    "sign_client_csr",
    "verify_ca_hash",
    "write_kubeconfig",
]
