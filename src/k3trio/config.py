"""Typed configuration for ``k3trio server`` and ``k3trio agent``.

Configuration comes from three places, later ones winning: built-in defaults, the YAML config
file (keys are flag names, as K3s does: ``https-listen-port: 6443``, ``tls-san: [a, b]``) and
command-line flags. The merged mapping is structured into these frozen classes with cattrs;
anything that does not fit raises ``ConfigError`` with a one-line message.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

import attrs
import cattrs

__all__ = ["AgentConfig", "ConfigError", "ServerConfig", "default_data_dir", "structure"]


class ConfigError(Exception):
    """Bad configuration: the message is one line, fit to print after ``k3trio: ``."""


def _is_root() -> bool:
    return os.geteuid() == 0


def default_data_dir() -> Path:
    """``/var/lib/k3trio`` as root, ``~/.k3trio`` otherwise."""
    return Path("/var/lib/k3trio") if _is_root() else Path.home() / ".k3trio"


def default_config_file() -> Path:
    return Path("/etc/k3trio/config.yaml")


def _default_node_name() -> str:
    return socket.gethostname().split(".")[0].lower()


#: The ``--kubelet-arg`` keys k3trio's kubelet understands, with a check of their value.
KUBELET_ARGS = {"port": lambda v: v.isdigit() and 1 <= int(v) <= 65535}


def parse_kubelet_args(args: tuple[str, ...]) -> dict[str, str]:
    """``("port=10251",)`` -> ``{"port": "10251"}``.

    Raises:
        ConfigError: an argument is not ``key=value``, names an unsupported key, or has a
            bad value.
    """
    settings: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.lstrip("-").partition("=")
        check = KUBELET_ARGS.get(key)
        if not sep or check is None:
            supported = ", ".join(sorted(KUBELET_ARGS))
            raise ConfigError(f"unsupported kubelet-arg {arg!r} (supported: {supported})")
        if not check(value):
            raise ConfigError(f"kubelet-arg {arg!r}: invalid value")
        settings[key] = value
    return settings


@attrs.frozen(kw_only=True)
class AgentConfig:
    """Settings shared by the node agent, whether inside the server or standalone."""

    data_dir: Path = attrs.field(factory=default_data_dir)
    node_name: str = attrs.field(factory=_default_node_name)
    node_ip: str | None = None
    server: str | None = None
    token: str | None = None
    container_runtime_endpoint: str | None = None
    #: The sandbox image; the default is built into k3trio (from the host's static catatonit)
    #: and imported at agent start, so pods start with no registry.
    pause_image: str = "docker.io/k3trio/pause:catatonit"
    node_label: tuple[str, ...] = ()
    node_taint: tuple[str, ...] = ()
    kubelet_arg: tuple[str, ...] = ()
    debug: bool = False

    def kubelet_settings(self) -> dict[str, str]:
        """``--kubelet-arg key=value`` settings (see ``KUBELET_ARGS``)."""
        return parse_kubelet_args(self.kubelet_arg)

    def kubelet_port(self) -> int:
        """The kubelet API port (``--kubelet-arg port=N``; default 10250)."""
        return int(self.kubelet_settings().get("port", "10250"))


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Settings of ``k3trio server`` (see ``k3trio server --help``)."""

    data_dir: Path = attrs.field(factory=default_data_dir)
    https_listen_port: int = 6443
    bind_address: str = "0.0.0.0"
    advertise_address: str | None = None
    tls_san: tuple[str, ...] = ()
    write_kubeconfig: Path | None = None
    write_kubeconfig_mode: str | None = None
    token: str | None = None
    cluster_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    service_node_port_range: str = "30000-32767"
    cluster_dns: str = "10.43.0.10"
    cluster_domain: str = "cluster.local"
    node_name: str = attrs.field(factory=_default_node_name)
    node_ip: str | None = None
    disable_agent: bool = False
    disable: tuple[str, ...] = ()
    datastore_endpoint: str | None = None
    container_runtime_endpoint: str | None = None
    node_label: tuple[str, ...] = ()
    node_taint: tuple[str, ...] = ()
    kubelet_arg: tuple[str, ...] = ()
    debug: bool = False

    def kubeconfig_path(self) -> Path:
        """Where the admin kubeconfig goes: the flag, else the K3s-style default."""
        if self.write_kubeconfig is not None:
            return self.write_kubeconfig
        if _is_root():
            return Path("/etc/k3trio/k3trio.yaml")
        return self.data_dir / "kubeconfig.yaml"

    def kubeconfig_mode(self) -> int:
        if self.write_kubeconfig_mode is None:
            return 0o600
        return int(self.write_kubeconfig_mode, 8)

    def first_service_ip(self) -> str:
        """The ``kubernetes`` service's ClusterIP: the first address of the service CIDR."""
        net = ipaddress.ip_network(self.service_cidr, strict=False)
        return str(net.network_address + 1)

    def agent(self) -> AgentConfig:
        """The agent settings embedded in this server's configuration."""
        return AgentConfig(
            data_dir=self.data_dir,
            node_name=self.node_name,
            node_ip=self.node_ip,
            container_runtime_endpoint=self.container_runtime_endpoint,
            node_label=self.node_label,
            node_taint=self.node_taint,
            kubelet_arg=self.kubelet_arg,
            debug=self.debug,
        )


