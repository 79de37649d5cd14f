// The command center map, live: new and changed events from /api/v1/stream appear on
// the map with a brief highlight, the side panel's figures follow, a ticker lists the
// latest ten; on a wall (?wall=1) the view cycles between the district and the streets
// with open overdue cases. User text goes in as text (textContent) or through the map
// helper's escaping table, never as HTML.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleTimeString("zh-CN", {hour: "2-digit", minute: "2-digit",
      timeZone: "Asia/Shanghai", hour12: false});
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString("zh-CN", {timeZone: "Asia/Shanghai", hour12: false});
  }

  function Live(map, opts) {
    this.map = map;
    this.opts = opts;
    this.markers = {};
    this.layer = L.layerGroup().addTo(map);
    this.svg = L.svg();  // the map draws on a canvas; the pulse needs an element to animate
    this.received = 0;
    this.ticker = document.getElementById("ticker");
    this.state = document.getElementById("live-state");
    this.refresh = null;
  }

  // The stream's URL resuming after ``id`` (the page's own URL starts where it was drawn)
  function resumed(url, id) {
    var u = new URL(url, window.location.href);
    if (id) u.searchParams.set("since", id);
    return u.pathname + u.search;
  }

  Live.prototype.connect = function () {
    var self = this;
    var source = new EventSource(resumed(this.opts.stream, this.lastId));
    this.source = source;
    var seen = function (ev) { if (ev.lastEventId) self.lastId = ev.lastEventId; };
    source.addEventListener("open", function () { self.status("on"); });
    source.addEventListener("error", function () {
      // the browser reconnects by itself (with Last-Event-ID) after a dropped connection;
      // after an error answer (a busy worker's 503, a proxy's 502) it gives up: try again
      if (source.readyState === EventSource.CLOSED) {
        self.status("off");
        window.setTimeout(function () { self.connect(); }, 4000 + Math.random() * 4000);
      } else {
        self.status("wait");
      }
    });
    source.addEventListener("message", seen);
    source.addEventListener("event", function (ev) { seen(ev); self.event(JSON.parse(ev.data)); });
    source.addEventListener("resync", function () {
      // a bulk change (an import, a redraw): the page is rebuilt once, from the cache after
      window.setTimeout(function () { window.location.reload(); }, 1000);
    });
  };

  Live.prototype.status = function (what) {
    if (!this.state) return;
    this.state.setAttribute("data-state", what);
    this.state.title = {on: "实时 / live", wait: "重连中 / reconnecting", off: "离线 / offline"}[what];
  };

  Live.prototype.event = function (e) {
    this.received += 1;
    var old = this.markers[e.id];
    if (old) this.layer.removeLayer(old);
    var o = this.opts;
    var m = L.circleMarker([e.lat, e.lon], {radius: 9, weight: 3, color: "#ff6a00",
      fillColor: geogrid.STATUS_COLORS[e.status] || "#ff6a00", fillOpacity: 0.9, className: "gg-live-new",
      renderer: this.svg});
    m.bindPopup(function () {
      return geogrid.table(o.categories[e.category] || e.category, [
        [o.labels.status, o.labels[e.status] || e.status],
        [o.labels.reported_at, when(e.reported_at)],
        [o.labels.description, e.description]]);
    });
    m.addTo(this.layer);
    this.markers[e.id] = m;
    window.setTimeout(function () {
      var path = m.getElement && m.getElement();
      if (path) path.classList.remove("gg-live-new");
      m.setStyle({radius: 6, weight: 1, color: "#333"});
    }, 8000);
    this.tick(e);
    this.figures();
  };

  Live.prototype.tick = function (e) {
    if (!this.ticker) return;
    var o = this.opts;
    var li = el("li", "gg-tick-new");
    li.appendChild(el("span", "t", clock(e.status_at || e.reported_at)));
    li.appendChild(document.createTextNode(" " + (o.categories[e.category] || e.category) + " · "));
    li.appendChild(el("span", "s", o.labels[e.status] || e.status));
    li.setAttribute("data-id", e.id);
    var same = this.ticker.querySelector('li[data-id="' + e.id + '"]');
    if (same) this.ticker.removeChild(same);
    this.ticker.insertBefore(li, this.ticker.firstChild);
    while (this.ticker.children.length > 10) this.ticker.removeChild(this.ticker.lastChild);
    var empty = document.getElementById("ticker-empty");
    if (empty) empty.remove();
  };

  // The panel's figures, fetched again (at most once a second and a half)
  Live.prototype.figures = function () {
    var self = this;
    // the trend charts (trend.js), if open: they throttle themselves to once a minute
    if (window.geogridTrend) window.geogridTrend.refresh();
    if (this.refresh || !this.opts.stats) return;
    this.refresh = window.setTimeout(function () {
      fetch(self.opts.stats, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) self.fill(s); })
        .catch(function () {})
        .finally(function () { self.refresh = null; });
    }, 1500);
  };

  Live.prototype.fill = function (s) {
    var pct = function (v) { return v === null || v === undefined ? "—" : v.toFixed(2) + " %"; };
    var values = {reported: s.reported, due: s.due, closure_rate: pct(s.closure_rate),
      on_time_rate: pct(s.on_time_rate)};
    Object.keys(s.by_status || {}).forEach(function (k) { values["status:" + k] = s.by_status[k]; });
    document.querySelectorAll("[data-stat]").forEach(function (cell) {
      var v = values[cell.getAttribute("data-stat")];
      if (v !== undefined && String(v) !== cell.textContent) {
        cell.textContent = String(v);
        cell.classList.remove("gg-changed");
        void cell.offsetWidth;  // restart the highlight
        cell.classList.add("gg-changed");
      }
    });
  };

  // A wall: the district, then each street with open overdue cases, in turn
  Live.prototype.cycle = function () {
    var map = this.map, stops = this.opts.stops || [], caption = document.getElementById("wall-caption");
    if (!stops.length) return;
    var i = 0;
    function show() {
      var s = stops[i % stops.length];
      map.flyToBounds([[s.bounds[1], s.bounds[0]], [s.bounds[3], s.bounds[2]]], {duration: 1.5});
      if (caption) caption.textContent = s.caption;
      i += 1;
    }
    show();
    window.setInterval(show, (this.opts.cycleSeconds || 20) * 1000);
    // the list of streets is the page's: a fresh page (from the cache) every ten minutes
    window.setTimeout(function () { window.location.reload(); }, 600000);
  };

  window.geogridLive = {
    start: function (map, opts) {
      var live = new Live(map, opts);
      window.geogridLive.current = live;
      if (opts.stream) live.connect();
      if (opts.wall) live.cycle();
      return live;
    }
  };
})();
