"""The consumers of the transactional outbox, in the order the relay calls them.

Each is `fan_out(session, event)` writing its own delivery rows (see service.usecases.dispatch).
Other features append their consumer here.
"""

from __future__ import annotations

from service.sync import outbox as partner_outbox
from service.usecases import subscriptions
from service.usecases.dispatch import FanOut

CONSUMERS: list[FanOut] = [
    subscriptions.fan_out,
    partner_outbox.fan_out,
]
