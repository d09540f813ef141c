// Reachability-check reports: response rate (%, bars) and median time to acknowledge (hours, points) by region
// and by role, drawn with the vendored Chart.js.
// The figures come from the <script type="application/json" id="ping-chart-data"> block of the page.
"use strict";
(function () {
  function bars(canvasId, series, colour) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !series || !series.labels.length || typeof Chart === "undefined") { return; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Response rate (%)", data: series.rates, backgroundColor: colour, borderRadius: 2, yAxisID: "y" },
          {
            type: "line", label: "Median time to acknowledge (h)", data: series.median_hours || [], yAxisID: "hours",
            showLine: false, pointRadius: 5, pointStyle: "rectRot", borderColor: "#7a1f1f", backgroundColor: "#7a1f1f"
          }
        ]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },  // the caption under each chart says what bars and points are
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, max: 100, ticks: { callback: function (v) { return v + " %"; } } },
          hours: {
            position: "right", beginAtZero: true, grid: { display: false },
            ticks: { callback: function (v) { return v + " h"; } }
          }
        }
      }
    });
  }

  function draw() {
    var node = document.getElementById("ping-chart-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    bars("ping-region-chart", data.region, "#1f3a5f");
    bars("ping-role-chart", data.role, "#b07d12");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
