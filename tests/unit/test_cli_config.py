"""Contexts and the precedence of --server, $CORRAL_SERVER and the config file (corral.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.cli.contexts import (
    Config,
    ConfigError,
    Context,
    load,
    parse,
    resolve_namespace,
    resolve_server,
    save,
)

CONTEXT = Context("dev", server="10.0.0.1:7443", namespace="shop")


@pytest.mark.parametrize(("flag", "env", "context", "expected"), [
    ("flag:1", {"CORRAL_SERVER": "env:1"}, CONTEXT, "flag:1"),
    (None, {"CORRAL_SERVER": "env:1"}, CONTEXT, "env:1"),
    (None, {}, CONTEXT, "10.0.0.1:7443"),
    (None, {"CORRAL_SERVER": ""}, CONTEXT, "10.0.0.1:7443"),
    (None, {}, None, "127.0.0.1:7443"),
    (None, {}, Context("empty"), "127.0.0.1:7443"),
])
def test_server_precedence_is_flag_then_environment_then_context_then_default(
    flag: str | None, env: dict[str, str], context: Context | None, expected: str
) -> None:
    assert resolve_server(flag, env, context) == expected


def test_namespace_precedence_is_flag_then_context_then_default() -> None:
    assert resolve_namespace("ns", CONTEXT) == "ns"
    assert resolve_namespace(None, CONTEXT) == "shop"
    assert resolve_namespace(None, None) == "default"


def test_config_file_round_trips_with_tls_and_token(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config"
    config = Config(current_context="dev", contexts=[
        Context("dev", server="a:1", namespace="shop", tls={"ca": "/ca.pem"}, token="t")])
    save(config, path)
    assert load(path) == config


def test_missing_config_file_is_an_empty_config(tmp_path: Path) -> None:
    assert load(tmp_path / "nope") == Config()


def test_selected_context_is_the_named_one_else_the_current_one() -> None:
    config = parse("current-context: a\ncontexts: [{name: a}, {name: b}]\n", "cfg")
    assert config.selected().name == "a"
    assert config.selected("b").name == "b"
    with pytest.raises(ConfigError, match=r'context "c" does not exist \(contexts: a, b\)'):
        config.selected("c")


def test_set_context_creates_then_changes_only_what_is_given() -> None:
    config = Config()
    config.set_context("dev", server="a:1", namespace="x")
    config.set_context("dev", namespace="y")
    assert config.contexts == [Context("dev", server="a:1", namespace="y")]


@pytest.mark.parametrize(("text", "message"), [
    ("[1]", "cfg: expected a mapping with current-context and contexts"),
    ("contexts: 3", "cfg: contexts: expected a list"),
    ("contexts: [{server: x}]", "cfg: contexts[0]: expected a mapping with a name"),
    ("contexts: [{name: a, colour: red}]", "cfg: contexts[0].colour: unknown field"),
    ("current-context: a\nextra: 1", "cfg: extra: unknown field"),
])
def test_bad_config_files_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(text, "cfg")
    assert str(error.value) == message
