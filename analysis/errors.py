"""Error and warning classes of the statistical engine.

Libraries raise; the CLI edge turns an :class:`AnalysisInputError` into one
line and exit code 2. Every message names the offending parameter in
backticks, as scipy's input validation does.
"""

from __future__ import annotations

__all__ = ["AnalysisInputError", "DegenerateDataError", "DegenerateIntervalWarning"]


class AnalysisInputError(ValueError):
    """Malformed input: wrong shape, empty, mismatched paired lengths, bad option."""


class DegenerateDataError(AnalysisInputError):
    """Data on which the statistic cannot be bootstrapped.

    Raised for fewer than two observations (units or clusters), NaN or
    infinite values, and statistics that are not finite on the data or on
    some resamples (a zero denominator, for instance).
    """


class DegenerateIntervalWarning(RuntimeWarning):
    """The BCa interval fell back to a simpler, documented form.

    ``method == "degenerate"``: the bootstrap distribution has zero spread
    (for example constant data); the interval is ``[estimate, estimate]``.
    ``method == "percentile"``: every bootstrap value lies on one side of the
    estimate, so the bias correction ``z0`` is infinite; the percentile
    interval is returned instead.
    """
