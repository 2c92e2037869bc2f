"""Who may do what on the broker: one SCRAM user per service, each allowed only the topics it
reads and writes and the consumer groups it joins.

The ingest service faces the internet, so its password is the likeliest to leak; with it one can
publish Keap change notices (which transform re-reads from Keap) but not `canonical.events`,
which the writers post into ledgers. Only the admin service writes every topic (dead-letter
replay) and reads every group's offsets (consumer lag on Health and `/status`).

`python -m invoicesync.kafka.access` makes (or updates) the users and their ACLs as the
broker's `admin` user, then the topics: `make up` runs it, and so does Compose's `topics` job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import ensure_topics, group_name, topic_name
from invoicesync.settings import Settings

ADMIN_USER = "admin"  # the broker's own super user (deploy/kafka/kafka.sh)
CLUSTER = "kafka-cluster"
# What any service that runs a consumer loop may publish: its failures (dead letters) and the
# results the activity log and emails are made from.
_REPORTS = frozenset({Topic.DEAD_LETTERS, Topic.SYNC_RESULTS})


@dataclass(frozen=True)
class ServiceAccess:
    user: str
    reads: frozenset[Topic] = frozenset()
    writes: frozenset[Topic] = frozenset()
    groups: tuple[str, ...] = ()
    # Describe every consumer group (lag on Health and /status).
    describes_all_groups: bool = False


SERVICE_ACCESS: tuple[ServiceAccess, ...] = (
    # The hook receiver, the Keap poller and backfills.
    ServiceAccess(
        "invoicesync-ingest",
        writes=frozenset({Topic.KEAP_NOTIFICATIONS}) | _REPORTS,
    ),
    # Held notifications go back onto keap.notifications when processing is switched on.
    ServiceAccess(
        "invoicesync-transform",
        reads=frozenset({Topic.KEAP_NOTIFICATIONS}),
        writes=frozenset({Topic.CANONICAL_EVENTS, Topic.KEAP_NOTIFICATIONS}) | _REPORTS,
        groups=("invoicesync-transform",),
    ),
    # A writer rebuilds a lost id map from idmap.ledger and records each new mapping there.
    ServiceAccess(
        "invoicesync-xero-writer",
        reads=frozenset({Topic.CANONICAL_EVENTS, Topic.ID_MAP_LEDGER}),
        writes=frozenset({Topic.ID_MAP_LEDGER}) | _REPORTS,
        groups=("invoicesync-xero-writer",),
    ),
    ServiceAccess(
        "invoicesync-qbo-writer",
        reads=frozenset({Topic.CANONICAL_EVENTS, Topic.ID_MAP_LEDGER}),
        writes=frozenset({Topic.ID_MAP_LEDGER}) | _REPORTS,
        groups=("invoicesync-qbo-writer",),
    ),
    # The webhook receiver and the consumer with its payments poll.
    ServiceAccess(
        "invoicesync-reverse-sync",
        reads=frozenset({Topic.LEDGER_NOTIFICATIONS, Topic.ID_MAP_LEDGER}),
        writes=frozenset({Topic.LEDGER_NOTIFICATIONS, Topic.ID_MAP_LEDGER}) | _REPORTS,
        groups=("invoicesync-reverse-sync",),
    ),
    ServiceAccess(
        "invoicesync-notifications",
        reads=frozenset({Topic.SYNC_RESULTS}),
        writes=_REPORTS,
        groups=("invoicesync-notifications",),
    ),
    # The admin API, console and CLI (Sync ID, backfill, replay, status) and the activity log.
    ServiceAccess(
        "invoicesync-admin",
        reads=frozenset(Topic),
        writes=frozenset(Topic),
        groups=("invoicesync-activity",),
        describes_all_groups=True,
    ),
)
ACCESS_BY_USER = {access.user: access for access in SERVICE_ACCESS}


def password_variable(user: str) -> str:
    """The environment variable holding `user`'s password: INVOICESYNC_KAFKA_PASSWORD_INGEST."""
    suffix = user.removeprefix("invoicesync-").upper().replace("-", "_")
    return f"INVOICESYNC_KAFKA_PASSWORD_{suffix}"


