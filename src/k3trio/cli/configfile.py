"""Reading the YAML config file (``--config``, default ``/etc/k3trio/config.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import ConfigError, default_config_file
from . import flags


def load_config_file(path: Path | None, command: str) -> dict[str, Any]:
    """Return the file's settings as flag-name keys.

    An explicitly named file must exist; the default file is optional. Keys must be flags of
    ``command``.

    Raises:
        ConfigError: unreadable file, bad YAML, not a mapping, or an unknown key.
    """
    import yaml

    explicit = path is not None
    path = path or default_config_file()
    try:
        text = path.read_text()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where}: invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of flag names to values")
    known = {f.name for f in flags.flags_for(command)} - {"config"}
    for key in data:
        if not isinstance(key, str) or key.replace("_", "-") not in known:
            raise ConfigError(f"config file {path}: unknown key {key!r}")
    return {k.replace("_", "-"): v for k, v in data.items()}
