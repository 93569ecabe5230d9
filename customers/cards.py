"""The customer 360 page's cards from the apps above customers, without customers importing them.

An app registers a card provider in its ``AppConfig.ready()``::

    from customers import cards

    cards.register(
        name="touches", order=40, action="customer.view", template="followups/360/_touches.html",
        context=touches_card,
    )

``context(page)`` reads what the card shows for ``page.dealership``, ``page.customer`` and ``page.user`` in a
fixed number of queries (never one per row) and returns the card's template context. ``page.cached(key, fn)``
keeps what several cards would read twice (once per request). A card the user's role may not see
(``action``) is neither read nor rendered. ``slot`` places it: ``side`` (the left column), ``main`` (the right
column, below the visits) or ``flags`` (badges under the customer's name).

The counter's list of expected arrivals takes marks from the apps above in the same way
(``register_arrival_marks``): a function that sets attributes on the appointments of the list (the campaign
invitation behind an appointment, the customer's open coupons), again in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from dealercrm.core.roles import PERMISSIONS, can

SLOTS = ("flags", "side", "main")


@dataclass(frozen=True)
class Card:
    name: str
    order: int
    action: str
    template: str
    context: Callable[[CardPage], dict]
    slot: str = "side"


@dataclass
class CardPage:
    """What a card provider reads for: the customer of the page, the user looking, and what the page has read
    already (``visits``: the ones shown, newest first; ``appointments``), with a per-request cache."""

    dealership: object
    customer: object
    user: object
    today: dt.date
    visits: list = field(default_factory=list)
    appointments: list = field(default_factory=list)
    cache: dict = field(default_factory=dict)

    def cached(self, key: str, read: Callable[[], object]):
        """``read()`` once per request, however many cards ask for ``key``."""
        if key not in self.cache:
            self.cache[key] = read()
        return self.cache[key]


@dataclass(frozen=True)
class ShownCard:
    """A card as the page renders it: its template with its context."""

    name: str
    template: str
    context: dict


_CARDS: dict[str, Card] = {}
_ARRIVAL_MARKS: dict[str, Callable] = {}


def register(
    *, name: str, order: int, action: str, template: str, context: Callable[[CardPage], dict], slot: str = "side"
) -> Card:
    """Register (or replace, by ``name``) a card of the 360 page."""
    if action not in PERMISSIONS:
        raise KeyError(f"Unknown role-table action {action!r} for card {name!r}")
    if slot not in SLOTS:
        raise ValueError(f"Unknown slot {slot!r} for card {name!r}: one of {SLOTS}")
    card = Card(name=name, order=order, action=action, template=template, context=context, slot=slot)
    _CARDS[name] = card
    return card


def unregister(name: str) -> None:
    _CARDS.pop(name, None)


def registered() -> list[Card]:
    """Every registered card, in order."""
    return sorted(_CARDS.values(), key=lambda card: (card.order, card.name))


def cards_for(page: CardPage) -> dict[str, list[ShownCard]]:
    """The cards ``page.user`` may see, each with its context read, by slot, in order."""
    shown: dict[str, list[ShownCard]] = {slot: [] for slot in SLOTS}
    for card in registered():
        if not can(page.user, card.action):
            continue
        shown[card.slot].append(ShownCard(name=card.name, template=card.template, context=card.context(page) or {}))
    return shown


# --- the counter's arrivals ---------------------------------------------------------------------------------


def register_arrival_marks(name: str, mark: Callable) -> None:
    """``mark(*, dealership, appointments, today)`` sets attributes on the counter's expected arrivals."""
    _ARRIVAL_MARKS[name] = mark


def mark_arrivals(*, dealership, appointments: list, today: dt.date) -> None:
    for mark in _ARRIVAL_MARKS.values():
        mark(dealership=dealership, appointments=appointments, today=today)
