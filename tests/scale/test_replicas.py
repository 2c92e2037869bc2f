"""Three xero-writer replicas in one consumer group, one SIGKILLed mid-backlog, on a stack of
this file's own (tests/scale/conftest.py): afterwards every invoice is in Xero exactly
once, the group has committed to the end of `canonical.events`, and the two survivors own all
of its partitions within the group's session timeout (plus a margin: a busy machine is slow,
not wrong). An order created and then edited in Keap lands edited: the newer content, later in
its tenant's partition, is never overwritten by the older.

The backlog is made while the stack's one writer is stopped: Keap orders for three Xero tenants
(each its own organisation, every order reaching all three), transformed into
`canonical.events`. The replicas start while Xero answers 500, so none writes before all three
own their partitions; then Xero answers again, each call 0.7 s late so a tenant's run of calls
(contacts, the lookup by number, the batch of invoices) is still going on when the replica
owning the first tenant's partition has made its first call and is killed.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from kafka import KafkaAdminClient, TopicPartition

from invoicesync.events import EventType, Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.consumer_loop import SESSION_TIMEOUT_MS
from invoicesync.kafka.partitioning import partition_for_key
from invoicesync.kafka.topics import group_name, topic_name
from tests.e2e.destinations import XERO_SETTINGS
from tests.e2e.journey import Tenant, onboard_from_here, retire
from tests.e2e.keap_orders import add_line, newest_invoice_id
from tests.e2e.ledgers import XeroLedger, keap_figures, landed
from tests.integration.topic_reading import read_topic
from tests.resilience.test_outages import (
    ONE_LINE,
    counts,
    dead_letters_of,
    every_order_once,
    orders,
    provider_fault,
)
from tests.stack import Stack, StackProcess
from tests.waiting import (
    committed_offsets,
    end_offsets,
    eventually,
    finished_with_everything_published,
)

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

WRITER = "xero-writer"
WRITER_GROUP = "invoicesync-xero-writer"
REPLICAS = 3
TENANTS = 3
# Orders before and after the edited one: (2 * 6 + 1) orders for each of 3 tenants.
ORDERS_AROUND_THE_EDIT = 6
XERO_LATENCY_MS = 700
XERO_API = ["/api.xro/2.0/"]
# The group drops a silent member after the session timeout; the rebalance and a busy machine
# take a while more.
TAKEOVER_MARGIN_SECONDS = 30.0
GIFT_WRAP = {"name": "Gift wrap", "quantity": 1, "item_type": "OTHER", "price_per_unit": "3.25"}


def draft_tenant(stack: Stack, keap, stack_redis) -> Tenant:
    """A Xero tenant whose invoices stay drafts, so a Keap edit updates the invoice in place."""
    return onboard_from_here(
        stack,
        newest_invoice_id(keap),
        stack_redis,
        "xero",
        ledger_settings=XERO_SETTINGS | {"invoice_status": "DRAFT"},
    )


def invoice_contents(stack: Stack, tenant: Tenant, keap_ids: set[str]) -> set[str]:
    """The distinct contents transform published for the tenant's invoices of `keap_ids`."""
    events = read_topic(stack.settings, Topic.CANONICAL_EVENTS, tenant_id=tenant.id, timeout=3)
    return {
        event["payload"].get("content_hash", "")
        for event in events
        if event["type"] == EventType.INVOICE_CANONICALISED.value
        and str(event["payload"].get("keap_invoice_id")) in keap_ids
    }


def invoices_published(stack: Stack, tenant: Tenant) -> int:
    """How many of the tenant's invoices transform has published a content of."""
    events = read_topic(stack.settings, Topic.CANONICAL_EVENTS, tenant_id=tenant.id, timeout=3)
    return len(
        {
            event["payload"].get("keap_invoice_id")
            for event in events
            if event["type"] == EventType.INVOICE_CANONICALISED.value
        }
    )


