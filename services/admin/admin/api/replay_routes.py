"""Operator tools: replay a tenant's topic from a time; list and replay dead letters."""

from __future__ import annotations

from flask import Blueprint, jsonify

from admin.api.context import load_body, load_query, operator_required, services
from admin.api.schemas import (
    DeadLetterQuerySchema,
    DeadLetterReplaySchema,
    ReplayRequestSchema,
)
from admin.replay import list_dead_letters, replay_dead_letter, replay_topic
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
    letters = list_dead_letters(
        services().settings, query["limit"], query["tenant"], redis_client=services().redis
    )
    return jsonify(dead_letters=[letter.to_json() for letter in letters])


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
