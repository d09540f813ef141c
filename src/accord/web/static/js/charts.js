// Chart.js setup shared by the pages with charts, as window.AccordCharts: the colours, the axes, a chart made only
// where its canvas is, and the page's figures read from its <script type="application/json"> block once the page
// is there. Load it after /static/vendor/chart.umd.min.js and before the page's own script (all three "defer").
// It also draws the dashboard's attributions per year.
"use strict";
(function () {
  var COLORS = {
    navy: "#1f3a5f",
    gold: "#b07d12",
    light: "#9fb6d3",
    red: "#7a1f1f",
    green: "#2e7d5b",
    ink: "#1c2330"
  };
  // every state / party / pair gets its label (Chart.js would skip some on a short axis)
  var CATEGORIES = { grid: { display: false }, ticks: { autoSkip: false, font: { size: 11 } } };
  var COUNT = { beginAtZero: true, ticks: { precision: 0 } };

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") { return null; }
    config.options = Object.assign({ maintainAspectRatio: false, animation: false }, config.options || {});
    return new Chart(canvas, config);
  }

  // horizontal bars, one row per category, the legend below (options may replace the plugins)
  function rows(id, labels, datasets, options) {
    return make(id, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign({ indexAxis: "y", plugins: { legend: { position: "bottom" } } }, options)
    });
  }

  function has(series) {
    return series && series.labels && series.labels.length;
  }

  // on a narrow canvas states are named by their codes ("GB + US"): the full names would be cut off
  function labels(id, series) {
    var canvas = document.getElementById(id);
    var narrow = canvas && canvas.parentNode.clientWidth < 480;
    return narrow && series.short ? series.short : series.labels;
  }

  // a second y axis on the right, for a count drawn over bars of another measure
  function countAxis(title) {
    return {
      position: "right", beginAtZero: true, grid: { display: false }, ticks: { precision: 0 },
      title: { display: true, text: title }
    };
  }

  // median days to attribution as bars, with how many attributions each bar rests on as points (right axis)
  function medianDays(id, series, countLabel) {
    if (!has(series)) { return null; }
    return make(id, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Median days", data: series.median, backgroundColor: COLORS.navy, borderRadius: 2, yAxisID: "y" },
          {
            type: "line", label: countLabel, data: series.counts, yAxisID: "count", showLine: false,
            pointRadius: 4, pointStyle: "rectRot", borderColor: COLORS.red, backgroundColor: COLORS.red
          }
        ]
      },
      options: {
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, title: { display: true, text: "median days" } },
          count: countAxis("attributions")
        }
      }
    });
  }

  // draw(figures) once the page is parsed, if it has the JSON block with that id and the block holds figures
  function whenReady(dataId, draw) {
    function run() {
      var node = document.getElementById(dataId);
      var figures = node ? JSON.parse(node.textContent) : null;
      if (figures) { draw(figures); }
    }
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  window.AccordCharts = {
    colors: COLORS,
    categories: CATEGORIES,
    count: COUNT,
    make: make,
    rows: rows,
    has: has,
    labels: labels,
    countAxis: countAxis,
    medianDays: medianDays,
    whenReady: whenReady
  };

  // the dashboard: public attributions per year
  whenReady("per-year-data", function (data) {
    make("per-year-chart", {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: "Public attributions", data: data.values, backgroundColor: COLORS.navy, borderRadius: 2 }]
      },
      options: {
        plugins: { legend: { display: false } },
        scales: {
          x: { grid: { display: false } },
          y: COUNT
        }
      }
    });
  });
})();
