"""A node's s1spki.toml: the database URL from a file or a variable, never with its password in the file, and the
node's own id and EST address."""

from __future__ import annotations

from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.home.config import load_config, render_config

HSM = {"module": "softhsm", "token_label": "s1spki", "pin_file": "secrets/hsm-user.pin"}


def _home(tmp_path: Path, database: dict[str, str], node_id: str | None = None) -> Path:
    (tmp_path / "s1spki.toml").write_text(render_config(hsm=HSM, audit_hsm=None, database=database, node_id=node_id,
                                                        est_listen="127.0.0.1:8443"))
    return tmp_path


def test_the_url_comes_from_its_file_and_the_node_settings_are_read(tmp_path: Path) -> None:
    url = "postgresql+psycopg://s1spki:secret-pw@db.example/s1spki"
    (tmp_path / "db.url").write_text(url + "\n")
    config = load_config(_home(tmp_path, {"url_file": "db.url"}, node_id="node-2"))
    assert (config.database_url, config.node_id, config.est_listen) == (url, "node-2", "127.0.0.1:8443")


@pytest.mark.parametrize("url", ["postgresql+psycopg://s1spki:secret-pw@db.example/s1spki",
                                 "postgresql://db.example/s1spki?user=s1spki&password=secret-pw"])
def test_a_password_in_s1spki_toml_is_refused_without_repeating_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(_home(tmp_path, {"url": url}))
    assert "holds a password" in refused.value.message and "secret-pw" not in str(refused.value.as_dict())


def test_a_malformed_node_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(_home(tmp_path, {"url": "sqlite:///s1spki.db"}, node_id="../other"))
    assert "node.id" in refused.value.message
