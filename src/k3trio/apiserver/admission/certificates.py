"""CertificateSubjectRestriction: no ``system:masters`` client certificates through CSRs.

A CertificateSigningRequest for the ``kubernetes.io/kube-apiserver-client`` signer whose
subject names the ``system:masters`` organization is refused on create, since such a
certificate would bypass authorization entirely.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.x509.oid import NameOID

from k3trio.apiserver.admission._common import forbidden, spec_of
from k3trio.apiserver.interfaces import AdmissionAttributes, Operation

API_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
MASTERS_GROUP = "system:masters"


class CertificateSubjectRestriction:
    name = "CertificateSubjectRestriction"

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == "certificates.k8s.io"
            and attrs.resource == "certificatesigningrequests"
            and not attrs.subresource
            and attrs.obj is not None
        )

    async def validate(self, attrs: AdmissionAttributes) -> None:
        spec = spec_of(attrs.obj)
        if spec.get("signerName") != API_CLIENT_SIGNER:
            return
        try:
            pem = base64.b64decode(str(spec.get("request", "")), validate=True)
            csr = x509.load_pem_x509_csr(pem)
        except ValueError:
            return  # validation reports an unparsable request
        orgs = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if MASTERS_GROUP in orgs:
            raise forbidden(
                attrs, f"use of {API_CLIENT_SIGNER} signer with {MASTERS_GROUP} group is not allowed"
            )
