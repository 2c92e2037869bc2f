"""The test stack's replicas of a consumer, named and given ports as `make up` gives them."""

from __future__ import annotations

import re

import pytest

from tests.stack import process_specs


def test_a_consumer_runs_as_numbered_replicas_each_with_its_own_metrics_port():
    specs = {spec.name: spec for spec in process_specs({}, {"xero-writer": 3})}

    replicas = [name for name in specs if name.startswith("xero-writer")]
    ports = {re.search(r"INVOICESYNC_METRICS_PORT=(\d+)", specs[n].command)[1] for n in replicas}

    assert replicas == ["xero-writer-1", "xero-writer-2", "xero-writer-3"]
    assert len(ports) == 3
    assert {specs[name].module for name in replicas} == {"xero_writer.main"}
    assert "transform" in specs and "xero-writer" not in specs


@pytest.mark.parametrize("name", ["ingest", "ingest-poller", "sandbox-xero"])
def test_http_services_and_the_poller_do_not_run_as_replicas(name):
    with pytest.raises(ValueError, match=name):
        process_specs({}, {name: 2})


def test_a_replica_count_for_no_process_is_refused():
    with pytest.raises(ValueError, match="xero-writr"):
        process_specs({}, {"xero-writr": 2})
