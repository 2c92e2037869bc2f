"""Write deploy/k8s/base/ from one table of services, the topic registry and the Kafka access
table (invoicesync.kafka.access).

    .venv/bin/python deploy/k8s/generate.py

The base's YAML is generated so that every Deployment has the same shape, the KafkaTopics are the
registry's and the KafkaUsers' ACLs are `service_acls`' (tests/unit/test_k8s_manifests.py checks
the committed files equal what this writes). Edit the tables, not the YAML; production
differences go in overlays/production.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

from invoicesync.kafka.access import (
    ACCESS_BY_USER,
    CLUSTER,
    SERVICE_ACCESS,
    broker_user,
    service_acls,
)
from invoicesync.kafka.topics import TOPIC_SPECS
from invoicesync.settings import Settings

BASE = Path(__file__).resolve().parent / "base"
APP = "invoicesync"
IMAGE = "invoicesync"  # the overlay's `images:` sets the registry and tag
CONFIG = "invoicesync-config"
SECRETS = "invoicesync-secrets"
KAFKA_CLUSTER = "invoicesync"
METRICS_PORT = 9100
# Partitions of every topic without its own count in the registry: the most replicas of one
# consumer group that can share a topic's work (README: "Partitions for tenants").
PARTITIONS = Settings().topic_partitions
REPLICATION = 3
MIN_INSYNC = 2
# The ConfigMap sets no INVOICESYNC_TOPIC_PREFIX: topics, groups and users carry none.
KAFKA_SETTINGS = Settings()
if KAFKA_SETTINGS.topic_prefix:
    raise RuntimeError("the manifests' topics, groups and users have no topic prefix")
# The Secret Strimzi's User Operator makes for a SCRAM KafkaUser is named after the user and
# holds its generated password under this key.
USER_PASSWORD_KEY = "password"
# KEDA reads consumer-group lag as the admin service's user: it may describe every group.
LAG_READER = "invoicesync-admin"
if not ACCESS_BY_USER[LAG_READER].describes_all_groups:
    raise RuntimeError(f"{LAG_READER} may not describe every consumer group")
LAG_READER_CONFIG = "invoicesync-keda-kafka"
LAG_AUTHENTICATION = "invoicesync-kafka-lag"
# kafka-python's names for what service_acls grants → Strimzi's (KafkaUser spec.authorization).
STRIMZI_OPERATIONS = {
    ACLOperation.ALL: "All",
    ACLOperation.READ: "Read",
    ACLOperation.WRITE: "Write",
    ACLOperation.CREATE: "Create",
    ACLOperation.DELETE: "Delete",
    ACLOperation.ALTER: "Alter",
    ACLOperation.DESCRIBE: "Describe",
    ACLOperation.CLUSTER_ACTION: "ClusterAction",
    ACLOperation.DESCRIBE_CONFIGS: "DescribeConfigs",
    ACLOperation.ALTER_CONFIGS: "AlterConfigs",
    ACLOperation.IDEMPOTENT_WRITE: "IdempotentWrite",
}
STRIMZI_RESOURCES = {
    ResourceType.TOPIC: "topic",
    ResourceType.GROUP: "group",
    ResourceType.CLUSTER: "cluster",
    ResourceType.TRANSACTIONAL_ID: "transactionalId",
}
STRIMZI_PATTERNS = {
    ACLResourcePatternType.LITERAL: "literal",
    ACLResourcePatternType.PREFIXED: "prefix",
}
STRIMZI_PERMISSIONS = {ACLPermissionType.ALLOW: "allow", ACLPermissionType.DENY: "deny"}


@dataclass(frozen=True)
class Service:
    name: str
    command: tuple[str, ...]
    kafka_user: str  # its user in invoicesync.kafka.access (deploy/local/processes.tsv agrees)
    port: int | None = None  # an HTTP service's port: /healthz and /readyz there
    group: str | None = None  # a consumer group, scaled on its lag by KEDA
    topic: str | None = None
    replicas: int = 1
    cpu: str = "100m"
    memory: str = "256Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"


def gunicorn(port: int, app: str) -> tuple[str, ...]:
    return ("gunicorn", "-c", "deploy/gunicorn.conf.py", "-b", f"0.0.0.0:{port}", app)


SERVICES: tuple[Service, ...] = (
    Service(
        "admin",
        gunicorn(8080, "admin.app:create_app()"),
        "invoicesync-admin",
        port=8080,
        replicas=2,
    ),
    Service(
        "ingest",
        gunicorn(8081, "ingest.hooks_app:create_app()"),
        "invoicesync-ingest",
        port=8081,
        replicas=2,
    ),
    Service(
        "reverse-sync-webhooks",
        gunicorn(8082, "reverse_sync.webhook_app:create_app()"),
        "invoicesync-reverse-sync",
        port=8082,
        replicas=2,
    ),
    Service("ingest-poller", ("python", "-m", "ingest.poller"), "invoicesync-ingest"),
    Service(
        "activity",
        ("python", "-m", "admin.activity_consumer"),
        "invoicesync-admin",
        group="invoicesync-activity",
        topic="sync.results",
    ),
    Service(
        "transform",
        ("python", "-m", "transform.main"),
        "invoicesync-transform",
        group="invoicesync-transform",
        topic="keap.notifications",
        cpu="250m",
    ),
    Service(
        "xero-writer",
        ("python", "-m", "xero_writer.main"),
        "invoicesync-xero-writer",
        group="invoicesync-xero-writer",
        topic="canonical.events",
        cpu="250m",
    ),
    Service(
        "qbo-writer",
        ("python", "-m", "qbo_writer.main"),
        "invoicesync-qbo-writer",
        group="invoicesync-qbo-writer",
        topic="canonical.events",
        cpu="250m",
    ),
    Service(
        "reverse-sync",
        ("python", "-m", "reverse_sync.main"),
        "invoicesync-reverse-sync",
        group="invoicesync-reverse-sync",
        topic="ledger.notifications",
    ),
    Service(
        "notifications",
        ("python", "-m", "notifications"),
        "invoicesync-notifications",
        group="invoicesync-notifications",
        topic="sync.results",
    ),
)

# Non-secret settings shared by every service (Settings.from_env reads these names).
CONFIG_DATA = {
    "KAFKA_BOOTSTRAP_SERVERS": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
    "REDIS_URL": "redis://invoicesync-redis:6379/0",
    "INVOICESYNC_PUBLIC_BASE_URL": "https://invoicesync.example.com",
    "INVOICESYNC_HOOKS_BASE_URL": "https://hooks.invoicesync.example.com",
    "INVOICESYNC_WEBHOOKS_BASE_URL": "https://webhooks.invoicesync.example.com",
    "INVOICESYNC_LOG_LEVEL": "INFO",
    "INVOICESYNC_SMTP_HOST": "smtp.example.com",
    "INVOICESYNC_SMTP_PORT": "587",
    "INVOICESYNC_SMTP_STARTTLS": "true",
}
# Secret keys a deployment fills in (deploy/k8s/secrets.template.yaml); never in the base.
SECRET_KEYS = (
    "INVOICESYNC_TOKEN_ENCRYPTION_KEY",
    "INVOICESYNC_CONSOLE_SECRET_KEY",
    "INVOICESYNC_KEAP_CLIENT_ID",
    "INVOICESYNC_KEAP_CLIENT_SECRET",
    "INVOICESYNC_XERO_CLIENT_ID",
    "INVOICESYNC_XERO_CLIENT_SECRET",
    "INVOICESYNC_XERO_WEBHOOK_KEY",
    "INVOICESYNC_QBO_CLIENT_ID",
    "INVOICESYNC_QBO_CLIENT_SECRET",
    "INVOICESYNC_QBO_WEBHOOK_VERIFIER_TOKEN",
    "INVOICESYNC_SMTP_USERNAME",
    "INVOICESYNC_SMTP_PASSWORD",
)
# KEDA: the lag one replica is expected to work off. The measured no-provider-call transform
# rate is ~100 messages/s per process, so 100 is about a second of backlog per replica.
LAG_THRESHOLD = "100"


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": APP}


def probe(service: Service, path: str) -> dict[str, Any]:
    if service.port is not None:
        get = {"path": path, "port": "http"}
    else:
        # A consumer has no HTTP app: its metrics server answers while the process lives.
        get = {"path": "/metrics", "port": "metrics"}
    return {"httpGet": get, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}


def user_secret(user: str) -> str:
    """The Secret the User Operator makes for `user`'s KafkaUser: named after it."""
    return broker_user(user, KAFKA_SETTINGS)


