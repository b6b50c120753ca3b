"""The CLI's configuration: named contexts (a server and a default namespace
each) and the current one, in `~/.corral/config` (YAML):

    current-context: dev
    contexts:
    - name: dev
      server: 127.0.0.1:7443
      namespace: shop

Which server to talk to: `--server`, else $CORRAL_SERVER, else the context's
server, else 127.0.0.1:7443. Which namespace: `--namespace`, else the
context's, else "default". The context is `--context`, else current-context.

Contexts have room for `tls` and `token` settings, kept as written for the
day the API server asks for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corral.client import DEFAULT_SERVER, SERVER_ENV

CONFIG_ENV = "CORRAL_CONFIG"
DEFAULT_NAMESPACE = "default"


class ConfigError(Exception):
    """A configuration file that cannot be read or a context that does not exist."""


@dataclass
class Context:
    name: str
    server: str = ""
    namespace: str = ""
    # Not used yet; kept so that files written for later versions survive a rewrite.
    tls: dict[str, Any] = field(default_factory=dict)
    token: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        for key in ("server", "namespace", "tls", "token"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


@dataclass
class Config:
    current_context: str = ""
    contexts: list[Context] = field(default_factory=list)

    def context(self, name: str) -> Context:
        for context in self.contexts:
            if context.name == name:
                return context
        known = ", ".join(c.name for c in self.contexts) or "none"
        raise ConfigError(f'context "{name}" does not exist (contexts: {known})')

    def selected(self, name: str | None = None) -> Context | None:
        """The context called `name`, else the current one, else None."""
        chosen = name or self.current_context
        return self.context(chosen) if chosen else None

    def set_context(self, name: str, *, server: str | None = None,
                    namespace: str | None = None) -> Context:
        """Creates the context or changes the given settings of it."""
        try:
            context = self.context(name)
        except ConfigError:
            context = Context(name)
            self.contexts.append(context)
        if server is not None:
            context.server = server
        if namespace is not None:
            context.namespace = namespace
        return context

    def to_dict(self) -> dict[str, Any]:
        return {
            "current-context": self.current_context,
            "contexts": [context.to_dict() for context in self.contexts],
        }


def default_path() -> Path:
    """$CORRAL_CONFIG, else ~/.corral/config."""
    explicit = os.environ.get(CONFIG_ENV)
    return Path(explicit) if explicit else Path.home() / ".corral" / "config"


def parse(text: str, source: str) -> Config:
    """A Config from the YAML text of a config file; ConfigError naming what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: malformed YAML: {error}") from None
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with current-context and contexts")
    unknown = set(data) - {"current-context", "contexts"}
    if unknown:
        raise ConfigError(f"{source}: {sorted(unknown)[0]}: unknown field")
    contexts = data.get("contexts") or []
    if not isinstance(contexts, list):
        raise ConfigError(f"{source}: contexts: expected a list")
    config = Config(current_context=str(data.get("current-context") or ""))
    for index, item in enumerate(contexts):
        where = f"{source}: contexts[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{where}: expected a mapping with a name")
        extra = set(item) - {"name", "server", "namespace", "tls", "token"}
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}: unknown field")
        tls = item.get("tls") or {}
        if not isinstance(tls, dict):
            raise ConfigError(f"{where}.tls: expected a mapping")
        config.contexts.append(Context(
            name=item["name"], server=str(item.get("server") or ""),
            namespace=str(item.get("namespace") or ""), tls=tls,
            token=str(item.get("token") or ""),
        ))
    return config


def load(path: Path) -> Config:
    """The config in `path`; an empty Config when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    return parse(text, str(path))


def save(config: Config, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")


def resolve_server(flag: str | None, environ: dict[str, str] | os._Environ[str],
                   context: Context | None) -> str:
    """--server, else $CORRAL_SERVER, else the context's server, else the default."""
    if flag:
        return flag
    if environ.get(SERVER_ENV):
        return environ[SERVER_ENV]
    if context is not None and context.server:
        return context.server
    return DEFAULT_SERVER


def resolve_namespace(flag: str | None, context: Context | None) -> str:
    """--namespace, else the context's namespace, else "default"."""
    if flag:
        return flag
    if context is not None and context.namespace:
        return context.namespace
    return DEFAULT_NAMESPACE
