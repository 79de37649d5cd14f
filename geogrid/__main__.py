"""``python -m geogrid`` is the ``geogrid`` command."""

from geogrid.cli import main

main()