def kafka_credentials(user: str) -> list[dict[str, Any]]:
    """SASL/SCRAM-SHA-512 as `user` (invoicesync/kafka/connection.py), its password from the
    Secret the User Operator made."""
    if user not in ACCESS_BY_USER:
        raise ValueError(f"{user} is not a user in invoicesync.kafka.access")
    return [
        {"name": "INVOICESYNC_KAFKA_USERNAME", "value": broker_user(user, KAFKA_SETTINGS)},
        {
            "name": "INVOICESYNC_KAFKA_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": user_secret(user), "key": USER_PASSWORD_KEY}},
        },
    ]


def deployment(service: Service) -> dict[str, Any]:
    env = kafka_credentials(service.kafka_user)
    if service.port is not None:
        ports = [{"name": "http", "containerPort": service.port}]
    else:
        ports = [{"name": "metrics", "containerPort": METRICS_PORT}]
        env += [
            {"name": "INVOICESYNC_METRICS_PORT", "value": str(METRICS_PORT)},
            {"name": "INVOICESYNC_METRICS_HOST", "value": "0.0.0.0"},
        ]
    container: dict[str, Any] = {
        "name": service.name,
        "image": IMAGE,
        "command": list(service.command),
        "ports": ports,
        "envFrom": [{"configMapRef": {"name": CONFIG}}, {"secretRef": {"name": SECRETS}}],
        "env": env,
        "readinessProbe": probe(service, "/readyz"),
        "livenessProbe": {**probe(service, "/healthz"), "initialDelaySeconds": 10},
        "resources": {
            "requests": {"cpu": service.cpu, "memory": service.memory},
            "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "allowPrivilegeEscalation": False,
        },
    }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels(service.name)},
        "template": {
            "metadata": {"labels": labels(service.name)},
            "spec": {
                # SIGTERM: the consumer loop commits what is finished; gunicorn drains.
                "terminationGracePeriodSeconds": 30,
                "containers": [container],
            },
        },
    }
    if service.group is None:  # KEDA owns the replica count of a scaled consumer
        spec = {"replicas": service.replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service.name, "labels": labels(service.name)},
        "spec": spec,
    }