def group_members(stack: Stack) -> dict[str, set[int]]:
    """The writer group's members now, by client id (the service's group and the process id),
    each with the `canonical.events` partitions assigned to it; empty while rebalancing."""
    topic = topic_name(Topic.CANONICAL_EVENTS, stack.settings)
    group = group_name(WRITER_GROUP, stack.settings)
    admin = KafkaAdminClient(**kafka_connection(stack.settings))
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    if description.get("group_state") != "Stable":
        return {}
    members: dict[str, set[int]] = {}
    for member in description.get("members", []):
        assignment = member.get("member_assignment") or {}
        members[member["client_id"]] = {
            partition
            for owned in assignment.get("assigned_partitions") or []
            if owned["topic"] == topic
            for partition in owned["partitions"]
        }
    return members


def client_id(process: StackProcess) -> str:
    return f"{WRITER_GROUP}-{process.pid}"


def owning_all(stack: Stack, clients: set[str]) -> dict[str, set[int]]:
    """The group's members once they are exactly `clients`, owning every partition between them."""
    members = group_members(stack)
    owned = set().union(*members.values()) if members else set()
    if set(members) != clients or owned != set(range(stack.settings.topic_partitions)):
        return {}
    return members


def unfinished(stack: Stack, partitions: set[int]) -> int:
    """Messages on `partitions` of `canonical.events` the writer group has not committed."""
    topic = topic_name(Topic.CANONICAL_EVENTS, stack.settings)
    ends = end_offsets(stack.settings, [topic])
    committed = committed_offsets(stack.settings, group_name(WRITER_GROUP, stack.settings))
    return sum(
        end - max(committed.get(TopicPartition(topic, partition), 0), 0)
        for tp, end in ends.items()
        for partition in [tp.partition]
        if partition in partitions
    )


def xero_requests(stack: Stack) -> list[dict]:
    answer = requests.get(f"{stack.xero_url}/_sandbox/requests", params={"limit": 1000}, timeout=5)
    answer.raise_for_status()
    return answer.json()


def answered(
    stack: Stack, organisations: set[str], seen: set[str], *, method: str = "", path: str = ""
) -> bool:
    """Xero's stand-in has answered with success a call for one of `organisations` (of `method`
    to `path`, if given) that is not among the requests `seen` (by request id)."""
    return any(
        entry["request_id"] not in seen
        and entry["status"] < 300
        and entry["path"].startswith(XERO_API[0])
        and (entry["method"], entry["path"]) == (method or entry["method"], path or entry["path"])
        and entry["headers"].get("Xero-Tenant-Id", entry["headers"].get("xero-tenant-id"))
        in organisations
        for entry in xero_requests(stack)
    )


def request_ids(stack: Stack) -> set[str]:
    return {entry["request_id"] for entry in xero_requests(stack)}


