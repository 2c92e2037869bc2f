"""docker-compose.yml is valid against the official Compose schema and runs every service."""

import json
from pathlib import Path

import jsonschema
import yaml

from invoicesync.kafka.access import ACCESS_BY_USER, password_variable

REPO = Path(__file__).resolve().parents[2]
SCHEMA_CANDIDATES = [
    REPO.parent / "shared/specs/compose/compose-spec.json",
    Path("/work/shared/specs/compose/compose-spec.json"),
]


def compose_schema() -> dict:
    for candidate in SCHEMA_CANDIDATES:
        if candidate.exists():
            return json.loads(candidate.read_text())
    raise FileNotFoundError("the Compose schema is expected in ../shared/specs/compose/")


def test_docker_compose_conforms_to_the_compose_schema():
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    jsonschema.Draft7Validator(compose_schema()).validate(document)


def test_a_malformed_compose_file_is_rejected_by_the_same_check():
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    document["services"]["kafka"]["ports"] = "19092"  # must be a list
    errors = list(jsonschema.Draft7Validator(compose_schema()).iter_errors(document))
    assert errors


def test_compose_runs_every_local_process_and_the_infrastructure():
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    local = [
        line.split("\t")[0]
        for line in (REPO / "deploy/local/processes.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert set(local) | {"kafka", "redis", "topics"} == set(document["services"])


def test_every_service_has_a_restart_policy():
    """A process that exits is started again by the engine, as supervisord does under make up."""
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    policies = {name: service.get("restart") for name, service in document["services"].items()}
    assert all(policies.values()), policies
    assert policies["topics"] == "on-failure"  # a one-shot job: done is done
    long_running = {name: policy for name, policy in policies.items() if name != "topics"}
    assert set(long_running.values()) == {"unless-stopped"}, long_running


def test_every_published_port_is_bound_to_the_loopback_interface():
    """Kafka and Redis, and every HTTP surface, answer the host only, never the network."""
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    published = {
        name: port
        for name, service in document["services"].items()
        for port in service.get("ports", [])
    }
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published.values()), published


def test_kafka_and_redis_clients_carry_credentials():
    """No service reaches Kafka or Redis anonymously, and each reaches Kafka as its own user
    (the one processes.tsv names for `make up`), whose ACLs the `topics` job grants."""
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = document["services"]
    users = {
        fields[0]: fields[3]
        for line in (REPO / "deploy/local/processes.tsv").read_text().splitlines()
        if line and not line.startswith("#")
        for fields in [line.split("\t")]
        if fields[3] != "-"
    }
    assert users
    for name, user in users.items():
        env = services[name]["environment"]
        assert env["INVOICESYNC_KAFKA_USERNAME"] == user, name
        assert f"${{{password_variable(user)}:?" in env["INVOICESYNC_KAFKA_PASSWORD"], name
        if "REDIS_URL" in env:
            assert env["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?"), name
    clients = {
        name
        for name, service in services.items()
        if "KAFKA_BOOTSTRAP_SERVERS" in service.get("environment", {})
    }
    assert clients == set(users) | {"topics"}
    provisioning = services["topics"]
    assert provisioning["command"][-1] == "invoicesync.kafka.access"
    assert "${KAFKA_ADMIN_PASSWORD:?" in provisioning["environment"]["KAFKA_ADMIN_PASSWORD"]
    for user in ACCESS_BY_USER:
        assert password_variable(user) in provisioning["environment"], user
    assert "KAFKA_USERS" not in services["kafka"]["environment"], "the broker makes admin only"
