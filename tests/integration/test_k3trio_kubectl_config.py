"""``k3trio kubectl config`` against the real kubectl: each works on its own copy of the same
kubeconfig; every step must print the same and leave an identical file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ._kubectl_compare import Pair
from ._server import ServerProcess

STEPS = [
    ["config", "view"], ["config", "view", "--raw"], ["config", "view", "-o", "json"],
    ["config", "get-contexts"], ["config", "get-contexts", "-o", "name"],
    ["config", "current-context"],
    ["config", "set-context", "dev", "--cluster=default", "--user=default", "--namespace=dev"],
    ["config", "set-context", "dev", "--namespace=x"],
    ["config", "get-contexts"], ["config", "get-contexts", "dev"],
    ["config", "set-cluster", "c2", "--server=https://1.2.3.4:6443",
     "--insecure-skip-tls-verify=true"],
    ["config", "set-credentials", "u2", "--token=abc"],
    ["config", "set-credentials", "u3", "--username=a", "--password=b"],
    ["config", "view"],
    ["config", "use-context", "dev"], ["config", "use-context", "nope"],
    ["config", "current-context"], ["config", "get-clusters"], ["config", "get-users"],
    ["config", "view", "--minify"], ["config", "view", "--minify", "-o",
                                     "jsonpath={.contexts[0].context.namespace}"],
    ["config", "rename-context", "dev", "dev2"], ["config", "set-context", "--current",
                                                  "--namespace=zz"],
    ["config", "delete-context", "dev2"], ["config", "delete-cluster", "c2"],
    ["config", "delete-user", "u2"], ["config", "delete-user", "nope"],
    ["config", "view"], ["config", "set", "clusters.default.tls-server-name", "example"],
    ["config", "unset", "clusters.default.tls-server-name"], ["config", "view", "--raw"],
]


def test_config_sequence(api_server: ServerProcess, kubectl: str, tmp_path: Path) -> None:
    pair = Pair(kubectl, api_server.kubeconfig, tmp_path / "homes")
    real_cfg, ours_cfg = tmp_path / "real.yaml", tmp_path / "ours.yaml"
    shutil.copy(api_server.kubeconfig, real_cfg)
    shutil.copy(api_server.kubeconfig, ours_cfg)
    for step in STEPS:
        real = pair.real(*step, env={"KUBECONFIG": str(real_cfg)}, kubeconfig=False)
        ours = pair.ours(*step, env={"KUBECONFIG": str(ours_cfg)}, kubeconfig=False)
        r_out, o_out = real.out, ours.out.replace(str(ours_cfg), str(real_cfg))
        r_err, o_err = real.err, ours.err.replace(str(ours_cfg), str(real_cfg))
        ctx = f"\nstep {step}\nreal {real}\nours {ours}"
        if step[1] in ("get-clusters", "get-users"):  # kubectl walks a Go map: any order
            r_out, o_out = sorted(r_out.splitlines()), sorted(o_out.splitlines())
        assert (real.code, r_out, r_err) == (ours.code, o_out, o_err), ctx
        assert yaml.safe_load(real_cfg.read_text()) == yaml.safe_load(ours_cfg.read_text()), ctx
        assert real_cfg.read_text() == ours_cfg.read_text(), ctx


def test_empty_config(api_server: ServerProcess, kubectl: str, tmp_path: Path) -> None:
    pair = Pair(kubectl, api_server.kubeconfig, tmp_path / "homes")
    for step in (["config", "view"], ["config", "current-context"], ["config", "get-contexts"]):
        real = pair.real(*step, kubeconfig=False)
        ours = pair.ours(*step, kubeconfig=False)
        assert (real.code, real.out, real.err) == (ours.code, ours.out, ours.err), step
