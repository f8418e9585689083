"""Health endpoint rendering, as kube-apiserver prints it."""

from k3trio.apiserver.health import render_health

CHECKS = [("ping", None), ("store", None), ("apiserver", None)]


def test_plain_ok():
    assert render_health("readyz", CHECKS) == (200, "ok")


def test_verbose_lists_every_check():
    status, body = render_health("readyz", CHECKS, verbose=True)
    assert status == 200
    assert body == "[+]ping ok\n[+]store ok\n[+]apiserver ok\nreadyz check passed\n"


def test_failure_withholds_reason_and_fails():
    status, body = render_health("livez", [("ping", None), ("store", "disk full")])
    assert status == 500
    assert body == "[+]ping ok\n[-]store failed: reason withheld\nlivez check failed\n"


def test_exclude_and_single_check():
    status, body = render_health(
        "readyz", [("ping", None), ("store", "down")], verbose=True, exclude=["store"]
    )
    assert status == 200
    assert "[+]store excluded: ok" in body
    assert render_health("readyz", CHECKS, only="store") == (200, "ok")
    assert render_health("readyz", [("store", "down")], only="store")[0] == 500
    assert render_health("readyz", CHECKS, only="nope")[0] == 404
