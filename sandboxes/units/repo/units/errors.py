"""The one exception type of the package."""


class UnitError(ValueError):
    """A value or unit that cannot be parsed, formatted or converted.

    It derives from ``ValueError`` so that callers that already catch ``ValueError`` around number parsing
    keep working.
    """
