"""The errors nnpy raises for user mistakes.

Every user-facing mistake is an ``NnpyError``: the command line turns it into one
line on stderr and exit code 2, never a traceback.
"""


class NnpyError(Exception):
    """Base class of every error caused by a user's input (config, file, option)."""

    def message_lines(self) -> list[str]:
        """The message as the command line prints it: one line."""
        return [" ".join(str(self).split("\n"))]


class RegistryError(NnpyError, KeyError):
    """An unknown registered name or an unknown / invalid option.

    ``unknown``: the name that is not registered (``kind`` says in which registry);
    ``option``: the option at fault. Callers use them to point at the config key.
    """

    def __init__(self, message: str, *, kind: str | None = None, unknown: str | None = None,
                 option: str | None = None):
        super().__init__(message)
        self.kind, self.unknown, self.option = kind, unknown, option

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ShapeError(NnpyError, ValueError):
    """A layer received an input shape it cannot handle."""


class ConfigError(NnpyError, ValueError):
    """A config file or override is invalid; the message names the file and the key."""


class CheckpointError(NnpyError, ValueError):
    """A checkpoint is missing, corrupt, of another version or does not fit its model."""


class DataError(NnpyError, ValueError):
    """A dataset is missing or malformed, or an image cannot be read."""


class BadCellsError(DataError):
    """Bad cells of a table: one line each, naming file, row and column (the command line
    prints every line)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = list(lines)

    def message_lines(self) -> list[str]:
        return list(self.lines)


class AutogradError(NnpyError, RuntimeError):
    """A Tensor computation used wrongly: backward twice through a released graph,
    an integer tensor that should require a gradient, a layer's forward returning no Tensor."""
