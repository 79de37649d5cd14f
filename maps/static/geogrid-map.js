/* geogrid map helpers. Every user-supplied string reaches the page through
 * textContent, never as HTML: tooltips and popups are built as DOM nodes. */
(function () {
  "use strict";
  var pending = 0;
  var loaded = false;
  var layers = [];

  function keep(kind, layer) {
    layers.push({kind: kind, layer: layer});
    return layer;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function table(title, rows) {
    var box = el("div", "gg-tip");
    if (title) box.appendChild(el("div", "gg-tip-title", title));
    var t = el("table");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") return;
      var tr = el("tr");
      tr.appendChild(el("th", null, row[0]));
      tr.appendChild(el("td", null, Array.isArray(row[1]) ? row[1].join("、") : row[1]));
      t.appendChild(tr);
    });
    box.appendChild(t);
    return box;
  }

  function busy(delta) {
    pending += delta;
    if (loaded && pending === 0 && !document.body.hasAttribute("data-ready")) {
      document.body.setAttribute("data-ready", "0");
      // two frames later the layers have been painted, not just added
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          window.geogridReadyAt = performance.now();
          document.body.setAttribute("data-ready", "1");
        });
      });
    }
  }

  function gridTooltip(labels) {
    return function (feature, layer) {
      var p = feature.properties;
      layer.bindTooltip(function () {
        return table(p.name, [[labels.code, p.code], [labels.leader, p.leader],
          [labels.phone, p.phone], [labels.households, p.households],
          [labels.events, p.events], [labels.gi, p.gi_class ? labels[p.gi_class] : null],
          [labels.emerging, p.emerging ? labels[p.emerging] : null],
          [labels.trend, p.tau === undefined ? null : p.tau + " (p = " + p.tau_p + ")"]]);
      }, {sticky: true});
    };
  }

  function polygons(data, opts) {
    var layer = keep("polygons", L.geoJSON(data, {
      style: function (f) { return styleFor(opts, f.properties); },
      onEachFeature: gridTooltip(opts.labels)
    }));
    if (opts.choropleth) {  // its legend comes and goes with it
      layer.once("add", function () { legend(layer._map, layer, opts.choropleth); });
    }
    return layer;
  }

  function styleFor(opts, p) {
    var s = Object.assign({}, opts.style);
    if (opts.classColors && p[opts.classKey] && opts.classColors[p[opts.classKey]]) {
      s.fillColor = opts.classColors[p[opts.classKey]];
      s.color = s.fillColor;
      if (opts.outline) s.fillOpacity = 0;  // outlined: the choropleth under it stays readable
    }
    if (opts.choropleth) {
      var c = opts.choropleth, n = c.counts[p.code] || 0, k = 0;
      while (k < c.breaks.length && n >= c.breaks[k]) k += 1;
      s.fillColor = c.colors[k];
      p.events = n;
    }
    if (p.uncovered && opts.uncoveredStyle) Object.assign(s, opts.uncoveredStyle);
    return s;
  }

  /* A layer of one grid level fetched from the server for the visible area only,
   * simplified for the zoom, when the map is zoomed in far enough. */
  function lazyGrids(map, opts) {
    var layer = polygons(null, opts);
    keep("lazy-" + opts.level, layer);
    var controller = null;
    var asked = null;  // the query loaded or on its way: asked again, it is not fetched twice
    function refresh() {
      if (!map.hasLayer(layer)) return;
      var z = map.getZoom();
      if (z < opts.minZoom || (opts.maxZoom && z > opts.maxZoom)) {
        layer.clearLayers(); asked = null; return;
      }
      var b = map.getBounds();
      var q = opts.url + (opts.url.indexOf("?") < 0 ? "?" : "&") + "level=" + opts.level +
        "&zoom=" + map.getZoom() + "&bbox=" + [b.getWest(), b.getSouth(), b.getEast(),
        b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",") + opts.query;
      if (q === asked) return;  // e.g. the moveend of the first view, right after "add"
      if (controller) controller.abort();
      controller = new AbortController();
      asked = q;
      busy(1);
      fetch(q, {signal: controller.signal, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) { layer.clearLayers(); layer.addData(data); })
        .catch(function (e) {
          if (e.name === "AbortError") return;
          if (asked === q) asked = null;  // failed: the next move asks again
          console.warn("geogrid:", e.message);
        })
        .finally(function () { busy(-1); });
    }
    map.on("moveend", refresh);
    layer.on("add", refresh);
    return layer;
  }

  /* The choropleth's legend, shown with its layer. */
  function legend(map, layer, c) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = el("div", "gg-legend");
      box.appendChild(el("div", "gg-legend-title", c.title));
      c.labels.forEach(function (text, k) {
        var row = el("div");
        var swatch = el("i");
        swatch.style.background = c.colors[k];
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(text));
        box.appendChild(row);
      });
      return box;
    };
    layer.on("add", function () { control.addTo(map); });
    layer.on("remove", function () { control.remove(); });
    if (map.hasLayer(layer)) control.addTo(map);
  }

  /* A layer fetched whole the first time it is shown (emerging hot spots: one request,
   * computed and cached on the server per change of the store). */
  function fetchOnce(map, opts) {
    var layer = polygons(null, opts);
    keep("once", layer);
    var fetched = false;
    layer.on("add", function () {
      if (fetched) return;
      fetched = true;
      busy(1);
      fetch(opts.url, {credentials: "same-origin"})
        .then(function (r) {
          if (!r.ok) throw new Error(opts.url + ": HTTP " + r.status);
          return r.json();
        })
        .then(function (data) { layer.addData(data); })
        .catch(function (e) { console.warn("geogrid:", e.message); })
        .finally(function () { busy(-1); });
    });
    return layer;
  }

  var STATUS_COLORS = {reported: "#e6550d", accepted: "#fd8d3c", dispatched: "#6baed6",
    handling: "#3182bd", resolved: "#31a354", closed: "#969696", rejected: "#bdbdbd",
    merged: "#bdbdbd"};

  /* Open events aggregated per grid by the server: one circle per grid, sized by the
   * count, coloured by the commonest status, a red ring where any is overdue. */
  function gridEvents(rows, opts) {
    var group = keep("grid-events", L.featureGroup());
    var markers = [];
    // circles only where they can be read: at district zoom the choropleth says it
    function update() {
      var show = !opts.minZoom || group._map.getZoom() >= opts.minZoom;
      if (show && !group.getLayers().length) markers.forEach(function (m) { group.addLayer(m); });
      if (!show && group.getLayers().length) group.clearLayers();
    }
    group.on("add", function () { group._map.on("zoomend", update); update(); });
    group.on("remove", function () { group._map.off("zoomend", update); });
    rows.forEach(function (r) {
      var m = L.circleMarker([r.lat, r.lon], {
        radius: Math.min(22, 4 + Math.sqrt(r.open) * 1.6),
        color: r.overdue ? "#d7191c" : "#555", weight: r.overdue ? 3 : 1,
        fillColor: STATUS_COLORS[r.status] || "#999", fillOpacity: 0.75
      });
      m.bindTooltip(function () {
        var rows2 = [[opts.labels.grid, r.grid], [opts.labels.open, r.open],
          [opts.labels.overdue, r.overdue]];
        Object.keys(r.by_status).forEach(function (k) {
          rows2.push([opts.labels[k] || k, r.by_status[k]]);
        });
        return table(null, rows2);
      });
      markers.push(m);
    });
    return group;
  }

  /* Individual open events near the centre of attention, clustered client-side. */
  function lazyEvents(map, opts) {
    var cluster = keep("events", L.markerClusterGroup({chunkedLoading: true,
      maxClusterRadius: 40}));
    var controller = null;
    function refresh() {
      if (!map.hasLayer(cluster)) return;
      if (map.getZoom() < opts.minZoom) { cluster.clearLayers(); return; }
      if (controller) controller.abort();
      controller = new AbortController();
      var b = map.getBounds();
      var q = opts.url + "?bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map(function (v) { return v.toFixed(6); }).join(",") + opts.query;
      busy(1);
      fetch(q, {signal: controller.signal, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          cluster.clearLayers();
          cluster.addLayers(data.events.map(function (e) {
            var m = L.circleMarker([e.lat, e.lon], {radius: 6, weight: e.overdue ? 3 : 1,
              color: e.overdue ? "#d7191c" : "#333", fillColor: STATUS_COLORS[e.status],
              fillOpacity: 0.9});
            m.bindPopup(function () {
              return table("#" + e.id + " " + (opts.labels[e.category] || e.category), [
                [opts.labels.status, opts.labels[e.status] || e.status],
                [opts.labels.reported_at, e.reported_at], [opts.labels.grid, e.grid],
                [opts.labels.description, e.description],
                [opts.labels.overdue, e.overdue ? opts.labels.yes : null]]);
            });
            return m;
          }));
        })
        .catch(function (e) { if (e.name !== "AbortError") console.warn("geogrid:", e.message); })
        .finally(function () { busy(-1); });
    }
    map.on("moveend", refresh);
    cluster.on("add", refresh);
    return cluster;
  }

  function stations(rows, opts) {
    var group = keep("stations", L.featureGroup());
    rows.forEach(function (s) {
      L.circle([s.lat, s.lon], {radius: opts.walk_m, color: "#2b8cbe", weight: 1,
        fillOpacity: 0.06, interactive: false}).addTo(group);
      var icon = L.divIcon({className: "gg-station", html: "", iconSize: [18, 18]});
      var m = L.marker([s.lat, s.lon], {icon: icon, title: s.name});
      m.bindPopup(function () {
        return table(s.name, [[opts.labels.address, s.address], [opts.labels.hours, s.hours],
          [opts.labels.season, s.season], [opts.labels.capacity, s.capacity],
          [opts.labels.amenities, s.amenities], [opts.labels.contact, s.contact]]);
      });
      m.addTo(group);
    });
    return group;
  }

  function zoomLinks(map) {
    document.querySelectorAll("[data-zoom-bounds]").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        var b = JSON.parse(a.getAttribute("data-zoom-bounds"));
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      });
    });
  }

  // A page holding this map in a frame (the redraw preview) asks it to zoom to a
  // place: {geogrid: "zoom", bounds: [west, south, east, north]}; outlined briefly.
  function zoomMessages(map) {
    var focus = null;
    window.addEventListener("message", function (ev) {
      var d = ev.data;
      if (ev.source !== window.parent || !d || d.geogrid !== "zoom") return;
      var b = d.bounds;
      if (!Array.isArray(b) || b.length !== 4 || !b.every(isFinite)) return;
      var box = [[b[1], b[0]], [b[3], b[2]]];
      if (focus) map.removeLayer(focus);
      focus = L.rectangle(box, {color: "#6a00a8", weight: 4, fill: false,
        interactive: false}).addTo(map);
      map.fitBounds(box, {maxZoom: 19, padding: [24, 24]});
    });
  }

  // On a phone the layer list starts folded (its toggle unfolds it, a tap on the map
  // folds it) and the side panel is a bottom sheet that its handle opens and closes.
  function phone(map) {
    if (!window.matchMedia || !window.matchMedia("(max-width: 700px)").matches) return;
    var list = document.querySelector(".leaflet-control-layers");
    if (list) {
      list.classList.add("gg-folded");
      list.querySelector(".leaflet-control-layers-toggle").addEventListener("click", function (ev) {
        ev.preventDefault();
        list.classList.toggle("gg-folded");
      });
      map.on("click", function () { list.classList.add("gg-folded"); });
    }
    var handle = document.getElementById("sheet-handle"), panel = document.getElementById("panel");
    if (handle && panel) {
      handle.addEventListener("click", function () {
        var open = panel.classList.toggle("open");
        handle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
  }

  function done(map) {
    zoomLinks(map);
    zoomMessages(map);
    phone(map);
    loaded = true;
    busy(0);
  }

  window.geogrid = {STATUS_COLORS: STATUS_COLORS, polygons: polygons, lazyGrids: lazyGrids, fetchOnce: fetchOnce,
    gridEvents: gridEvents,
    lazyEvents: lazyEvents, stations: stations, done: done, table: table, layers: layers};
})();
