class ApplicationError(Exception):
    """A service refused a request: the message is for the user, ``extra`` for machines."""

    def __init__(self, message, extra=None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
