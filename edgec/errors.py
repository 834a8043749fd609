"""The one exception type library code raises for problems a user can fix."""


class EdgecError(Exception):
    """A user-facing error: a one-line message plus a hint on what to try.

    The CLI prints ``edgec: error: <message> (hint: <hint>)`` and exits 2.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message
