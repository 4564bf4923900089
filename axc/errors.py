"""Errors the user can act on."""


class AxcError(Exception):
    """A user-facing error: one line, names the file/layer/op and what to do.

    The CLI prints it without a traceback, so the message must stand on its own.
    """