def http_service(service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service.name, "labels": labels(service.name)},
        "spec": {
            "selector": labels(service.name),
            "ports": [{"name": "http", "port": service.port, "targetPort": "http"}],
        },
    }


def disruption_budget(service: Service) -> dict[str, Any]:
    budget = {"minAvailable": 1} if service.replicas > 1 else {"maxUnavailable": 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": service.name, "labels": labels(service.name)},
        "spec": {**budget, "selector": {"matchLabels": labels(service.name)}},
    }


def scaled_object(service: Service) -> dict[str, Any]:
    spec = next(s for s in TOPIC_SPECS if s.topic.value == service.topic)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": service.name, "labels": labels(service.name)},
        "spec": {
            "scaleTargetRef": {"name": service.name},
            "minReplicaCount": 1,
            # A replica beyond the topic's partitions would get no partition to read.
            "maxReplicaCount": spec.partitions or PARTITIONS,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": CONFIG_DATA["KAFKA_BOOTSTRAP_SERVERS"],
                        "consumerGroup": service.group,
                        "topic": service.topic,
                        "lagThreshold": LAG_THRESHOLD,
                        "activationLagThreshold": "0",
                        "offsetResetPolicy": "earliest",
                    },
                    "authenticationRef": {"name": LAG_AUTHENTICATION},
                }
            ],
        },
    }


