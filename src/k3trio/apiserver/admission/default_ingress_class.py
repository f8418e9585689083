"""DefaultIngressClass: an Ingress created without a class gets the default IngressClass.

Applies when ``spec.ingressClassName`` is absent and the legacy ``kubernetes.io/ingress.class``
annotation is not set; the default is the IngressClass annotated
``ingressclass.kubernetes.io/is-default-class: "true"`` (the newest when several are).
"""

from __future__ import annotations

from k3trio.apiserver.admission._common import annotations_of, meta_of
from k3trio.apiserver.admission.storage import newest_default
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

INGRESS_CLASSES = "ingressclasses.networking.k8s.io"
DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class DefaultIngressClass:
    name = "DefaultIngressClass"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == "networking.k8s.io"
            and attrs.resource == "ingresses"
            and not attrs.subresource
            and attrs.obj is not None
        )

    async def admit(self, attrs: AdmissionAttributes) -> None:
        ing = attrs.obj
        assert ing is not None
        spec = ing.setdefault("spec", {})
        if spec.get("ingressClassName") is not None or LEGACY_CLASS_ANNOTATION in annotations_of(ing):
            return
        found = newest_default(self._objects.list(INGRESS_CLASSES), (DEFAULT_ANNOTATION,))
        if found is not None:
            spec["ingressClassName"] = meta_of(found).get("name", "")
