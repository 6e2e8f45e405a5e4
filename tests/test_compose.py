"""compose.yaml refers only to what exists: entry points, files, variables; and mounts the tested broker config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from tests.utils.brokers import SHIPPED_CONF
from wasteflow.cli import app
from wasteflow.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
WASTEFLOW_SERVICES = [name for name, s in SERVICES.items() if s.get("image", "").startswith("wasteflow")]
EXTRA_VARIABLES = {"WASTEFLOW_BRIDGE_CLIENT_ID", "WASTEFLOW_BROKER_BRIDGE_PASSWORD", "WASTEFLOW_BROKER_ALERT_PASSWORD",
                   "WASTEFLOW_BROKER_BRIDGE_USER", "WASTEFLOW_BROKER_ALERT_USER", "WASTEFLOW_LOG_LEVEL",
                   "WASTEFLOW_BROKER_JT808_USER", "WASTEFLOW_BROKER_JT808_PASSWORD", "WASTEFLOW_BROKER_OSMAND_USER",
                   "WASTEFLOW_BROKER_OSMAND_PASSWORD", "WASTEFLOW_DEVICE_SECRET"}
"""Read outside the settings object: by the bridge's entry point and by `wasteflow broker-config` and
`wasteflow gateway scale` options."""


def cli_commands() -> set[tuple[str, ...]]:
    root = get_command(app)
    names = set()
    for name, command in root.commands.items():
        names.add((name,))
        for sub in getattr(command, "commands", {}):
            names.add((name, sub))
    return names


def test_expected_services_exist():
    assert {"postgres", "mosquitto", "api", "bridge-1", "bridge-2", "migrate", "simulator", "webhooks"} <= set(SERVICES)
    assert SERVICES["simulator"]["profiles"] == ["simulator"]
    for name in ("postgres", "mosquitto", "api"):
        assert "healthcheck" in SERVICES[name], name


@pytest.mark.parametrize("service", WASTEFLOW_SERVICES)
def test_commands_are_wasteflow_entry_points(service):
    command = SERVICES[service]["command"]
    assert command[0] == "wasteflow"
    words = tuple(w for w in command[1:3] if not w.startswith("-"))
    assert words[:1] in cli_commands() or words[:2] in cli_commands(), command


def test_options_given_to_commands_exist():
    root = get_command(app)
    for service in WASTEFLOW_SERVICES:
        command = SERVICES[service]["command"]
        target, words = root.commands[command[1]], command[2:]
        if words and words[0] in getattr(target, "commands", {}):  # a group's sub-command: `gateway jt808`
            target, words = target.commands[words[0]], words[1:]
        declared = {opt for p in target.params for opt in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
        for word in words:
            if word.startswith("--"):
                assert word in declared, f"{service}: {word} is not an option of `wasteflow {command[1]}`"


def test_the_jt808_gateway_takes_terminals_under_its_own_broker_account():
    gateway = SERVICES["gateway-jt808"]
    assert gateway["command"] == ["wasteflow", "gateway", "jt808"]
    environment = gateway["environment"]
    host, _, port = environment["WASTEFLOW_JT808_LISTEN"].rpartition(":")
    assert host == "0.0.0.0" and [str(p) for p in gateway["ports"]] == [f"{port}:{port}"]
    assert environment["WASTEFLOW_MQTT_URL"].startswith("mqtt://wasteflow-jt808:${BROKER_JT808_PASSWORD:?")
    broker_config = SERVICES["broker-config"]["environment"]
    assert broker_config["WASTEFLOW_BROKER_JT808_PASSWORD"].startswith("${BROKER_JT808_PASSWORD:?"), \
        "broker-config must create the account the gateway logs in with"
    assert {"migrate", "mosquitto"} <= set(gateway["depends_on"])


def test_the_osmand_gateway_takes_phones_under_its_own_broker_account():
    gateway = SERVICES["gateway-osmand"]
    assert gateway["command"] == ["wasteflow", "gateway", "http"]
    environment = gateway["environment"]
    host, _, port = environment["WASTEFLOW_OSMAND_LISTEN"].rpartition(":")
    assert host == "0.0.0.0" and [str(p) for p in gateway["ports"]] == [f"{port}:{port}"]
    assert environment["WASTEFLOW_MQTT_URL"].startswith("mqtt://wasteflow-osmand:${BROKER_OSMAND_PASSWORD:?")
    broker_config = SERVICES["broker-config"]["environment"]
    assert broker_config["WASTEFLOW_BROKER_OSMAND_PASSWORD"].startswith("${BROKER_OSMAND_PASSWORD:?"), \
        "broker-config must create the account the gateway logs in with"
    assert {"migrate", "mosquitto"} <= set(gateway["depends_on"])


def test_the_scale_gateway_logs_in_as_its_weighbridge_and_keeps_its_spool():
    gateway = SERVICES["gateway-scale"]
    command = gateway["command"]
    assert command[:3] == ["wasteflow", "gateway", "scale"] and gateway["profiles"] == ["scale"]
    assert command[command.index("--spool") + 1].startswith("/var/lib/wasteflow-scale/")
    assert any(v.startswith("scale-spool:/var/lib/wasteflow-scale") for v in gateway["volumes"])
    assert gateway["environment"]["WASTEFLOW_MQTT_URL"].startswith("mqtt://${SCALE_DEVICE_ID:?")
    assert "WASTEFLOW_DATABASE_URL" not in gateway["environment"], "the scale gateway never reads the database"


def test_variables_are_known_settings():
    known = {f"WASTEFLOW_{name.upper()}" for name in Settings.model_fields} | EXTRA_VARIABLES
    used = set(re.findall(r"^\s+(WASTEFLOW_[A-Z_]+):", (ROOT / "compose.yaml").read_text(), flags=re.M))
    assert used, "compose.yaml sets no WASTEFLOW_ variables?"
    assert used - known == set()


def test_build_context_and_mounted_files_exist():
    assert (ROOT / "Dockerfile").is_file()
    for copied in re.findall(r"^COPY (\S+)", (ROOT / "Dockerfile").read_text(), flags=re.M):
        assert (ROOT / copied).exists(), copied
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), volume


def test_broker_mounts_the_configuration_the_tests_run():
    mounts = [v.split(":") for v in SERVICES["mosquitto"]["volumes"] if v.startswith("./")]
    config = [(src, dst) for src, dst, *_ in mounts if dst == "/mosquitto/config/mosquitto.conf"]
    assert config, "the broker's configuration is not mounted from the repository"
    assert (ROOT / config[0][0]).resolve() == SHIPPED_CONF.resolve()
    assert "-c /mosquitto/config/mosquitto.conf" in " ".join(SERVICES["mosquitto"]["command"])


def test_bridge_workers_share_the_stream_under_distinct_sessions():
    workers = [SERVICES[n]["environment"] for n in ("bridge-1", "bridge-2")]
    assert {w["WASTEFLOW_BRIDGE_SHARED_GROUP"] for w in workers} == {"wasteflow"}
    assert len({w["WASTEFLOW_BRIDGE_CLIENT_ID"] for w in workers}) == 2


def test_no_default_passwords():
    """A secret left unset stops compose (``${VAR:?...}``) instead of falling back to a known value."""
    text = (ROOT / "compose.yaml").read_text()
    secrets = set(re.findall(r"\$\{([A-Z_]*(?:PASSWORD|SECRET)[A-Z_]*)", text))
    assert {"POSTGRES_PASSWORD", "BROKER_BRIDGE_PASSWORD", "WASTEFLOW_SECRET_KEY"} <= secrets
    optional = {"BROKER_ALERT_PASSWORD"}  # empty means: no alert account at all, not a default password
    for name in secrets - optional:
        uses = re.findall(r"\$\{" + name + r"(:?[-?=+]?)", text)
        assert uses and all(use == ":?" for use in uses), f"{name} must be required (${{{name}:?...}})"


def test_devices_reach_the_broker_only_over_tls():
    broker = SERVICES["mosquitto"]
    published = [str(p).split(":")[-1] for p in broker.get("ports", [])]
    assert published == ["8883"], "only the TLS device listener may be published"
    assert any(v.endswith(":/mosquitto/certs:ro") for v in broker["volumes"])
    conf = SHIPPED_CONF.read_text()
    tls = conf[conf.index("listener 8883"):]
    assert "certfile /mosquitto/certs/server.crt" in tls and "keyfile /mosquitto/certs/server.key" in tls


def test_broker_refuses_anonymous_and_bounds_every_queue():
    options = dict(line.split(None, 1) for line in SHIPPED_CONF.read_text().splitlines()
                   if line.strip() and not line.startswith("#") and len(line.split(None, 1)) == 2)
    assert options["allow_anonymous"] == "false"
    assert int(options["max_queued_messages"]) > 0 and int(options["max_queued_bytes"]) > 0


def test_the_webhook_worker_is_its_own_service_after_the_migrations():
    """Deliveries leave from their own process (api.md: a slow endpoint never slows the API or the bridge)."""
    worker = SERVICES["webhooks"]
    assert worker["command"] == ["wasteflow", "webhooks"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for other in ("api", "bridge-1", "bridge-2"):
        assert "webhooks" not in SERVICES[other]["command"]
    assert "WASTEFLOW_WEBHOOK_ALLOW_PRIVATE" not in worker["environment"]  # no SSRF opening in production