_CIDR_FIELDS = ("cluster_cidr", "service_cidr")
_IP_FIELDS = ("cluster_dns", "bind_address", "advertise_address", "node_ip")


def _check_parse(cfg: ServerConfig, names: tuple[str, ...], parse: Any, what: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value is None:
            continue
        try:
            parse(value)
        except ValueError:
            raise ConfigError(f"{name.replace('_', '-')} {value!r} is not {what}") from None


def _validate_server(cfg: ServerConfig) -> None:
    parse_kubelet_args(cfg.kubelet_arg)
    if not 1 <= cfg.https_listen_port <= 65535:
        raise ConfigError(f"https-listen-port {cfg.https_listen_port} is not a valid port")
    _check_parse(cfg, _CIDR_FIELDS, lambda v: ipaddress.ip_network(v, strict=False), "a CIDR")
    _check_parse(cfg, _IP_FIELDS, ipaddress.ip_address, "an IP address")
    if cfg.write_kubeconfig_mode is not None:
        try:
            mode = int(cfg.write_kubeconfig_mode, 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o777:
            raise ConfigError(
                f"write-kubeconfig-mode {cfg.write_kubeconfig_mode!r} is not an octal file mode"
            )
    low, _, high = cfg.service_node_port_range.partition("-")
    if not (low.isdigit() and high.isdigit() and 0 < int(low) <= int(high) <= 65535):
        raise ConfigError(
            f"service-node-port-range {cfg.service_node_port_range!r} is not a range like 30000-32767"
        )


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(Path, lambda v, _: Path(os.path.expanduser(str(v))))


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return str(value)


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    """A repeatable flag: a list, or one string (comma-separated values allowed, as K3s)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple)):
        return tuple(_structure_str(v, str) for v in value)
    raise ValueError(f"expected a list of strings, got {type(value).__name__}")


_converter.register_structure_hook(bool, _structure_bool)
_converter.register_structure_hook_func(
    lambda t: t == tuple[str, ...], _structure_str_tuple
)
_converter.register_structure_hook(str, _structure_str)


def structure(cls: type[ServerConfig] | type[AgentConfig], data: dict[str, Any]) -> Any:
    """Build a config object from a mapping of flag names (dashes or underscores).

    Raises:
        ConfigError: a key is unknown or a value has the wrong type or is out of range.
    """
    fields = {f.name for f in attrs.fields(cls)}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise ConfigError(f"unknown configuration key {key!r}")
        if value is None:
            continue
        clean[name] = value
    try:
        cfg = _converter.structure(clean, cls)
    except cattrs.BaseValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    if isinstance(cfg, ServerConfig):
        _validate_server(cfg)
    else:
        parse_kubelet_args(cfg.kubelet_arg)
    return cfg


def _first_error(exc: cattrs.BaseValidationError) -> str:
    for sub, note in zip(
        exc.exceptions, (getattr(e, "__notes__", [""])[0] for e in exc.exceptions)
    ):
        if isinstance(sub, cattrs.BaseValidationError):
            return _first_error(sub)
        where = ""
        if note:
            # cattrs notes look like "Structuring class ServerConfig @ attribute https_listen_port"
            where = note.rsplit(" ", 1)[-1].replace("_", "-")
        return f"invalid value for {where}: {sub}" if where else str(sub)
    return str(exc)
