// Coalitions and timing of attributions (/attributions/coalitions), drawn with the vendored Chart.js: the
// most frequent coalition pairs, attributions made alone and jointly per party, median days from disclosure to
// attribution per party (with the interquartile range) and per year.
// The figures come from the <script type="application/json" id="attribution-chart-data"> block of the page.
"use strict";
(function () {
  var C = window.AccordCharts;  // /static/js/charts.js
  if (!C) { return; }
  var NAVY = C.colors.navy, GOLD = C.colors.gold, LIGHT = C.colors.light;
  var CATEGORIES = C.categories;

  // on a narrow canvas the pairs are named by their codes ("GB + US"): the full names would be cut off
  function pairs(series) {
    if (!C.has(series)) { return; }
    C.rows("pairs-chart", C.labels("pairs-chart", series), [
      { label: "Joint attributions", data: series.values, backgroundColor: NAVY, borderRadius: 2 }
    ], {
      plugins: { legend: { display: false } },
      scales: { x: C.count, y: CATEGORIES }
    });
  }

  function parties(series) {
    if (!C.has(series)) { return; }
    C.rows("parties-chart", series.labels, [
      { label: "Jointly", data: series.joint, backgroundColor: NAVY },
      { label: "Alone", data: series.alone, backgroundColor: GOLD }
    ], {
      scales: { x: Object.assign({ stacked: true }, C.count), y: Object.assign({ stacked: true }, CATEGORIES) }
    });
  }

  // one row per party: the interquartile range as a light box, the median as a dark bar drawn over it
  function timing(series) {
    if (!C.has(series)) { return; }
    C.rows("timing-chart", series.labels, [
      { label: "Median days", data: series.median, backgroundColor: NAVY, barPercentage: 0.35, order: 1 },
      { label: "Interquartile range (days)", data: series.iqr, backgroundColor: LIGHT, barPercentage: 0.9, order: 2 }
    ], {
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
    });
  }

  C.whenReady("attribution-chart-data", function (data) {
    pairs(data.pairs);
    parties(data.parties);
    timing(data.timing);
    C.medianDays("years-chart", data.years, "Attributions");
  });
})();
