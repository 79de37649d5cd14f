// The side panel's "趋势 / Trends": events per day by category (stacked bars) and the
// weekly 结案率 / 按期结案率 (lines), from /api/v1/stats/trend, drawn with the vendored
// Apache ECharts. ECharts (about 1 MB) is loaded only when the section is first opened,
// so the map's first load does not carry it. While open, the charts follow the live
// stream (live.js calls geogridTrend.refresh() after each event) at most once a minute.
(function () {
  "use strict";

  var MIN_INTERVAL = 60000;
  var FONT = 'system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
  var WORDS = {
    zh: {perDay: "每日事件（按类别）", rates: "每周结案率", closure: "结案率",
      onTime: "按期结案率", loading: "加载中…", failed: "趋势数据加载失败"},
    en: {perDay: "Events per day by category", rates: "Closure rates per week",
      closure: "Closure rate", onTime: "On-time rate", loading: "Loading…",
      failed: "Could not load the trend"}
  };

  function Trend(section, opts) {
    this.section = section;
    this.opts = opts;
    this.words = document.documentElement.lang === "en" ? WORDS.en : WORDS.zh;
    this.note = section.querySelector(".trend-note");
    this.boxes = [section.querySelector("#trend-days"), section.querySelector("#trend-weeks")];
    this.charts = null;
    this.loading = null;   // the promise of ECharts, once asked for
    this.fetched = 0;      // when the data was last asked for (ms)
    this.pending = null;   // a refresh waiting for its minute
  }

  // ECharts, by a <script> element added on first use
  Trend.prototype.library = function () {
    if (this.loading) return this.loading;
    var src = this.opts.echarts;
    this.loading = new Promise(function (resolve, reject) {
      if (window.echarts) return resolve(window.echarts);
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { resolve(window.echarts); };
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
    return this.loading;
  };

  Trend.prototype.opened = function () {
    if (!this.section.open) return;
    if (!this.charts) this.say(this.words.loading);
    if (!this.fetched || Date.now() - this.fetched >= MIN_INTERVAL) this.load();
    else if (this.charts) this.charts.forEach(function (c) { c.resize(); });
  };

  Trend.prototype.load = function () {
    var self = this;
    this.fetched = Date.now();
    return Promise.all([
      this.library(),
      fetch(this.opts.trend, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) throw new Error("trend: HTTP " + r.status);
        return r.json();
      })
    ]).then(function (got) {
      self.draw(got[0], got[1]);
      self.say("");
    }).catch(function (err) {
      self.say(self.words.failed);
      if (window.console) console.warn(err);
    });
  };

  // After a live event: again at most once a minute, and only while open
  Trend.prototype.refresh = function () {
    var self = this;
    if (!this.section.open || !this.charts || this.pending) return;
    var wait = Math.max(0, this.fetched + MIN_INTERVAL - Date.now());
    this.pending = window.setTimeout(function () {
      self.pending = null;
      if (self.section.open) self.load();
    }, wait);
  };

  Trend.prototype.say = function (text) {
    if (!this.note) return;
    this.note.textContent = text;
    this.note.hidden = !text;
  };

  function short(day) { return day.slice(5); }  // 2026-07-01 -> 07-01

  Trend.prototype.draw = function (echarts, t) {
    var w = this.words, names = this.opts.categories || {};
    if (!this.charts) {
      this.charts = this.boxes.map(function (box) {
        return echarts.init(box, null, {renderer: "canvas"});
      });
      var charts = this.charts;
      window.addEventListener("resize", function () {
        charts.forEach(function (c) { c.resize(); });
      });
    }
    var base = {
      animation: false,
      textStyle: {fontFamily: FONT},
      tooltip: {trigger: "axis", confine: true},
      grid: {left: 36, right: 8, top: 30, bottom: 46}
    };
    var cats = Object.keys(t.by_category || {});
    // the legend wraps (about three names a row in the 320 px panel): the plot gives way
    var rows = Math.max(1, Math.ceil(cats.length / 3));
    this.boxes[0].style.height = (196 + 18 * rows) + "px";
    this.charts[0].resize();
    this.charts[0].setOption(Object.assign({}, base, {
      title: {text: w.perDay, textStyle: {fontSize: 13, fontWeight: "normal", fontFamily: FONT}},
      legend: {bottom: 0, itemWidth: 12, itemHeight: 8, itemGap: 8,
        textStyle: {fontSize: 11, fontFamily: FONT}},
      grid: {left: 36, right: 8, top: 30, bottom: 28 + 18 * rows},
      xAxis: {type: "category", data: t.days_list.map(short), axisLabel: {fontSize: 10}},
      yAxis: {type: "value", minInterval: 1, axisLabel: {fontSize: 10}},
      series: cats.map(function (c) {
        return {type: "bar", stack: "day", name: names[c] || c, data: t.by_category[c],
          barCategoryGap: "20%"};
      })
    }), {notMerge: true});
    var weeks = t.weeks || [];
    this.charts[1].setOption(Object.assign({}, base, {
      title: {text: w.rates, textStyle: {fontSize: 13, fontWeight: "normal", fontFamily: FONT}},
      legend: {bottom: 0, itemWidth: 14, itemHeight: 8, textStyle: {fontSize: 11, fontFamily: FONT}},
      tooltip: {trigger: "axis", confine: true, valueFormatter: function (v) {
        return v === null || v === undefined || v === "-" ? "—" : Number(v).toFixed(1) + " %";
      }},
      grid: {left: 44, right: 12, top: 30, bottom: 46},
      xAxis: {type: "category", data: weeks.map(function (k) { return short(k.from); }),
        axisLabel: {fontSize: 10}},
      yAxis: {type: "value", min: 0, max: 100, interval: 25,
        axisLabel: {fontSize: 10, formatter: "{value}%"}},
      series: [
        {type: "line", name: w.closure, data: weeks.map(function (k) { return k.closure_rate; })},
        // dashed: where every closure was on time the two lines coincide, and both still show
        {type: "line", name: w.onTime, lineStyle: {type: "dashed"},
          data: weeks.map(function (k) { return k.on_time_rate; })}
      ]
    }), {notMerge: true});
  };

  window.geogridTrend = {
    start: function (section, opts) {
      if (!section || !opts || !opts.trend) return null;
      var trend = new Trend(section, opts);
      window.geogridTrend.current = trend;
      section.addEventListener("toggle", function () { trend.opened(); });
      trend.opened();  // opened by default (the wall)
      return trend;
    },
    refresh: function () {
      var trend = window.geogridTrend.current;
      if (trend) trend.refresh();
    }
  };
})();
