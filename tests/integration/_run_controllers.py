"""Run some registered controllers against a kubeconfig (a helper process for integration
tests): ``python _run_controllers.py KUBECONFIG name,name,...``.

HTTP/1.1 as the server's own controllers component uses.
"""

from __future__ import annotations

import logging
import sys

import httpx
import trio

from k3trio.client import Client, ClientConfig
from k3trio.controllers.manager import CONTROLLERS, run_controllers


async def main(kubeconfig: str, names: list[str]) -> None:
    cfg = ClientConfig.from_kubeconfig(kubeconfig, component="kube-controller-manager")
    transport = httpx.AsyncHTTPTransport(verify=cfg.ssl_context(), http2=False,
                                         limits=httpx.Limits(max_connections=100))
    async with Client(cfg, transport=transport) as client:
        await run_controllers(client, specs=[s for s in CONTROLLERS if s.name in names])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    trio.run(main, sys.argv[1], sys.argv[2].split(","))
