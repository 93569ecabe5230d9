"""What a service says when it refuses: a stable code for machines, a translated message for people.

Every refusal reaches a client as the one error contract (``dealercrm.core.api``)::

    {"code": "<stable code>", "message": "<translated text>", "fields": {"<field>": ["<text>", ...]}}

Clients match on ``code``, never on the text. A page shows ``message`` (and the field errors beside
their fields). ``StateConflict`` is a request that was valid but meets the record in a state that does
not allow it (a finished campaign, a redeemed coupon): 409 on the page and in the API alike.
"""


class ApplicationError(Exception):
    """A service refused a request: ``message`` is for the user, ``code`` and ``fields`` for machines."""

    #: the default stable code of this kind of refusal; a raise site names a more precise one
    code = "invalid"
    #: the HTTP status a page or the API answers with
    status = 400

    def __init__(self, message, *, code: str | None = None, fields: dict | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        extra = dict(extra or {})
        self.fields = dict(fields or extra.pop("fields", None) or {})
        #: anything else a client may use (e.g. the findings of a compliance check)
        self.extra = extra


class StateConflict(ApplicationError):
    """The record's current state does not allow this (409): reload and look before trying again."""

    code = "state_conflict"
    status = 409
