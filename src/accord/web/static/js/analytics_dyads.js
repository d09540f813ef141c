// Analytics pages (/analytics/dyads, /analytics/trends, /analytics/tension and /analytics/tension/{A}-{B}), drawn
// with the vendored Chart.js. The figures come from the page's <script type="application/json"
// id="analytics-chart-data"> block; each chart is drawn only when its canvas and its series are there.
"use strict";
(function () {
  var C = window.AccordCharts;  // /static/js/charts.js
  if (!C) { return; }
  var NAVY = C.colors.navy, GOLD = C.colors.gold, LIGHT = C.colors.light;
  var RED = C.colors.red, GREEN = C.colors.green, INK = C.colors.ink;
  var PALETTE = [NAVY, GOLD, LIGHT, RED, GREEN, "#6b5b95", "#2f7f8f", "#8a95a3", "#c8553d"];
  var CATEGORIES = C.categories;
  var COUNT = C.count;

  function orNull(n) {
    return n === 0 ? null : n;
  }

  function dyads(series) {
    if (!C.has(series)) { return; }
    C.rows("dyads-chart", C.labels("dyads-chart", series), [
      { label: "Incidents", data: series.incidents, backgroundColor: NAVY, borderRadius: 2 }
    ], {
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            afterLabel: function (ctx) {
              var max = series.maxIntensity[ctx.dataIndex];
              return max === null ? "intensity not assessed" : "highest intensity: " + max;
            }
          }
        }
      },
      scales: { x: COUNT, y: CATEGORIES }
    });
  }

  function states(series) {
    if (!C.has(series)) { return; }
    C.rows("states-chart", C.labels("states-chart", series), [
      { label: "Ascribed to it", data: series.out.map(orNull), backgroundColor: NAVY },
      { label: "Aimed at it", data: series["in"].map(orNull), backgroundColor: GOLD }
    ], {
      datasets: { bar: { skipNull: true } },  // a state only ascribed (or only aimed at) gets one full bar
      scales: { x: COUNT, y: CATEGORIES }
    });
  }

  function years(series) {
    if (!C.has(series)) { return; }
    var sets = series.types.map(function (t, i) {
      return { label: t.label, data: t.data, backgroundColor: PALETTE[i % PALETTE.length], stack: "types", yAxisID: "y" };
    });
    sets.push({
      type: "line", label: "Attributions", data: series.attributions, yAxisID: "made", showLine: false,
      pointRadius: 5, pointStyle: "rectRot", borderColor: "#ffffff", borderWidth: 1, backgroundColor: INK
    });
    C.make("years-chart", {
      type: "bar",
      data: { labels: series.labels, datasets: sets },
      options: {
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: Object.assign({ stacked: true, title: { display: true, text: "incidents" } }, COUNT),
          made: C.countAxis("attributions")
        }
      }
    });
  }

  function responses(series) {
    if (!C.has(series)) { return; }
    C.rows("responses-chart", series.labels, series.toolbox.map(function (t, i) {
      return { label: t.label, data: t.data, backgroundColor: [GREEN, LIGHT, GOLD, RED, NAVY][i % 5] };
    }), {
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: { x: Object.assign({ stacked: true }, COUNT), y: Object.assign({ stacked: true }, CATEGORIES) }
    });
  }

  function tension(series) {
    if (!C.has(series)) { return; }
    C.rows("tension-chart", C.labels("tension-chart", series), [
      { label: "Index", data: series.index, backgroundColor: NAVY },
      { label: "A year earlier", data: series.previous, backgroundColor: LIGHT }
    ], {
      scales: { x: { beginAtZero: true, title: { display: true, text: "tension index" } }, y: CATEGORIES }
    });
  }

  function series(s) {
    if (!C.has(s)) { return; }
    var line = { pointRadius: 0, borderWidth: 2, tension: 0 };
    C.make("series-chart", {
      type: "line",
      data: {
        labels: s.labels,
        datasets: [
          Object.assign({ label: "Tension index", data: s.index, borderColor: NAVY, backgroundColor: "rgba(31,58,95,0.12)", fill: true }, line),
          Object.assign({ label: "Escalation", data: s.escalation, borderColor: RED, borderDash: [6, 4] }, line),
          Object.assign({ label: "De-escalation", data: s.deescalation, borderColor: GREEN, borderDash: [2, 3] }, line)
        ]
      },
      options: {
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { grid: { display: false }, ticks: { maxTicksLimit: 12, maxRotation: 0 } },
          y: { title: { display: true, text: "index" } }
        }
      }
    });
  }

  C.whenReady("analytics-chart-data", function (data) {
    dyads(data.dyads);
    states(data.states);
    years(data.years);
    C.medianDays("timing-chart", data.timing, "First attributions");
    responses(data.responses);
    tension(data.tension);
    series(data.series);
  });
})();
