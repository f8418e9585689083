"""``k3trio``: the command line. Thin: it parses, builds config objects, and hands over."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..version import version_line

SUBCOMMANDS = {
    "server": "run the management server (API server, scheduler, controllers, and an agent)",
    "agent": "run a node agent that joins a server",
    "kubectl": "run kubectl against this server's cluster",
    "hollow-nodes": "run simulated (hollow) kubelets against a cluster, for scale tests",
}


class UsageError(Exception):
    """A one-line command-line error (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from . import flags

    parser = _Parser(
        prog="k3trio",
        description="k3trio: a lightweight Kubernetes in one file.",
    )
    parser.add_argument("--version", "-v", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in ("server", "agent"):
        sp = sub.add_parser(name, help=SUBCOMMANDS[name], description=SUBCOMMANDS[name])
        flags.add_flags(sp, name)
    sub.add_parser("kubectl", help=SUBCOMMANDS["kubectl"], add_help=False)
    from .hollow import add_arguments as add_hollow_arguments

    hollow = sub.add_parser("hollow-nodes", help=SUBCOMMANDS["hollow-nodes"],
                            description=SUBCOMMANDS["hollow-nodes"])
    add_hollow_arguments(hollow)
    return parser


def load_settings(command: str, given: dict[str, Any]) -> dict[str, Any]:
    """Merge config file, environment and flags (later wins) into one mapping."""
    from . import flags
    from .configfile import load_config_file

    env = flags.from_environment(command)
    explicit = given.get("config") or env.get("config")
    settings = load_config_file(Path(explicit) if explicit else None, command)
    settings.update({k: v for k, v in env.items() if k != "config"})
    settings.update({k: v for k, v in given.items() if k != "config"})
    return settings


def main(argv: list[str]) -> int:
    """Run the command line; returns the process exit status."""
    if argv[:1] == ["kubectl"]:
        from ..kubectl.main import main as kubectl_main

        return kubectl_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "hollow-nodes":
            from .hollow import run as run_hollow

            return run_hollow(args)
        given = {k: v for k, v in vars(args).items() if k != "command"}
        settings = load_settings(args.command, given)
        if args.command == "server":
            from ..config import ServerConfig, structure
            from ..server import run_server

            return run_server(structure(ServerConfig, settings))
        if args.command == "agent":
            from ..agentmain import run_agent
            from ..config import AgentConfig, structure

            return run_agent(structure(AgentConfig, settings))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except Exception as exc:
        from ..config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"k3trio: {exc}", file=sys.stderr)
            return 1
        raise
    return 0