def broker_user(user: str, settings: Settings) -> str:
    """The user's name on the broker: behind the deployment's topic prefix, like its topics and
    groups, so deployments sharing a broker never share (or reset) each other's users."""
    return f"{settings.topic_prefix}{user}"


def service_acls(access: ServiceAccess, settings: Settings) -> list[ACL]:
    """The ACLs `access` needs in the deployment `settings` describes (its topic prefix)."""
    principal = f"User:{broker_user(access.user, settings)}"

    def allow(operation: ACLOperation, resource: ResourceType, name: str) -> ACL:
        return ACL(
            principal, "*", operation, ACLPermissionType.ALLOW, ResourcePattern(resource, name)
        )

    acls = [
        allow(ACLOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER),
        allow(ACLOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER),
    ]
    for topic in Topic:
        name = topic_name(topic, settings)
        # Every service makes the topics at start and checks readiness by their metadata.
        acls += [
            allow(ACLOperation.CREATE, ResourceType.TOPIC, name),
            allow(ACLOperation.DESCRIBE, ResourceType.TOPIC, name),
        ]
        if topic in access.reads:
            acls.append(allow(ACLOperation.READ, ResourceType.TOPIC, name))
        if topic in access.writes:
            acls.append(allow(ACLOperation.WRITE, ResourceType.TOPIC, name))
    for group in access.groups:
        acls.append(allow(ACLOperation.READ, ResourceType.GROUP, group_name(group, settings)))
    if access.describes_all_groups:
        acls.append(allow(ACLOperation.DESCRIBE, ResourceType.GROUP, "*"))
    return acls


def as_admin(settings: Settings, admin_password: str) -> Settings:
    return replace(settings, kafka_username=ADMIN_USER, kafka_password=admin_password)


def provision(settings: Settings, admin_password: str, passwords: Mapping[str, str]) -> list[str]:
    """Make or update each user in `passwords` (a SERVICE_ACCESS user → its password) and
    grant it its ACLs, then make the topics; returns the users provisioned. Safe to repeat:
    an existing ACL is granted again as a no-op, a password is set to the one given."""
    unknown = sorted(set(passwords) - set(ACCESS_BY_USER))
    if unknown:
        raise ValueError(f"no access is defined for Kafka users {unknown}")
    admin_settings = as_admin(settings, admin_password)
    admin = KafkaAdminClient(**kafka_connection(admin_settings), client_id="invoicesync-access")
    try:
        upserts = [
            UserScramCredentialUpsertion(
                broker_user(user, settings), ScramMechanism.SCRAM_SHA_512, password
            )
            for user, password in sorted(passwords.items())
        ]
        errors = {
            user: error
            for user, error in admin.alter_user_scram_credentials(upserts).items()
            if error
        }
        if errors:
            raise RuntimeError(f"setting Kafka users' passwords failed: {errors}")
        acls = [
            acl
            for user in sorted(passwords)
            for acl in service_acls(ACCESS_BY_USER[user], settings)
        ]
        failed = admin.create_acls(acls)["failed"]
        if failed:
            raise RuntimeError(f"granting Kafka ACLs failed: {failed!r}")
    finally:
        admin.close()
    ensure_topics(admin_settings)
    return sorted(passwords)


def passwords_from(environment: Mapping[str, str], users: Iterable[str]) -> dict[str, str]:
    missing = [
        password_variable(user) for user in users if not environment.get(password_variable(user))
    ]
    if missing:
        raise SystemExit(f"set {', '.join(missing)}: every service has a Kafka password of its own")
    return {user: environment[password_variable(user)] for user in users}


def main(argv: list[str] | None = None) -> None:
    """Provision the users named in `argv` (every service's when none) from the environment
    (KAFKA_ADMIN_PASSWORD and one INVOICESYNC_KAFKA_PASSWORD_<SERVICE> each), then the topics."""
    admin_password = os.environ.get("KAFKA_ADMIN_PASSWORD", "")
    if not admin_password:
        sys.exit("set KAFKA_ADMIN_PASSWORD: users and ACLs are the broker admin's to make")
    settings = Settings.from_env()
    wanted = (sys.argv[1:] if argv is None else argv) or list(ACCESS_BY_USER)
    users = provision(settings, admin_password, passwords_from(os.environ, wanted))
    print(f"kafka users ready: {' '.join(users)}; topics ready")


if __name__ == "__main__":
    main()