def test_a_killed_xero_writer_replica_hands_its_partitions_over_and_every_invoice_lands_once(
    scale_stack, keap, stack_redis
):
    stack = scale_stack
    tenants = [draft_tenant(stack, keap, stack_redis) for _ in range(TENANTS)]
    ledgers = {tenant.id: XeroLedger(stack.xero_url, tenant.ledger_id) for tenant in tenants}
    own_writer = stack.process(WRITER)
    own_writer.stop()
    try:
        # The backlog, with no writer to take it: orders, one of them edited once transform has
        # published its first content for every tenant, and more orders.
        numbers = orders(keap, ORDERS_AROUND_THE_EDIT)
        edited_order = keap.order(ONE_LINE)
        edited_ids = {str(edited_order["id"]), str(edited_order["invoice_id"])}
        for tenant in tenants:
            eventually(
                lambda tenant=tenant: invoice_contents(stack, tenant, edited_ids),
                f"the first content of order {edited_order['id']} for {tenant.id}",
            )
        edited = keap_figures(add_line(keap, edited_order["id"], GIFT_WRAP))
        for tenant in tenants:
            eventually(
                lambda tenant=tenant: len(invoice_contents(stack, tenant, edited_ids)) == 2,
                f"the edited content of order {edited_order['id']} for {tenant.id}",
            )
        numbers += orders(keap, ORDERS_AROUND_THE_EDIT)
        numbers.append(edited.invoice_number)
        for tenant in tenants:
            eventually(
                lambda tenant=tenant: invoices_published(stack, tenant) >= len(numbers),
                f"{len(numbers)} invoices of {tenant.id} in canonical.events",
            )

        provider_fault(stack.xero_url, {"error_rate": 1.0, "endpoints": XERO_API})
        with stack.scaled_out(WRITER, REPLICAS) as writers:
            by_client = {client_id(writer): writer for writer in writers}
            members = eventually(
                lambda: owning_all(stack, set(by_client)),
                f"{REPLICAS} writers owning the partitions of canonical.events",
            )
            first = tenants[0]
            partition = partition_for_key(first.id.encode(), stack.settings.topic_partitions)
            victim_client = next(c for c, owned in members.items() if partition in owned)
            victim = by_client[victim_client]
            victim_tenants = [
                tenant
                for tenant in tenants
                if partition_for_key(tenant.id.encode(), stack.settings.topic_partitions)
                in members[victim_client]
            ]
            held = unfinished(stack, members[victim_client])
            seen = request_ids(stack)
            provider_fault(
                stack.xero_url,
                {"error_rate": 0.0, "latency_ms": XERO_LATENCY_MS, "endpoints": XERO_API},
            )
            # Killed once Xero has its batch of the first tenant's invoices: its results are
            # not yet published nor its offsets committed, and the edit is still to be written.
            eventually(
                lambda: answered(
                    stack, {first.ledger_id}, seen, method="PUT", path="/api.xro/2.0/Invoices"
                ),
                f"{victim.name} writing {first.id}'s invoices",
                step=0.05,
            )
            victim.kill()
            killed_at = time.monotonic()
            survivors = set(by_client) - {victim_client}
            # Before the group drops it, none writes its partitions: what it left in Xero.
            landed_at_kill = sum(
                len(counts(ledgers[tenant.id], numbers)) for tenant in victim_tenants
            )
            after = eventually(
                lambda: owning_all(stack, survivors),
                f"the survivors owning every partition without {victim.name}",
                step=0.25,
            )
            took_over = time.monotonic() - killed_at
            eventually(
                lambda: all(
                    len(counts(ledgers[t.id], numbers)) == len(numbers)
                    and landed(ledgers[t.id], edited.invoice_number, total=edited.total)
                    for t in victim_tenants
                ),
                f"every invoice of {victim.name}'s tenants in Xero",
                step=0.25,
            )
            caught_up = time.monotonic() - killed_at
            provider_fault(stack.xero_url, {"latency_ms": 0, "endpoints": []})

            found = {tenant.id: every_order_once(ledgers[tenant.id], numbers) for tenant in tenants}
            eventually(
                lambda: all(
                    landed(ledgers[t.id], edited.invoice_number, total=edited.total)
                    for t in tenants
                ),
                f"order {edited_order['id']} edited in every organisation",
            )
            finished_with_everything_published(
                stack.settings,
                group_name(WRITER_GROUP, stack.settings),
                [topic_name(Topic.CANONICAL_EVENTS, stack.settings)],
            )
            letters = [letter for t in tenants for letter in dead_letters_of(stack, t)]
            print(
                f"{REPLICAS} writers, {len(numbers)} invoices for each of {TENANTS} tenants; "
                f"{victim.name} killed holding {held} unfinished messages of partitions "
                f"{sorted(members[victim_client])} ({len(victim_tenants)} tenants, "
                f"{landed_at_kill} invoices of theirs in Xero); survivors owned every partition "
                f"after {took_over:.1f} s (session timeout {SESSION_TIMEOUT_MS / 1000:.0f} s): "
                f"{ {by_client[c].name: sorted(p) for c, p in after.items()} }; "
                f"its tenants complete {caught_up:.1f} s after the kill; copies per invoice "
                f"{sorted({n for f in found.values() for n in f.values()})}; "
                f"dead letters {len(letters)}"
            )
    finally:
        provider_fault(stack.xero_url, {"error_rate": 0.0, "latency_ms": 0, "endpoints": []})

    assert held > 0, "the killed writer held no work"
    assert took_over <= SESSION_TIMEOUT_MS / 1000 + TAKEOVER_MARGIN_SECONDS
    for tenant in tenants:
        assert set(found[tenant.id].values()) == {1}, found[tenant.id]
        invoice = landed(ledgers[tenant.id], edited.invoice_number)
        assert invoice is not None and invoice.total == edited.total == Decimal("43.25")
    assert letters == []
    stack.check_all_alive()
    for tenant in tenants:
        retire(stack, tenant)
