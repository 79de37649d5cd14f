"""The bundled demo district (synthetic) and its deterministic generator.

Read the data through geogrid; ``python -m geodata.generate`` rewrites it.
"""

from pathlib import Path

DEMO_DIR = Path(__file__).parent / "demo"
GRIDS = DEMO_DIR / "grids.geojson.gz"
EVENTS = DEMO_DIR / "events.csv.gz"
STATIONS = DEMO_DIR / "stations.geojson"

__all__ = ["DEMO_DIR", "EVENTS", "GRIDS", "STATIONS"]
