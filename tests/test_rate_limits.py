"""Rate limits: 30% of the answers are 429 with Retry-After, and no request reaches an API
before the Retry-After it gave allows (the sandbox records each arrival and each Retry-After);
the sync completes with nothing lost or duplicated. A Retry-After too long to wait out ends
the call, and later cycles still send nothing before its time."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from syncd.sandbox import Sandbox
from tests.conftest import Syncd
from tests.fault_checks import crm_ids, figures, lost_and_duplicated, sheet_ids

# The APIs whose requests syncd's retry policy sends. (Google's OAuth token endpoint is
# retried by google-auth itself, on its own backoff.)
APIS = ("zendesk", "hubspot", "sheets")


@pytest.mark.slow
def test_retry_after_is_honoured_under_a_storm_of_429s_and_the_sync_completes(
    sandbox: Sandbox, syncd: Syncd
):
    tickets = sandbox.zendesk.generate(1000, seed=7)
    expected = {str(t["id"]) for t in tickets}
    sandbox.faults.rate = 0.3
    sandbox.faults.rate_limited_share = 1.0  # every fault a 429
    # Longer than syncd's own first backoff (1-2 s), so ignoring it would show.
    sandbox.faults.retry_after = 2
    sandbox.faults.only = set(APIS)
    for sink in syncd.parts.sinks:
        sink.attempts = 10
    syncd.parts.source.attempts = 10

    report = syncd.once()
    sandbox.faults.rate = 0.0
    assert report.errors == 0 and not report.more

    arrivals = sandbox.arrivals()
    limited = [a for a in arrivals if a.status == 429]
    assert len(limited) >= 5, "the storm did happen"
    assert all(a.retry_after == 2 for a in limited if a.api in APIS)
    early = []
    for api in APIS:
        mine = [a for a in arrivals if a.api == api]
        for answer, following in pairwise(mine):
            if answer.status == 429 and following.at < answer.at + (answer.retry_after or 0):
                early.append((api, following.at - answer.at))
    assert early == [], "requests sent before Retry-After allowed"
    lost_sheet, dup_sheet = lost_and_duplicated(expected, sheet_ids(sandbox))
    lost_crm, dup_crm = lost_and_duplicated(expected, crm_ids(sandbox))
    assert (lost_sheet, dup_sheet, lost_crm, dup_crm) == (0, 0, 0, 0)
    figures(
        "rate limits",
        requests=len(arrivals),
        absorbed_429s=len(limited),
        sent_early=len(early),
        lost=lost_sheet + lost_crm,
        duplicated=dup_sheet + dup_crm,
    )


def test_a_retry_after_over_a_minute_ends_the_call_and_later_cycles_keep_to_it(
    sandbox: Sandbox, syncd: Syncd
):
    sandbox.zendesk.generate(20, seed=8)
    sandbox.faults.rate = 1.0
    sandbox.faults.rate_limited_share = 1.0
    sandbox.faults.retry_after = 120
    sandbox.faults.only = {"hubspot"}

    started = time.monotonic()
    report = syncd.once()
    assert time.monotonic() - started < 10, "a two-minute wait is not slept through"
    assert "429" in (report.sinks["hubspot"].error or "")
    assert report.sinks["hubspot"].backlog == 20 and report.sinks["sheets"].written == 20
    assert sandbox.counts()["hubspot"] == 1

    sandbox.faults.rate = 0.0  # HubSpot would answer now, but it asked for two minutes
    report = syncd.once()
    assert "Retry-After" in (report.sinks["hubspot"].error or "")
    assert sandbox.counts()["hubspot"] == 1, "nothing sent before its Retry-After allows"
