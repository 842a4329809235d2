"""docker-compose.yml as the tests read it: validated by docker-compose, loaded as mappings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
APP_SERVICES = ("api", "orchestrator", "media", "post-call", "webhooks")
ComposeConfig = dict[str, Any]


def docker_compose() -> str:
    """Locate the `docker-compose` binary, failing the test when it is missing.

    Returns:
        The absolute path of `docker-compose`.
    """
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not on PATH; `make setup` installs it "
            "(Debian package `docker-compose`)."
        )
    return binary


def run_config(compose_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose config` on a file, resolving relative paths from the repo root.

    Args:
        compose_file: The Compose file to check.
        *extra: Further arguments for `config`, such as `-q`.

    Returns:
        The finished process, with text stdout and stderr captured.
    """
    return subprocess.run(
        [
            docker_compose(),
            "-f",
            str(compose_file),
            "--project-directory",
            str(REPO_ROOT),
            "config",
            *extra,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def as_mapping(value: Any, where: str) -> ComposeConfig:
    """Narrow a parsed YAML node to a string-keyed mapping.

    Args:
        value: The parsed node.
        where: What the node is, for the assertion message.

    Returns:
        The node, typed as a mapping.
    """
    assert isinstance(value, dict), f"{where} should be a mapping, got {type(value).__name__}"
    return value


def environment(service: ComposeConfig, name: str) -> dict[str, str]:
    """Return a service's environment as a dict, whichever Compose syntax it uses.

    Args:
        service: The service's mapping.
        name: The service's name, for assertion messages.

    Returns:
        Variable names mapped to their (uninterpolated) values.
    """
    raw = service.get("environment")
    if isinstance(raw, list):
        pairs = (str(item).partition("=") for item in raw)
        return {key: value for key, _, value in pairs}
    return {str(key): str(value) for key, value in as_mapping(raw, f"{name}.environment").items()}
