"""The per-service Kafka access table, checked against the code that uses it."""

from __future__ import annotations

import importlib

from kafka.admin import ACLOperation, ResourceType

from invoicesync.events import Topic
from invoicesync.kafka.access import (
    ACCESS_BY_USER,
    SERVICE_ACCESS,
    broker_user,
    password_variable,
    service_acls,
)
from invoicesync.settings import Settings
from tests.infrastructure import REPO

# Each consumer group in the code, with the module that names it.
GROUPS_IN_CODE = {
    "transform.main": "invoicesync-transform",
    "xero_writer.main": "invoicesync-xero-writer",
    "qbo_writer.main": "invoicesync-qbo-writer",
    "reverse_sync.main": "invoicesync-reverse-sync",
    "notifications.outbox_consumer": "invoicesync-notifications",
    "admin.activity_consumer": "invoicesync-admin",
}


def granted(user: str, operation: ACLOperation, resource: ResourceType, settings: Settings):
    return {
        acl.resource_pattern.resource_name
        for acl in service_acls(ACCESS_BY_USER[user], settings)
        if acl.operation == operation and acl.resource_pattern.resource_type == resource
    }


def test_every_consumer_group_in_the_code_is_granted_to_the_service_that_joins_it():
    settings = Settings()
    for module, user in GROUPS_IN_CODE.items():
        group = importlib.import_module(module).GROUP_ID
        assert group in granted(user, ACLOperation.READ, ResourceType.GROUP, settings), module


def test_only_transform_and_the_admin_service_write_canonical_events():
    writers = {access.user for access in SERVICE_ACCESS if Topic.CANONICAL_EVENTS in access.writes}

    assert writers == {"invoicesync-transform", "invoicesync-admin"}
    assert ACCESS_BY_USER["invoicesync-ingest"].writes == {
        Topic.KEAP_NOTIFICATIONS,
        Topic.SYNC_RESULTS,
        Topic.DEAD_LETTERS,
    }
    assert not ACCESS_BY_USER["invoicesync-ingest"].reads


def test_names_carry_the_deployments_prefix():
    settings = Settings(topic_prefix="acme.")
    acls = service_acls(ACCESS_BY_USER["invoicesync-transform"], settings)

    assert {acl.principal for acl in acls} == {"User:acme.invoicesync-transform"}
    assert "acme.canonical.events" in granted(
        "invoicesync-transform", ACLOperation.WRITE, ResourceType.TOPIC, settings
    )
    assert granted("invoicesync-transform", ACLOperation.READ, ResourceType.GROUP, settings) == {
        "acme.invoicesync-transform"
    }
    assert broker_user("invoicesync-ingest", Settings()) == "invoicesync-ingest"


def test_every_kafka_user_of_the_local_stack_has_access_and_a_password_variable_of_its_own():
    users = {
        line.split("\t")[3]
        for line in (REPO / "deploy/local/processes.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    } - {"-"}

    assert users == set(ACCESS_BY_USER)
    variables = [password_variable(user) for user in ACCESS_BY_USER]
    assert len(set(variables)) == len(variables)
    assert password_variable("invoicesync-xero-writer") == "INVOICESYNC_KAFKA_PASSWORD_XERO_WRITER"
