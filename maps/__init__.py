"""Folium map builders over geogrid (grid levels, events, hotspots, stations).

Imports geogrid and folium, never Flask. The command center map lands here.
"""