def lag_reader_config() -> dict[str, Any]:
    """What KEDA's kafka scaler takes from a TriggerAuthentication besides the password: its
    SASL mode and user name (the User Operator's Secret holds only the password)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": LAG_READER_CONFIG, "labels": labels(APP)},
        "data": {"sasl": "scram_sha512", "username": broker_user(LAG_READER, KAFKA_SETTINGS)},
    }


def trigger_authentication() -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": LAG_AUTHENTICATION, "labels": labels(APP)},
        "spec": {
            "configMapTargetRef": [
                {"parameter": key, "name": LAG_READER_CONFIG, "key": key}
                for key in ("sasl", "username")
            ],
            "secretTargetRef": [
                {"parameter": "password", "name": user_secret(LAG_READER), "key": USER_PASSWORD_KEY}
            ],
        },
    }


def strimzi_acls(user: str, acls: list[ACL]) -> list[dict[str, Any]]:
    """`acls` as Strimzi's ACL rules: one rule per resource, with all its operations."""
    rules: dict[tuple[str, ...], dict[str, Any]] = {}
    for acl in acls:
        if acl.principal != f"User:{user}":  # a KafkaUser's rules are always its own
            raise ValueError(f"{acl} is not {user}'s")
        pattern = acl.resource_pattern
        resource = {"type": STRIMZI_RESOURCES[pattern.resource_type]}
        if pattern.resource_type is ResourceType.CLUSTER:
            # Strimzi's cluster resource has no name: it is always Kafka's one cluster.
            if pattern.resource_name != CLUSTER:
                raise ValueError(f"{acl}: the cluster resource is named {CLUSTER}")
        else:
            resource["name"] = pattern.resource_name
            resource["patternType"] = STRIMZI_PATTERNS[pattern.pattern_type]
        permission = STRIMZI_PERMISSIONS[acl.permission_type]
        key = (permission, acl.host, *resource.values())
        rule = rules.setdefault(
            key,
            {"type": permission, "resource": resource, "operations": [], "host": acl.host},
        )
        rule["operations"].append(STRIMZI_OPERATIONS[acl.operation])
    return list(rules.values())


def kafka_user(access: Any) -> dict[str, Any]:
    user = broker_user(access.user, KAFKA_SETTINGS)
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": {"name": user, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {
                "type": "simple",
                "acls": strimzi_acls(user, service_acls(access, KAFKA_SETTINGS)),
            },
        },
    }


def kafka_topic(spec: Any) -> dict[str, Any]:
    config: dict[str, Any] = {**spec.config(), "min.insync.replicas": str(MIN_INSYNC)}
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": spec.topic.value.replace(".", "-"),
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
        },
        "spec": {
            "topicName": spec.topic.value,
            "partitions": spec.partitions or PARTITIONS,
            "replicas": REPLICATION,
            "config": config,
        },
    }


def config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG, "labels": labels(APP)},
        "data": CONFIG_DATA,
    }


def secret_template() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRETS, "labels": labels(APP)},
        "type": "Opaque",
        "stringData": {key: "REPLACE_ME" for key in SECRET_KEYS},
    }


def dump(path: Path, documents: list[dict[str, Any]], header: str) -> None:
    text = "\n---\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in documents)
    path.write_text(
        f"# {header}\n# Generated by deploy/k8s/generate.py: edit that, not this.\n{text}"
    )


def files() -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Each generated file: its header line and its documents."""
    return {
        "config.yaml": ("Settings every service reads (not secret).", [config_map()]),
        "services.yaml": (
            "One Deployment and PodDisruptionBudget per service; a Service for the HTTP ones.",
            [
                doc
                for service in SERVICES
                for doc in (
                    deployment(service),
                    *([http_service(service)] if service.port is not None else []),
                    disruption_budget(service),
                )
            ],
        ),
        "autoscaling.yaml": (
            "KEDA scales each consumer on its group's lag, up to its topic's partitions, reading "
            "the lag as the admin service's Kafka user.",
            [
                lag_reader_config(),
                trigger_authentication(),
                *(scaled_object(service) for service in SERVICES if service.group),
            ],
        ),
        "topics.yaml": (
            "The topic registry (invoicesync.kafka.topics.TOPIC_SPECS) as Strimzi KafkaTopics.",
            [kafka_topic(spec) for spec in TOPIC_SPECS],
        ),
        "users.yaml": (
            "One SCRAM KafkaUser per service user (invoicesync.kafka.access), with its ACLs; "
            "Strimzi's User Operator makes each one's password Secret.",
            [kafka_user(access) for access in SERVICE_ACCESS],
        ),
    }


def main() -> None:
    for name, (header, documents) in files().items():
        dump(BASE / name, documents, header)
    dump(
        BASE.parent / "secrets.template.yaml",
        [secret_template()],
        "A template: fill in the values and apply it yourself (kubectl apply -f); the "
        "kustomization never ships secrets.",
    )


if __name__ == "__main__":
    main()
