"""The assignment engine: exact point-in-grid search over one generation's grids."""

#: Metres outside every grid a point may lie and still go to the nearest grid.
DEFAULT_TOLERANCE_M = 30.0
