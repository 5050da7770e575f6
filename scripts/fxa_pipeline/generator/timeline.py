"""Start times of flows and activity sessions: sorted, diurnal, streamed one at a time.

`sorted_starts` yields exactly `n` times in `[lo_ms, hi_ms)` in increasing order without
holding them: sorted uniforms by the sequential order-statistics method
(`u_i = u_{i-1} + (1 - u_{i-1}) * (1 - v ** (1 / (n - i + 1)))`), mapped through the inverse
of a daily traffic curve (quietest around 03:00 UTC, busiest around 15:00 UTC). The mapping is
monotone, so the times stay sorted.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator

DAY_MS = 86_400_000
_GRID = 1440  # one point per minute of the day
_AMPLITUDE = 0.55


def _curve_cdf() -> tuple[float, ...]:
    """Cumulative traffic share at each minute boundary, 0 .. 1."""
    two_pi = 2 * math.pi

    def raw(x: float) -> float:  # integral of 1 + A*sin(2*pi*(x - 0.375)) from 0 to x
        return x - _AMPLITUDE / two_pi * (
            math.cos(two_pi * (x - 0.375)) - math.cos(two_pi * -0.375)
        )

    total = raw(1.0)
    return tuple(raw(i / _GRID) / total for i in range(_GRID + 1))


_CDF = _curve_cdf()


def _day_fraction_at(share: float) -> float:
    """Inverse of the cumulative traffic curve: the time of day (0..1) by which `share` of
    the day's traffic has started."""
    i = min(max(bisect.bisect_right(_CDF, share) - 1, 0), _GRID - 1)
    lo, hi = _CDF[i], _CDF[i + 1]
    return (i + (share - lo) / (hi - lo)) / _GRID


def traffic_share(frac_lo: float, frac_hi: float) -> float:
    """Share of a day's traffic that starts between two times of day (fractions 0..1)."""
    return _share_at(frac_hi) - _share_at(frac_lo)


def _share_at(frac: float) -> float:
    x = frac * _GRID
    i = min(int(x), _GRID - 1)
    return _CDF[i] + (x - i) * (_CDF[i + 1] - _CDF[i])


def sorted_starts(
    rng: random.Random, n: int, day_start_ms: int, frac_lo: float = 0.0, frac_hi: float = 1.0
) -> Iterator[int]:
    """`n` sorted epoch-ms times between `frac_lo` and `frac_hi` of the day at `day_start_ms`."""
    s_lo, s_hi = _share_at(frac_lo), _share_at(frac_hi)
    u = 0.0
    for remaining in range(n, 0, -1):
        u += (1.0 - u) * (1.0 - rng.random() ** (1.0 / remaining))
        frac = _day_fraction_at(s_lo + u * (s_hi - s_lo))
        yield day_start_ms + min(int(frac * DAY_MS), DAY_MS - 1)
