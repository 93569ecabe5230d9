"""The database back end: the message is recorded (``Message``, by the dispatcher) and counts as accepted.

The default of every channel and what the demo uses: nothing leaves the machine, and the messages are there to
read in the admin and on the customer's page."""

from .base import Channel, Outgoing, SendResult


class DatabaseChannel(Channel):
    name = "database"
    remote = False

    def send(self, message: Outgoing) -> SendResult:
        return SendResult.accepted(f"db-{message.idempotency_key}")
