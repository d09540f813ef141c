// Coalitions and timing of attributions (/attributions/coalitions), drawn with the vendored Chart.js: the
// most frequent coalition pairs, attributions made alone and jointly per party, median days from disclosure to
// attribution per party (with the interquartile range) and per year.
// The figures come from the <script type="application/json" id="attribution-chart-data"> block of the page.
"use strict";
(function () {
  var NAVY = "#1f3a5f";
  var GOLD = "#b07d12";
  var LIGHT = "#9fb6d3";
  var RED = "#7a1f1f";
  // every party / pair gets its label (Chart.js would skip some on a short axis)
  var CATEGORIES = { grid: { display: false }, ticks: { autoSkip: false, font: { size: 11 } } };

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") { return null; }
    config.options = Object.assign({ maintainAspectRatio: false, animation: false }, config.options || {});
    return new Chart(canvas, config);
  }

  // on a narrow canvas the pairs are named by their codes ("GB + US"): the full names would be cut off
  function pairs(series) {
    var canvas = document.getElementById("pairs-chart");
    if (!series || !series.labels.length || !canvas) { return; }
    var narrow = canvas.parentNode.clientWidth < 480;
    make("pairs-chart", {
      type: "bar",
      data: {
        labels: narrow ? series.short : series.labels,
        datasets: [{ label: "Joint attributions", data: series.values, backgroundColor: NAVY, borderRadius: 2 }]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: CATEGORIES }
      }
    });
  }

  function parties(series) {
    if (!series || !series.labels.length) { return; }
    make("parties-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Jointly", data: series.joint, backgroundColor: NAVY },
          { label: "Alone", data: series.alone, backgroundColor: GOLD }
        ]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          y: Object.assign({ stacked: true }, CATEGORIES)
        }
      }
    });
  }

  // one row per party: the interquartile range as a light box, the median as a dark bar drawn over it
  function timing(series) {
    if (!series || !series.labels.length) { return; }
    make("timing-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Median days", data: series.median, backgroundColor: NAVY, barPercentage: 0.35, order: 1 },
          { label: "Interquartile range (days)", data: series.iqr, backgroundColor: LIGHT, barPercentage: 0.9, order: 2 }
        ]
      },
      options: {
        indexAxis: "y",
        datasets: { bar: { grouped: false } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              afterLabel: function (ctx) { return "attributions: " + series.counts[ctx.dataIndex]; }
            }
          }
        },
        scales: { x: { beginAtZero: true, title: { display: true, text: "days" } }, y: CATEGORIES }
      }
    });
  }

  function years(series) {
    if (!series || !series.labels.length) { return; }
    make("years-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Median days", data: series.median, backgroundColor: NAVY, borderRadius: 2, yAxisID: "y" },
          {
            type: "line", label: "Attributions", data: series.counts, yAxisID: "count", showLine: false,
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

  function draw() {
    var node = document.getElementById("attribution-chart-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    pairs(data.pairs);
    parties(data.parties);
    timing(data.timing);
    years(data.years);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
