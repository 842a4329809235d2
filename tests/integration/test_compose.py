"""The production-shaped stack in docker-compose.yml: valid for Compose, wired as designed.

No Docker engine is needed: `docker-compose config` validates and resolves the file
offline. The binary is the Debian `docker-compose` (1.29, Python) that `make setup`
installs; its absence fails these tests rather than skipping them, so a green run always
means the file was actually checked.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.compose import (
    APP_SERVICES,
    COMPOSE_FILE,
    ComposeConfig,
    as_mapping,
    docker_compose,
    environment,
    run_config,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = (
    "temporal",
    "temporal-ui",
    "postgres",
    "otel-collector",
    "jaeger",
    *APP_SERVICES,
)


def _load_compose_file() -> ComposeConfig:
    """Parse docker-compose.yml with PyYAML (anchors and merge keys resolved).

    Returns:
        The top-level mapping of the file.
    """
    return as_mapping(yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")), "the file")


def _assert_app_wiring(config: ComposeConfig, source: str) -> None:
    """Check that every app service points at the stack's Temporal and Postgres services.

    Args:
        config: A parsed Compose configuration, raw or resolved.
        source: Where the configuration came from, for assertion messages.
    """
    services = as_mapping(config.get("services"), f"services ({source})")
    for name in APP_SERVICES:
        env = environment(as_mapping(services.get(name), f"{name} ({source})"), name)

        temporal_address = env.get("CENTRALITA_TEMPORAL_ADDRESS", "")
        host, _, port = temporal_address.partition(":")
        assert (host, port) == ("temporal", "7233"), (
            f"{name} ({source}): CENTRALITA_TEMPORAL_ADDRESS={temporal_address!r} "
            "should be temporal:7233"
        )
        assert host in services

        url = urlsplit(env.get("CENTRALITA_DATABASE_URL", ""))
        assert url.scheme.startswith("postgres"), f"{name} ({source}): {url.geturl()!r}"
        assert url.hostname == "postgres", (
            f"{name} ({source}): CENTRALITA_DATABASE_URL host is {url.hostname!r}, "
            "should be the postgres service"
        )
        assert url.port == 5432
        assert url.path == "/centralita"


def test_compose_file_validates() -> None:
    """`docker-compose config -q` accepts the file."""
    result = run_config(COMPOSE_FILE, "-q")

    assert result.returncode == 0, f"docker-compose rejected {COMPOSE_FILE.name}:\n{result.stderr}"


def test_compose_file_has_the_stack_and_wires_it() -> None:
    """The expected services exist and the app processes reach Temporal and Postgres."""
    raw = _load_compose_file()
    services = as_mapping(raw.get("services"), "services")
    missing = [name for name in EXPECTED_SERVICES if name not in services]
    assert not missing, f"services missing from {COMPOSE_FILE.name}: {missing}"
    _assert_app_wiring(raw, "file")

    # Again on what Compose itself resolves (variables interpolated, anchors merged), so a
    # `${VAR}` in a URL or a broken merge can't hide behind the raw text.
    result = run_config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    _assert_app_wiring(as_mapping(yaml.safe_load(result.stdout), "resolved config"), "resolved")


def _undefined_dependency(config: ComposeConfig) -> str:
    """Make `api` depend on a service the file does not define.

    Args:
        config: The parsed file, changed in place.

    Returns:
        The undefined service's name, which the error must mention.
    """
    api = config["services"]["api"]
    # A fresh dict: the file shares one depends_on mapping between the app services.
    api["depends_on"] = {
        **api["depends_on"],
        "no-such-service": {"condition": "service_started"},
    }
    return "no-such-service"


def _unknown_key(config: ComposeConfig) -> str:
    """Give `api` a key that is not part of the Compose format.

    Args:
        config: The parsed file, changed in place.

    Returns:
        The unknown key, which the error must mention.
    """
    config["services"]["api"]["not_a_compose_key"] = True
    return "not_a_compose_key"


def _bad_condition(config: ComposeConfig) -> str:
    """Give one of `api`'s dependencies a condition Compose does not know.

    Args:
        config: The parsed file, changed in place.

    Returns:
        The invalid condition, which the error must mention.
    """
    api = config["services"]["api"]
    api["depends_on"] = {**api["depends_on"], "migrate": {"condition": "service_finished"}}
    return "service_finished"


@pytest.mark.parametrize(
    "breakage",
    [_undefined_dependency, _unknown_key, _bad_condition],
    ids=["undefined-dependency", "unknown-key", "bad-condition"],
)
def test_validation_rejects_a_broken_copy(
    tmp_path: Path, breakage: Callable[[ComposeConfig], str]
) -> None:
    """A copy of the file with one deliberate defect fails `docker-compose config -q`.

    The unmodified copy is checked first, so the failure is the defect's and not the
    copying's.

    Args:
        tmp_path: Where the copies are written.
        breakage: Mutates the parsed file in place and returns a word the error must name.
    """
    original = _load_compose_file()

    intact = tmp_path / "intact.yml"
    intact.write_text(yaml.safe_dump(original, sort_keys=False), encoding="utf-8")
    control = run_config(intact, "-q")
    assert control.returncode == 0, f"the unmodified copy should validate:\n{control.stderr}"

    broken_config = copy.deepcopy(original)
    culprit = breakage(broken_config)
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(broken_config, sort_keys=False), encoding="utf-8")
    result = run_config(broken, "-q")

    assert result.returncode != 0, f"docker-compose accepted a file with {culprit!r}"
    assert culprit in result.stderr, result.stderr


def _seconds(duration: str) -> float:
    """A Compose duration (`11m`, `90s`, `1m30s`) in seconds."""
    total, number = 0.0, ""
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
            continue
        total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
        number = ""
    return total


def test_media_workers_scale_and_drain_before_docker_kills_them() -> None:
    """Issue 20: `--scale media=N` needs no fixed host port, the workers reach each
    other by hostname, and Docker waits longer than a drain before it kills one."""
    result = run_config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    media = as_mapping(
        as_mapping(yaml.safe_load(result.stdout)["services"], "services")["media"], "media"
    )
    env = environment(media, "media")
    ports = [str(p.get("published", p) if isinstance(p, dict) else p) for p in media["ports"]]
    # A range: each replica takes its own host port; no SIP port a second replica would
    # fight over (SIP workers are deploy/docker-compose.sip.yml's).
    assert all("-" in p for p in ports), ports
    assert not any("5060" in p for p in ports), ports
    assert _seconds(str(media["stop_grace_period"])) > float(
        env["CENTRALITA_MEDIA_DRAIN_TIMEOUT_S"]
    )
    assert int(env["CENTRALITA_MEDIA_MAX_CALLS"]) >= 1
    assert "CENTRALITA_MEDIA_ADVERTISED_URL" not in env  # each replica says its hostname


def test_the_sip_media_worker_override_needs_its_addresses() -> None:
    """The SIP override resolves with its addresses set and names each one it lacks."""
    sip = REPO_ROOT / "deploy" / "docker-compose.sip.yml"
    flags = ["-f", str(COMPOSE_FILE), "-f", str(sip)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    ok = subprocess.run(
        [docker_compose(), *flags, "--project-directory", str(REPO_ROOT), "config"],
        cwd=REPO_ROOT,
        env={
            **base,
            "CENTRALITA_SIP_ADVERTISED_ADDRESS": "203.0.113.5",
            "CENTRALITA_SIP_TRUNK_HOST": "sip.example.net",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    service = as_mapping(yaml.safe_load(ok.stdout)["services"]["media-sip"], "media-sip")
    assert environment(service, "media-sip")["CENTRALITA_SIP_ADVERTISED_ADDRESS"] == "203.0.113.5"
    missing = subprocess.run(
        [docker_compose(), *flags, "--project-directory", str(REPO_ROOT), "config", "-q"],
        cwd=REPO_ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode != 0
    assert "set CENTRALITA_SIP_ADVERTISED_ADDRESS" in missing.stderr, missing.stderr
