"""Folium layers whose user text reaches the page only as DOM text.

folium's ``Tooltip`` and ``Popup`` put their string inside a JavaScript template
literal, where ``${...}`` runs and HTML is parsed; these layers instead pass
their data as JSON (HTML-safe: ``<``, ``>``, ``&`` escaped) to the helpers of
``static/geogrid-map.js``, which build tooltips and popups with ``textContent``.
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

__all__ = ["DataLayer", "FetchOnceLayer", "LazyEventsLayer", "LazyGridLayer", "ReadySignal"]


class DataLayer(Layer):
    """A layer built in the browser by ``geogrid.<factory>(data, options)``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geogrid.{{ this.factory }}(
            {{ this.data|tojson }}, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, factory: str, data, options: dict, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self.factory = factory
        self.data = data
        self.options = options


class LazyGridLayer(Layer):
    """One grid level fetched by bounding box and zoom, above ``options['minZoom']``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geogrid.lazyGrids(
            {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, options: dict, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LazyGridLayer"
        self.options = options


class FetchOnceLayer(Layer):
    """Polygons fetched whole from ``options['url']`` the first time the layer is shown."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geogrid.fetchOnce(
            {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, options: dict, name: str, show: bool = False):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FetchOnceLayer"
        self.options = options


class LazyEventsLayer(JSCSSMixin, Layer):
    """Individual open events of the visible area, clustered (Leaflet.markercluster)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geogrid.lazyEvents(
            {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, options: dict, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LazyEventsLayer"
        self.options = options
        self.default_js = []
        self.default_css = []


class ReadySignal(MacroElement):
    """Last on the map: wires the side panel's zoom links and marks the page ready."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        geogrid.done({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "ReadySignal"
