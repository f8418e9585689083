"""API machinery: version, health endpoints, authentication of anonymous requests."""

from __future__ import annotations

from framework import Cluster, case


@case("api-machinery", "[sig-api-machinery] server version should find the server version")
def server_version(cluster: Cluster) -> None:
    """server version: /version reports integer major and minor versions"""
    resp = cluster.get("/version")
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["major"].isdigit() and info["minor"].rstrip("+").isdigit(), info
    assert info["gitVersion"].startswith("v"), info


@case("api-machinery")
def health_endpoints(cluster: Cluster) -> None:
    """health: /healthz, /livez and /readyz answer ok, verbose lists checks"""
    for path in ("/healthz", "/livez", "/readyz"):
        resp = cluster.get(path)
        assert resp.status_code == 200 and resp.text == "ok", (path, resp.status_code, resp.text)
    verbose = cluster.get("/readyz?verbose")
    assert verbose.status_code == 200
    assert verbose.text.rstrip().endswith("readyz check passed"), verbose.text
    assert "[+]ping ok" in verbose.text


@case("api-machinery")
def anonymous_is_unauthorized(cluster: Cluster) -> None:
    """authentication: anonymous requests for API paths get a 401 Status"""
    resp = cluster.get("/api", anonymous=True)
    assert resp.status_code in (401, 403), resp.status_code
    body = resp.json()
    assert body["kind"] == "Status" and body["code"] == resp.status_code, body
