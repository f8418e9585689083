"""Protobuf messages and grpclib stubs generated from the upstream interface files.

Do not edit: regenerate with ``build/gen-protos.sh``, which compiles the CRI
(``k3trio._generated.cri``) and etcd v3 (``k3trio._generated.etcd.api.*``) protos from
``shared/reference`` with the protobuf runtime pinned in ``arch/*/requirements.txt``.
"""
