"""The one base exception of the services package.

Every error raised on purpose by services/ derives from ReelboardError and carries a message a
person can act on: what happened, what to do next, and whether retrying is safe.
"""

from __future__ import annotations


class ReelboardError(Exception):
    """Base class for every error Reelboard raises on purpose."""

    #: Short machine-friendly name of the failing step, shown next to the message in the UI.
    step: str = "error"
    #: Whether doing the same thing again may succeed without any change.
    retry_safe: bool = False

    def __init__(self, message: str, *, step: str | None = None, retry_safe: bool | None = None):
        super().__init__(message)
        self.message = message
        if step is not None:
            self.step = step
        if retry_safe is not None:
            self.retry_safe = retry_safe

    def __reduce__(self):  # keep the extra attributes when pickled (e.g. across processes)
        return (_rebuild, (type(self), self.message, self.step, self.retry_safe, self.__dict__))


def _rebuild(cls, message, step, retry_safe, state):
    obj = cls.__new__(cls)
    Exception.__init__(obj, message)
    obj.__dict__.update(state)
    obj.message, obj.step, obj.retry_safe = message, step, retry_safe
    return obj


class ConfigError(ReelboardError):
    """The configuration cannot work; the message lists every problem and how to fix it."""

    step = "configuration"

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"Reelboard's configuration needs fixing:\n{lines}")


class StorageError(ReelboardError):
    """The local cache (SQLite) could not be opened or written."""

    step = "storage_error"
