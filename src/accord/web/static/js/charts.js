// Charts drawn with the vendored Chart.js; data comes from <script type="application/json"> blocks.
"use strict";
(function () {
  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function perYear() {
    var data = readJson("per-year-data");
    var canvas = document.getElementById("per-year-chart");
    if (!data || !canvas || typeof Chart === "undefined") { return; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: "Public attributions", data: data.values, backgroundColor: "#1f3a5f", borderRadius: 2 }]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", perYear);
  } else {
    perYear();
  }
})();
