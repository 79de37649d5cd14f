/* The residents' report page: place the problem on the map, see who handles it, send it.
   Plain browser JavaScript over the vendored Leaflet; nothing from any other host. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("report-config").textContent);
  var T = cfg.text;
  var form = document.getElementById("report");
  var errorBox = document.getElementById("error");
  var handler = document.getElementById("handler");
  var map = L.map("map", {attributionControl: false, zoomSnap: 0.5});
  var district = null;   // [[ring of [lon, lat]]] for every polygon of the district
  var marker = null;
  var names = {};        // code -> name, from what the map has drawn
  var gridLayer = L.layerGroup().addTo(map);

  function say(box, text) { box.textContent = text || ""; }
  function textNode(text) { var span = document.createElement("span"); span.textContent = text; return span; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  // -- geometry: inside the district, and the nearest point on its edge ---------------
  function polygonsOf(geometry) {
    return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  }
  function insideRing(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }
  function inside(x, y) {
    return district.some(function (poly) {
      return insideRing(poly[0], x, y) && !poly.slice(1).some(function (hole) { return insideRing(hole, x, y); });
    });
  }
  function nearestOnEdge(x, y) {
    var best = null, k = Math.cos(y * Math.PI / 180);   // metres east per degree, relative
    district.forEach(function (poly) {
      poly.forEach(function (ring) {
        for (var i = 1; i < ring.length; i++) {
          var ax = ring[i - 1][0] * k, ay = ring[i - 1][1], bx = ring[i][0] * k, by = ring[i][1];
          var dx = bx - ax, dy = by - ay, len = dx * dx + dy * dy;
          var t = len ? Math.max(0, Math.min(1, ((x * k - ax) * dx + (y - ay) * dy) / len)) : 0;
          var px = ax + t * dx, py = ay + t * dy, d = (px - x * k) * (px - x * k) + (py - y) * (py - y);
          if (!best || d < best.d) { best = {d: d, x: px / k, y: py}; }
        }
      });
    });
    return best;
  }
  function snap(x, y) {
    if (!district || inside(x, y)) { return {x: x, y: y, moved: false}; }
    var edge = nearestOnEdge(x, y), c = map.getCenter();
    // a hair inside, towards the middle of the view, so that the point is the district's
    for (var step = 1e-6; step < 1e-3; step *= 2) {
      var nx = edge.x + (c.lng - edge.x) * step * 50, ny = edge.y + (c.lat - edge.y) * step * 50;
      if (inside(nx, ny)) { return {x: nx, y: ny, moved: true}; }
    }
    return {x: edge.x, y: edge.y, moved: true};
  }

  // -- placing the pin -------------------------------------------------------------------
  function place(lat, lon) {
    var p = snap(lon, lat);
    form.elements.lon.value = p.x.toFixed(7);
    form.elements.lat.value = p.y.toFixed(7);
    if (marker) { marker.setLatLng([p.y, p.x]); } else { marker = L.marker([p.y, p.x]).addTo(map); }
    say(errorBox, p.moved ? T.outside : "");
    fetch(cfg.locate + "?lon=" + p.x + "&lat=" + p.y)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (found) { showHandler(found); })
      .catch(function () { say(handler, ""); });
  }
  function showHandler(found) {
    if (!found || !(found.grid || found.community)) { say(handler, ""); return; }
    loadNames(found).then(function () {
      var community = names[found.community] || "", grid = names[found.grid] || "";
      if (community && grid.indexOf(community) === 0) { grid = grid.slice(community.length); }
      var name = [community, grid].filter(Boolean).join(" ");
      say(handler, name ? fill(T.handler, {name: name}) : "");
      handler.dataset.grid = found.grid || found.community;
    });
  }
  function loadNames(found) {
    var wanted = [found.community, found.grid].filter(function (c) { return c && !names[c]; });
    return Promise.all(wanted.map(function (code) {
      return fetch("/api/v1/grids/" + code).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (f) { if (f) { names[code] = f.properties.name; } });
    }));
  }
  map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });

  var locate = document.getElementById("locate");
  if (!("geolocation" in navigator) || !window.isSecureContext) {
    locate.hidden = true;
    say(document.getElementById("hint"), T.noGeo);
  }
  locate.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      map.setView([pos.coords.latitude, pos.coords.longitude], 17);
      place(pos.coords.latitude, pos.coords.longitude);  // the browser gives WGS-84
    }, function () { say(errorBox, T.geoFailed); }, {enableHighAccuracy: true, timeout: 15000});
  });

  // -- what the map draws: the district and streets, then grids as one zooms in ----------
  fetch(cfg.outline).then(function (r) { return r.json(); }).then(function (fc) {
    var outline = L.geoJSON(fc, {style: function (f) {
      var d = f.properties.level === "district";
      return {color: d ? "#1f3b57" : "#5b7a99", weight: d ? 2 : 1, fill: false, interactive: false};
    }}).addTo(map);
    fc.features.forEach(function (f) {
      names[f.properties.code] = f.properties.name;
      if (f.properties.level === "district") { district = polygonsOf(f.geometry); }
    });
    if (!map._loaded) { map.fitBounds(outline.getBounds()); }
    document.body.setAttribute("data-ready", "1");
  });
  function drawGrids() {
    gridLayer.clearLayers();
    if (map.getZoom() < 15) { return; }
    var b = map.getBounds();
    var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
    fetch(cfg.grids + "?level=grid&zoom=" + Math.round(map.getZoom()) + "&bbox=" + box.join(","))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (!fc) { return; }
        gridLayer.clearLayers();
        gridLayer.addLayer(L.geoJSON(fc, {style: {color: "#7a8fa6", weight: 1, fillOpacity: 0.03, interactive: false}}));
        fc.features.forEach(function (f) { names[f.properties.code] = f.properties.name; });
      });
  }
  map.on("moveend", drawGrids);

  if (cfg.summary) {   // PUBLIC_MAP: open and resolved reports per grid, last 30 days
    fetch(cfg.summary).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (!s) { return; }
      s.grids.forEach(function (g) {
        if (g.lat === null) { return; }
        L.circleMarker([g.lat, g.lon], {radius: 4 + Math.min(10, Math.sqrt(g.open + g.resolved)),
          color: g.open ? "#c62828" : "#2e7d32", weight: 1, fillOpacity: 0.5})
          .bindTooltip(textNode(g.name + " · " + fill(T.summary, g))).addTo(map);
      });
    });
  }

  // -- sending ---------------------------------------------------------------------------
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!form.elements.lon.value) { say(errorBox, T.needPlace); return; }
    if (!form.elements.category.value) { say(errorBox, T.needCategory); return; }
    if (form.elements.photo.files.length > cfg.maxPhotos) { say(errorBox, T.tooMany); return; }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say(errorBox, T.sending);
    fetch(cfg.reports, {method: "POST", body: new FormData(form)})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (answer) {
        button.disabled = false;
        if (!answer.ok) {
          var err = answer.body.error || {};
          say(errorBox, T.failed + (err.message || ""));
          return;
        }
        form.hidden = true;
        say(errorBox, "");
        document.getElementById("done").hidden = false;
        say(document.getElementById("number"), answer.body.tracking);
        say(document.getElementById("done-handler"), handler.textContent);
        document.getElementById("track").href = answer.body.track_url;
      })
      .catch(function () { button.disabled = false; say(errorBox, T.failed); });
  });
})();
