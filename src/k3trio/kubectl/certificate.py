"""``kubectl certificate approve|deny CSR...``: add an Approved/Denied condition through the
``approval`` subresource."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Modify certificate resources"
SUBCOMMANDS = {"approve": "Approve a certificate signing request",
               "deny": "Deny a certificate signing request"}


def flags(sub: str | None) -> list[Flag]:
    return [Flag("force", "bool", False, "Update the CSR even if it is already approved."),
            Flag("output", "string", "", "Output format.", short="o"),
            Flag("filename", "slice", [], "Filename", short="f")]


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub is None or not args:
        raise CommandError("error: one or more CSRs must be specified as <name> or -f <filename>")
    ctype = "Approved" if sub == "approve" else "Denied"
    for name in args:
        name = name.split("/", 1)[-1]
        path = f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}"
        csr = f.client.get(path)
        conds = (csr.setdefault("status", {})).setdefault("conditions", [])
        if any(c.get("type") == ctype for c in conds) and not opts["force"]:
            f.out.write(f"certificatesigningrequest.certificates.k8s.io/{name} {sub}d\n")
            continue
        conds.append({"type": ctype, "status": "True", "reason": f"Kubectl{sub.capitalize()}",
                      "message": f"This CSR was {sub}d by kubectl certificate {sub}."})
        f.client.json("PUT", path + "/approval", body=csr)
        f.out.write(f"certificatesigningrequest.certificates.k8s.io/{name} {sub}d\n")
    return 0
