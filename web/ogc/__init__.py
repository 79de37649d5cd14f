"""OGC API – Features, Part 1: Core (read-only), for QGIS and GDAL.

Collections: the grid levels of the active generation, events and cooling
stations. GeoJSON or HTML (``f=json|html`` or the Accept header), bbox,
limit, offset, datetime and property filters, numberMatched/numberReturned
and next links. Personal fields are not exposed without authorization.

The blueprint and its routes are in :mod:`web.ogc.views`, the API's
self-description (landing page, conformance, OpenAPI, collection metadata) in
:mod:`web.ogc.document`, query parameter checks in :mod:`web.ogc.params` and
the features and their queries in :mod:`web.ogc.features`.
"""
