"""One action, two deliveries: a notifier that claims it and a companion that adds to it.

The pipeline carries out an action with the first notifier that handles it and records it as
done only when that succeeded, so a failed action is tried again next cycle. Some effects
belong to an action without claiming it: the note a HubSpot ticket's timeline gets when an
escalation level is reached, while Slack announces the same level. `Notifiers` runs both as
one `Notifier`:

- the claiming chain first (an alert must not wait for the CRM), then each companion that
  wants the action;
- a share that fails does not stop the other; the action then fails as a whole, and the
  pipeline tries it again next cycle;
- each share that succeeded while another remains is remembered in the state store
  (`part:<ticket>:<action key>:<share>`), so the next try repeats only what failed: Slack is
  not posted twice because HubSpot was down, and the note is not written twice because Slack
  was. What the store remembers survives a restart.

Actions no companion wants go straight through the chain, without touching the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from syncd.errors import SyncdError
from syncd.keys import share_key
from syncd.model import Action, Decision, Ticket
from syncd.ports import Notifier

log = structlog.get_logger("syncd.notifiers")

CHAIN = "notify"  # the share of the claiming notifiers


class Companion(Protocol):
    """Adds to some actions without claiming them (a timeline note for an escalation)."""

    name: str

    def wants(self, action: Action) -> bool:
        """Whether this action gets this companion's share."""
        ...

    def annotate(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str:
        """Do the share; returns its outcome. Raises SyncdError on failure."""
        ...


class Ledger(Protocol):
    """Where shares already done are remembered (the state store's meta)."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class Notifiers:
    """The claiming notifiers, tried in order, plus companions, as one Notifier."""

    def __init__(
        self,
        chain: Sequence[Notifier],
        companions: Sequence[Companion] = (),
        ledger: Callable[[], Ledger] | None = None,
    ) -> None:
        """`ledger` opens the store the first time a companion wants an action."""
        self.chain = list(chain)
        self.companions = list(companions)
        self._open = ledger
        self._ledger: Ledger | None = None

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Carry out the action: its claiming notifier, then its companions' shares."""
        extra = [c for c in self.companions if c.wants(action)]
        if not extra:
            return self._claim(ticket, action, text, decision)
        shares: list[tuple[str, Callable[[], str | None]]] = [
            (CHAIN, lambda: self._claim(ticket, action, text, decision)),
            *((c.name, _bind(c, ticket, action, text, decision)) for c in extra),
        ]
        ledger = self._open_ledger()
        outcomes: list[str] = []
        failure: SyncdError | None = None
        pending = len(shares)
        for name, run in shares:
            mark = share_key(ticket.id, action.key, name)
            done = ledger.get_meta(mark)
            if done is not None:
                outcomes.append(done)
                pending -= 1
                continue
            try:
                outcome = run()
            except SyncdError as exc:
                failure = failure or exc
                log.error("action share failed", ticket=ticket.id, action=action.key, share=name)
                continue
            pending -= 1
            text_out = outcome or _skipped(action)
            outcomes.append(text_out)
            if pending or failure:  # another share may still fail: remember this one
                ledger.set_meta(mark, text_out)
        if failure is not None:
            raise failure
        return "; ".join(outcomes)

    def _claim(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        for notifier in self.chain:
            outcome = notifier.deliver(ticket, action, text, decision)
            if outcome is not None:
                return outcome
        return None

    def _open_ledger(self) -> Ledger:
        if self._ledger is None:
            if self._open is None:
                raise RuntimeError("Notifiers with companions need a ledger")
            self._ledger = self._open()
        return self._ledger


def _bind(
    companion: Companion, ticket: Ticket, action: Action, text: str, decision: Decision
) -> Callable[[], str]:
    return lambda: companion.annotate(ticket, action, text, decision)


def _skipped(action: Action) -> str:
    return f"skipped: nothing configured to carry out {action.kind} {action.target}".strip()
