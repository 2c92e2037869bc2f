"""deploy/k8s renders with kustomize offline, every document validates against the vendored
Kubernetes, Strimzi and KEDA schemas, and the documents agree with each other and the code."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kafka.admin import ACLOperation, ResourceType

from invoicesync.kafka.access import CLUSTER, SERVICE_ACCESS, broker_user, service_acls
from invoicesync.kafka.topics import TOPIC_SPECS
from invoicesync.settings import Settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy/k8s"
SCHEMAS = K8S / "schemas"
HTTP_PROBE_PATHS = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
# Local stand-ins with no place in a cluster.
LOCAL_ONLY = {"sandbox-keap", "sandbox-xero", "sandbox-qbo", "smtp-sink"}
# kubectl without a kubeconfig may look for an API server on 127.0.0.1:8080 (the local admin's
# port), and with a user's own it could reach a real cluster: this one names a closed port.
NO_CLUSTER_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    with tempfile.TemporaryDirectory() as home:
        kubeconfig = Path(home) / "config"
        kubeconfig.write_text(NO_CLUSTER_KUBECONFIG)
        rendered = subprocess.run(
            [kubectl, "kustomize", str(directory)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(kustomize(K8S / overlay))


def secret_template() -> dict[str, Any]:
    return yaml.safe_load((K8S / "secrets.template.yaml").read_text())


@cache
def kubernetes_schemas() -> dict[str, Any]:
    return json.loads((SCHEMAS / "kubernetes-v1.33-strict.json").read_text())


@cache
def custom_resource_schemas() -> dict[str, Any]:
    return json.loads((SCHEMAS / "custom-resources.json").read_text())


def schema_errors(document: dict[str, Any]) -> list[str]:
    key = f"{document['apiVersion']}/{document['kind']}"
    k8s = kubernetes_schemas()
    if key in k8s["kinds"]:
        schema = {"$defs": k8s["$defs"], "$ref": f"#/$defs/{k8s['kinds'][key]}"}
        validator = jsonschema.Draft202012Validator(schema)
        errors = list(validator.iter_errors(document))
    elif key in custom_resource_schemas():
        validator = jsonschema.Draft202012Validator(custom_resource_schemas()[key])
        errors = list(validator.iter_errors(document))
        # The custom resources' metadata is the Kubernetes ObjectMeta.
        meta = {
            "$defs": k8s["$defs"],
            "$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        }
        errors += jsonschema.Draft202012Validator(meta).iter_errors(document["metadata"])
    else:
        return [f"no vendored schema for {key}"]
    return [f"{key} {document['metadata'].get('name')}: {e.json_path}: {e.message}" for e in errors]


def of_kind(documents: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def processes() -> list[list[str]]:
    """deploy/local/processes.tsv's rows: name, module, port, Kafka user, command."""
    lines = (REPO / "deploy/local/processes.tsv").read_text().splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container(deployment).get("env", [])}


