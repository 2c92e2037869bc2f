"""Operator tools: replay a tenant's topic from a time; list dead letters page by page and
replay them one by one or all that match a tenant, consumer group and time range."""

from __future__ import annotations

from flask import Blueprint, jsonify

from admin.api.context import load_body, load_query, operator_required, services
from admin.api.schemas import (
    DeadLetterBulkReplaySchema,
    DeadLetterQuerySchema,
    DeadLetterReplaySchema,
    ReplayRequestSchema,
)
from admin.replay import (
    DeadLetterFilter,
    dead_letter_page,
    replay_dead_letter,
    replay_dead_letters,
    replay_topic,
)
from invoicesync.events import Topic

replay_routes = Blueprint("replay", __name__, url_prefix="/api/v1")


@replay_routes.post("/replay")
@operator_required
def replay():
    request = load_body(ReplayRequestSchema())
    count = replay_topic(
        services().settings,
        Topic(request["topic"]),
        request["tenant"],
        request["from_time"],
        publisher=services().publisher,
    )
    return jsonify(replayed=count)


@replay_routes.get("/dlq")
@operator_required
def dead_letters():
    query = load_query(DeadLetterQuerySchema())
    page = dead_letter_page(
        services().settings,
        _dead_letter_filter(query),
        query["limit"],
        before=query["before"],
        redis_client=services().redis,
    )
    return jsonify(
        dead_letters=[letter.to_json() for letter in page.letters], next_before=page.next_before
    )


@replay_routes.post("/dlq/replay-all")
@operator_required
def replay_matching_dead_letters():
    request = load_body(DeadLetterBulkReplaySchema())
    outcome = replay_dead_letters(
        services().settings,
        _dead_letter_filter(request),
        redis_client=services().redis,
        publisher=services().publisher,
    )
    return jsonify(outcome.to_json())


def _dead_letter_filter(loaded: dict) -> DeadLetterFilter:
    return DeadLetterFilter(
        tenant_id=loaded["tenant"],
        group_id=loaded["group"],
        since=loaded["since"],
        until=loaded["until"],
    )


@replay_routes.post("/dlq/replay")
@operator_required
def replay_one_dead_letter():
    request = load_body(DeadLetterReplaySchema())
    replayed = replay_dead_letter(
        services().settings,
        request["offset"],
        redis_client=services().redis,
        publisher=services().publisher,
    )
    return jsonify(offset=request["offset"], replayed=replayed)
