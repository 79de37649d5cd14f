"""Hypothesis strategies shared by the property tests, and the run profiles.

Profiles: ``ci`` (the default: derandomized, so a run is reproducible, and no
deadline on a shared machine) and ``dev`` (ten times the examples, random).
Choose with ``HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: lon/lat anywhere in China, where GCJ-02 applies
china = st.tuples(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
#: lon/lat in and around Zhengzhou, the demo district's city
zhengzhou = st.tuples(st.floats(113.4, 113.8), st.floats(34.6, 34.95))
#: seed, number of cells and size (degrees) of a random Voronoi tiling
tilings = st.tuples(st.integers(0, 10**6), st.integers(3, 60), st.sampled_from([0.0005, 0.01, 0.2]))


def _digits(n: int, first_nonzero: bool = True) -> st.SearchStrategy[str]:
    """``n`` digits, not all zeros (a zero segment is not a code)."""
    return st.integers(1, 10**n - 1).map(lambda v: f"{v:0{n}d}")


#: a valid county code (GB/T 2260): province 11..65, not 00, city and county not 0000
counties = st.tuples(st.integers(11, 65), st.integers(1, 9999)).map(lambda t: f"{t[0]}{t[1]:04d}")


@st.composite
def grid_codes(draw) -> tuple[str, str, list[str]]:
    """A valid code of any level: (code, level, its segments outermost first)."""
    level = draw(st.sampled_from(["district", "street", "community", "grid", "micro", "dedicated"]))
    parts = [draw(counties)]
    for name, width in (("street", 3), ("community", 3), ("grid", 3), ("micro", 2)):
        if level == "dedicated" and name == "grid":
            parts.append("Z" + draw(_digits(2)))
            break
        # a dedicated code goes as deep as a community before its Z segment (above)
        depth = ["district", "street", "community", "grid", "micro", "dedicated"].index(level)
        if len(parts) > depth:
            break
        parts.append(draw(_digits(width)))
    return "".join(parts), level, parts