def constant(strimzi_name: str) -> str:
    """Strimzi's name of an ACL operation or resource type as kafka-python's: IdempotentWrite →
    IDEMPOTENT_WRITE, transactionalId → TRANSACTIONAL_ID."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", strimzi_name).upper()


def user_acls(kafka_user: dict[str, Any]) -> Counter[tuple[str, ...]]:
    """A KafkaUser's ACL rules, one entry per operation, in kafka-python's terms."""
    name = kafka_user["metadata"]["name"]
    acls: Counter[tuple[str, ...]] = Counter()
    for rule in kafka_user["spec"]["authorization"]["acls"]:
        # The vendored schema leaves ACL rules unchecked (a polymorphic member): Strimzi's fields.
        assert set(rule) <= {"type", "resource", "host", "operations"}, rule
        resource = rule["resource"]
        assert set(resource) <= {"type", "name", "patternType"}, rule
        kind = constant(resource["type"])
        if kind == "CLUSTER":  # Strimzi's cluster resource has no name: Kafka's one cluster
            assert set(resource) == {"type"}, rule
            resource_name = CLUSTER
        else:
            resource_name = resource["name"]
        pattern = {"literal": "LITERAL", "prefix": "PREFIXED"}[
            resource.get("patternType", "literal")
        ]
        for operation in rule["operations"]:
            acls[
                (
                    f"User:{name}",
                    rule.get("host", "*"),
                    ACLOperation[constant(operation)].name,
                    rule.get("type", "allow").upper(),
                    ResourceType[kind].name,
                    resource_name,
                    pattern,
                )
            ] += 1
    return acls


def granted_acls(access: Any) -> Counter[tuple[str, ...]]:
    return Counter(
        (
            acl.principal,
            acl.host,
            acl.operation.name,
            acl.permission_type.name,
            acl.resource_pattern.resource_type.name,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type.name,
        )
        for acl in service_acls(access, Settings())
    )


def generator():  # deploy/k8s/generate.py is a script, not a package
    spec = importlib.util.spec_from_file_location("k8s_generate", K8S / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_every_rendered_document_validates_against_its_schema(overlay):
    documents = rendered(overlay)
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "PodDisruptionBudget", "StatefulSet", "Kafka", "KafkaNodePool"} <= kinds
    assert {"KafkaTopic", "ScaledObject", "ConfigMap", "Service"} <= kinds
    errors = [error for doc in documents for error in schema_errors(doc)]
    assert errors == []


def test_the_secret_template_validates_and_holds_no_values():
    template = secret_template()
    assert schema_errors(template) == []
    assert set(template["stringData"].values()) == {"REPLACE_ME"}
    assert not any(doc["kind"] == "Secret" for doc in rendered("overlays/production"))


def test_the_schemas_reject_what_the_cluster_would():
    documents = rendered("overlays/production")
    deployment = copy.deepcopy(of_kind(documents, "Deployment")["transform"])
    container(deployment)["livenessProbe"]["httpGet"]["prot"] = 9100  # a typo
    assert schema_errors(deployment)

    scaled = copy.deepcopy(of_kind(documents, "ScaledObject")["transform"])
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100  # KEDA wants strings
    assert schema_errors(scaled)

    topic = copy.deepcopy(next(iter(of_kind(documents, "KafkaTopic").values())))
    topic["spec"]["partition"] = 6
    assert schema_errors(topic)

    kafka = copy.deepcopy(of_kind(documents, "Kafka")["invoicesync"])
    kafka["spec"]["kafka"]["listeners"][0]["type"] = 9092
    assert schema_errors(kafka)

    user = copy.deepcopy(next(iter(of_kind(documents, "KafkaUser").values())))
    user["spec"]["authentification"] = user["spec"].pop("authentication")
    assert schema_errors(user)

    authentication = copy.deepcopy(next(iter(of_kind(documents, "TriggerAuthentication").values())))
    authentication["spec"]["secretTargetRef"][0]["secret"] = "invoicesync-admin"
    assert schema_errors(authentication)


def test_the_generated_base_is_up_to_date():
    module = generator()
    for name, (_header, documents) in module.files().items():
        committed = [d for d in yaml.safe_load_all((K8S / "base" / name).read_text()) if d]
        assert committed == documents, f"run deploy/k8s/generate.py ({name} is stale)"
    assert secret_template() == module.secret_template()


def test_every_process_of_the_local_stack_is_a_deployment_with_the_same_module():
    deployments = of_kind(rendered("overlays/production"), "Deployment")
    for line in (REPO / "deploy/local/processes.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, module, *_ = line.split("\t")
        if name in LOCAL_ONLY:
            continue
        assert name in deployments, name
        command = " ".join(container(deployments[name])["command"])
        assert module in command, (name, command)


def test_probes_resources_and_disruption_budgets_of_every_deployment():
    documents = rendered("overlays/production")
    budgets = of_kind(documents, "PodDisruptionBudget")
    for name, deployment in of_kind(documents, "Deployment").items():
        main = container(deployment)
        ports = {port["name"]: port["containerPort"] for port in main["ports"]}
        for probe_name, path in HTTP_PROBE_PATHS.items():
            get = main[probe_name]["httpGet"]
            assert get["port"] in ports, (name, probe_name)
            if get["port"] == "http":
                assert get["path"] == path, (name, probe_name)
            else:  # a consumer: its metrics server on the port the settings give it
                env = {item["name"]: item.get("value") for item in main["env"]}
                assert int(env["INVOICESYNC_METRICS_PORT"]) == ports[get["port"]], name
                assert env["INVOICESYNC_METRICS_HOST"] == "0.0.0.0", name
                assert get["path"] == "/metrics", name
        if "http" in ports:
            bind = main["command"][main["command"].index("-b") + 1]
            assert bind == f"0.0.0.0:{ports['http']}", name
        assert main["resources"]["requests"] and main["resources"]["limits"], name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


def test_config_and_secret_references_resolve_to_settings_the_services_read():
    documents = rendered("overlays/production")
    config_maps = of_kind(documents, "ConfigMap")
    secret = secret_template()
    readable = {f"INVOICESYNC_{field.upper()}" for field in Settings.__dataclass_fields__}
    readable |= {"KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL"}
    read_by_services = set()
    for name, deployment in of_kind(documents, "Deployment").items():
        for source in container(deployment)["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps, name
                read_by_services.add(source["configMapRef"]["name"])
            else:
                assert source["secretRef"]["name"] == secret["metadata"]["name"], name
        assert set(env_of(deployment)) <= readable, name
    for config_map in read_by_services:
        assert set(config_maps[config_map]["data"]) <= readable
    assert set(secret["stringData"]) <= readable
    assert {"INVOICESYNC_TOKEN_ENCRYPTION_KEY", "INVOICESYNC_XERO_CLIENT_SECRET"} <= set(
        secret["stringData"]
    )
    settings = Settings.from_env(config_maps["invoicesync-config"]["data"])
    assert settings.kafka_bootstrap_servers and settings.redis_url.startswith("redis://")


def test_infrastructure_addresses_point_at_the_rendered_kafka_and_redis():
    documents = rendered("base")
    config = of_kind(documents, "ConfigMap")["invoicesync-config"]["data"]
    (kafka,) = of_kind(documents, "Kafka").values()
    listener_ports = {listener["port"] for listener in kafka["spec"]["kafka"]["listeners"]}
    host, port = config["KAFKA_BOOTSTRAP_SERVERS"].split(":")
    assert host == f"{kafka['metadata']['name']}-kafka-bootstrap" and int(port) in listener_ports
    redis_host = config["REDIS_URL"].removeprefix("redis://").split(":")[0]
    assert redis_host in of_kind(documents, "Service")
    for pool in of_kind(documents, "KafkaNodePool").values():
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    redis = of_kind(documents, "StatefulSet")["invoicesync-redis"]
    assert "--appendonly" in container(redis)["args"]
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"


def test_every_registered_topic_is_a_kafka_topic_with_the_registry_settings():
    documents = rendered("overlays/production")
    (kafka,) = of_kind(documents, "Kafka").values()
    topics = {doc["spec"]["topicName"]: doc for doc in of_kind(documents, "KafkaTopic").values()}
    assert set(topics) == {spec.topic.value for spec in TOPIC_SPECS}
    for spec in TOPIC_SPECS:
        topic = topics[spec.topic.value]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert topic["spec"]["partitions"] == (spec.partitions or Settings().topic_partitions)
        assert spec.config().items() <= topic["spec"]["config"].items()
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"]["config"]["min.insync.replicas"] == "2"


def test_each_consumer_group_scales_on_its_own_lag_up_to_its_partitions():
    from qbo_writer.main import GROUP_ID as QBO_WRITER
    from transform.main import GROUP_ID as TRANSFORM
    from xero_writer.main import GROUP_ID as XERO_WRITER

    documents = rendered("overlays/production")
    deployments = of_kind(documents, "Deployment")
    topics = {doc["spec"]["topicName"]: doc for doc in of_kind(documents, "KafkaTopic").values()}
    (kafka,) = of_kind(documents, "Kafka").values()
    scaled = of_kind(documents, "ScaledObject")
    groups = {}
    for name, scaled_object in scaled.items():
        target = scaled_object["spec"]["scaleTargetRef"]["name"]
        assert target in deployments and "replicas" not in deployments[target]["spec"], name
        (trigger,) = scaled_object["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["bootstrapServers"].startswith(f"{kafka['metadata']['name']}-kafka-bootstrap:")
        topic = topics[meta["topic"]]
        assert 1 <= scaled_object["spec"]["maxReplicaCount"] <= topic["spec"]["partitions"], name
        groups[target] = meta["consumerGroup"]
    assert groups["transform"] == TRANSFORM
    assert groups["xero-writer"] == XERO_WRITER
    assert groups["qbo-writer"] == QBO_WRITER
    assert len(set(groups.values())) == len(groups)


def test_every_kafka_user_has_exactly_the_acls_the_access_table_grants():
    documents = rendered("overlays/production")
    (kafka,) = of_kind(documents, "Kafka").values()
    users = of_kind(documents, "KafkaUser")
    assert set(users) == {broker_user(access.user, Settings()) for access in SERVICE_ACCESS}
    for access in SERVICE_ACCESS:
        user = users[broker_user(access.user, Settings())]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        assert user_acls(user) == granted_acls(access), access.user


def test_every_deployment_authenticates_as_the_kafka_user_of_its_local_process():
    documents = rendered("overlays/production")
    deployments = of_kind(documents, "Deployment")
    users = of_kind(documents, "KafkaUser")
    for name, _module, _port, user, *_ in processes():
        if name in LOCAL_ONLY:
            continue
        env = env_of(deployments[name])
        if user == "-":
            assert "INVOICESYNC_KAFKA_USERNAME" not in env, name
            continue
        assert env["INVOICESYNC_KAFKA_USERNAME"]["value"] == broker_user(user, Settings()), name
        # The Secret Strimzi's User Operator makes for the KafkaUser: named after it.
        secret = env["INVOICESYNC_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": broker_user(user, Settings()), "key": "password"}, name
        assert secret["name"] in users, name


def test_nothing_reaches_kafka_without_a_user():
    documents = rendered("overlays/production")
    (kafka,) = of_kind(documents, "Kafka").values()
    # Every listener asks for SCRAM credentials and the brokers enforce the users' ACLs.
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    config = of_kind(documents, "ConfigMap")
    users = of_kind(documents, "KafkaUser")
    for name, deployment in of_kind(documents, "Deployment").items():
        sources = container(deployment)["envFrom"]
        names = {source["configMapRef"]["name"] for source in sources if "configMapRef" in source}
        if not any("KAFKA_BOOTSTRAP_SERVERS" in config[each]["data"] for each in names):
            continue
        env = env_of(deployment)
        assert env["INVOICESYNC_KAFKA_USERNAME"]["value"] in users, name
        password = env["INVOICESYNC_KAFKA_PASSWORD"]
        assert "value" not in password, name  # never in the manifests
        assert password["valueFrom"]["secretKeyRef"]["name"] in users, name
    assert not {"INVOICESYNC_KAFKA_USERNAME", "INVOICESYNC_KAFKA_PASSWORD"} & set(
        secret_template()["stringData"]
    )


def test_keda_reads_each_groups_lag_as_a_user_allowed_to_describe_it():
    documents = rendered("overlays/production")
    authentications = of_kind(documents, "TriggerAuthentication")
    config_maps = of_kind(documents, "ConfigMap")
    users = of_kind(documents, "KafkaUser")
    for name, scaled_object in of_kind(documents, "ScaledObject").items():
        (trigger,) = scaled_object["spec"]["triggers"]
        spec = authentications[trigger["authenticationRef"]["name"]]["spec"]
        params = {
            ref["parameter"]: config_maps[ref["name"]]["data"][ref["key"]]
            for ref in spec.get("configMapTargetRef", [])
        }
        params |= {ref["parameter"]: ref for ref in spec["secretTargetRef"]}
        assert params["sasl"] == "scram_sha512", name
        # The password comes from the named user's own Secret (made by the User Operator).
        assert params["password"]["name"] == params["username"], name
        assert params["password"]["key"] == "password", name
        acls = user_acls(users[params["username"]])
        allowed = {(operation, kind, resource) for _, _, operation, _, kind, resource, _ in acls}
        group = trigger["metadata"]["consumerGroup"]
        # Describing a group's offsets needs Describe on it, which Read implies.
        describe = {(op, "GROUP", each) for op in ("DESCRIBE", "READ") for each in (group, "*")}
        assert describe & allowed, name
        assert ("DESCRIBE", "TOPIC", trigger["metadata"]["topic"]) in allowed, name


def test_the_external_redis_component_removes_the_in_cluster_redis(tmp_path):
    shutil.copytree(K8S, tmp_path / "k8s", ignore=shutil.ignore_patterns("schemas"))
    overlay = tmp_path / "k8s/overlays/external-redis"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": ["../production"],
                "components": ["../../components/external-redis"],
            }
        )
    )
    documents = kustomize(overlay)
    assert not any(doc["metadata"]["name"] == "invoicesync-redis" for doc in documents)
    assert of_kind(tuple(documents), "Deployment")
