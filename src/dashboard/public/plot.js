/* global window, uPlot */
// Shared uPlot helper of the Drift and Credits pages: one plot per element id, redrawn in place
// when its series keep their labels, rebuilt when they change. x is a round or epoch number.
"use strict";
(function () {
  const plots = {};
  const COLORS = ["#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#cf222e", "#57606a", "#0550ae"];

  /** series: [{label, values}] aligned with xs; xLabel names the x axis. */
  window.ampPlot = function (id, title, xLabel, xs, series) {
    const el = window.document.getElementById(id);
    const data = [xs].concat(series.map((s) => s.values));
    const key = series.map((s) => s.label).join("|");
    if (plots[id] && plots[id].key === key) {
      plots[id].plot.setData(data);
      return;
    }
    if (plots[id]) plots[id].plot.destroy();
    const opts = {
      title,
      width: Math.max(320, el.clientWidth || 800),
      height: 240,
      scales: { x: { time: false } },
      axes: [{ label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { size: 80 }],
      series: [{ label: xLabel }].concat(
        series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
        })),
      ),
    };
    plots[id] = { key, plot: new uPlot(opts, data, el) };
  };

  /** Rows [{x, series, y}] → xs ascending and one values array per series (null where missing). */
  window.ampPivot = function (rows) {
    const xs = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
    const names = [...new Set(rows.map((r) => r.series))].sort();
    const at = new Map(rows.map((r) => [`${r.series}\n${r.x}`, r.y]));
    return {
      xs,
      series: names.map((n) => ({ label: n, values: xs.map((x) => at.get(`${n}\n${x}`) ?? null) })),
    };
  };
})();
