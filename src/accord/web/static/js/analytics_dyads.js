// Analytics pages (/analytics/dyads, /analytics/trends, /analytics/tension and /analytics/tension/{A}-{B}), drawn
// with the vendored Chart.js. The figures come from the page's <script type="application/json"
// id="analytics-chart-data"> block; each chart is drawn only when its canvas and its series are there.
"use strict";
(function () {
  var NAVY = "#1f3a5f";
  var GOLD = "#b07d12";
  var LIGHT = "#9fb6d3";
  var RED = "#7a1f1f";
  var GREEN = "#2e7d5b";
  var INK = "#1c2330";
  var PALETTE = [NAVY, GOLD, LIGHT, RED, GREEN, "#6b5b95", "#2f7f8f", "#8a95a3", "#c8553d"];
  // every state / pair gets its label (Chart.js would skip some on a short axis)
  var CATEGORIES = { grid: { display: false }, ticks: { autoSkip: false, font: { size: 11 } } };
  var COUNT = { beginAtZero: true, ticks: { precision: 0 } };

  function canvas(id) {
    return document.getElementById(id);
  }

  function make(id, config) {
    var node = canvas(id);
    if (!node || typeof Chart === "undefined") { return null; }
    config.options = Object.assign({ maintainAspectRatio: false, animation: false }, config.options || {});
    return new Chart(node, config);
  }

  // on a narrow canvas states are named by their codes: the full names would be cut off
  function labels(id, series) {
    var node = canvas(id);
    var narrow = node && node.parentNode.clientWidth < 480;
    return narrow && series.short ? series.short : series.labels;
  }

  function orNull(n) {
    return n === 0 ? null : n;
  }

  function has(series) {
    return series && series.labels && series.labels.length;
  }

  function dyads(series) {
    if (!has(series)) { return; }
    make("dyads-chart", {
      type: "bar",
      data: {
        labels: labels("dyads-chart", series),
        datasets: [{ label: "Incidents", data: series.incidents, backgroundColor: NAVY, borderRadius: 2 }]
      },
      options: {
        indexAxis: "y",
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
      }
    });
  }

  function states(series) {
    if (!has(series)) { return; }
    make("states-chart", {
      type: "bar",
      data: {
        labels: labels("states-chart", series),
        datasets: [
          { label: "Ascribed to it", data: series.out.map(orNull), backgroundColor: NAVY },
          { label: "Aimed at it", data: series["in"].map(orNull), backgroundColor: GOLD }
        ]
      },
      options: {
        indexAxis: "y",
        datasets: { bar: { skipNull: true } },  // a state only ascribed (or only aimed at) gets one full bar
        plugins: { legend: { position: "bottom" } },
        scales: { x: COUNT, y: CATEGORIES }
      }
    });
  }

  function years(series) {
    if (!has(series)) { return; }
    var sets = series.types.map(function (t, i) {
      return { label: t.label, data: t.data, backgroundColor: PALETTE[i % PALETTE.length], stack: "types", yAxisID: "y" };
    });
    sets.push({
      type: "line", label: "Attributions", data: series.attributions, yAxisID: "made", showLine: false,
      pointRadius: 5, pointStyle: "rectRot", borderColor: "#ffffff", borderWidth: 1, backgroundColor: INK
    });
    make("years-chart", {
      type: "bar",
      data: { labels: series.labels, datasets: sets },
      options: {
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: Object.assign({ stacked: true, title: { display: true, text: "incidents" } }, COUNT),
          made: {
            position: "right", beginAtZero: true, grid: { display: false }, ticks: { precision: 0 },
            title: { display: true, text: "attributions" }
          }
        }
      }
    });
  }

  function timing(series) {
    if (!has(series)) { return; }
    make("timing-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Median days", data: series.median, backgroundColor: NAVY, borderRadius: 2, yAxisID: "y" },
          {
            type: "line", label: "First attributions", data: series.counts, yAxisID: "count", showLine: false,
            pointRadius: 4, pointStyle: "rectRot", borderColor: RED, backgroundColor: RED
          }
        ]
      },
      options: {
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, title: { display: true, text: "median days" } },
          count: {
            position: "right", beginAtZero: true, grid: { display: false }, ticks: { precision: 0 },
            title: { display: true, text: "attributions" }
          }
        }
      }
    });
  }

  function responses(series) {
    if (!has(series)) { return; }
    make("responses-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: series.toolbox.map(function (t, i) {
          return { label: t.label, data: t.data, backgroundColor: [GREEN, LIGHT, GOLD, RED, NAVY][i % 5] };
        })
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { x: Object.assign({ stacked: true }, COUNT), y: Object.assign({ stacked: true }, CATEGORIES) }
      }
    });
  }

  function tension(series) {
    if (!has(series)) { return; }
    make("tension-chart", {
      type: "bar",
      data: {
        labels: labels("tension-chart", series),
        datasets: [
          { label: "Index", data: series.index, backgroundColor: NAVY },
          { label: "A year earlier", data: series.previous, backgroundColor: LIGHT }
        ]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { position: "bottom" } },
        scales: { x: { beginAtZero: true, title: { display: true, text: "tension index" } }, y: CATEGORIES }
      }
    });
  }

  function series(s) {
    if (!has(s)) { return; }
    var line = { pointRadius: 0, borderWidth: 2, tension: 0 };
    make("series-chart", {
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

  function draw() {
    var node = document.getElementById("analytics-chart-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    dyads(data.dyads);
    states(data.states);
    years(data.years);
    timing(data.timing);
    responses(data.responses);
    tension(data.tension);
    series(data.series);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
