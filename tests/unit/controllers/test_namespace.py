"""Namespace deletion conditions and the resources it empties (pure)."""

from __future__ import annotations

from k3trio.client.resource import Resource
from k3trio.controllers.namespace import Outcome, deletable, deletion_conditions


def test_conditions_all_good_and_remaining() -> None:
    conds = deletion_conditions(Outcome(), [], "2026-01-01T00:00:00Z")
    assert [(c["type"], c["status"], c["reason"]) for c in conds] == [
        ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered"),
        ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions"),
        ("NamespaceDeletionContentFailure", "False", "ContentDeleted"),
        ("NamespaceContentRemaining", "False", "ContentRemoved"),
        ("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers"),
    ]
    out = Outcome(remaining={"pods": 2, "deployments.apps": 1},
                  finalizers={"pods: example.com/keep": 2})
    later = deletion_conditions(out, conds, "2026-01-01T00:01:00Z")
    remaining = later[3]
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == ("Some resources are remaining: deployments.apps has 1 "
                                    "resource instances, pods has 2 resource instances")
    assert remaining["lastTransitionTime"] == "2026-01-01T00:01:00Z"
    assert later[4]["message"] == ("Some content in the namespace has finalizers remaining: "
                                   "pods: example.com/keep in 2 resource instances")
    assert later[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"  # unchanged status
    assert not out.done and Outcome().done


def test_deletable_resources() -> None:
    rs = [Resource("apps", "v1", "deployments", "Deployment", True, verbs=("list", "delete")),
          Resource("apps", "v1beta1", "deployments", "Deployment", True, verbs=("list", "delete")),
          Resource("", "v1", "nodes", "Node", False, verbs=("list", "delete")),
          Resource("", "v1", "bindings", "Binding", True, verbs=("create",)),
          Resource("", "v1", "pods", "Pod", True, verbs=("list", "deletecollection"))]
    assert [(r.group, r.version, r.resource) for r in deletable(rs)] == [
        ("apps", "v1", "deployments"), ("", "v1", "pods")]
