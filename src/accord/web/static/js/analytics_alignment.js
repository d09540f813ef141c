// Alignment (/analytics/alignment) and consensus (/analytics/consensus) charts, drawn with the vendored Chart.js:
// the blocs as a bubble chart of the 2-D embedding (one colour per bloc, one bubble per group of states with
// identical commitments), one state's similarity to its closest partners year by year, and support per provision.
// The figures come from the page's <script type="application/json"> block; the setup shared with the other
// charts (window.AccordCharts) from /static/js/charts.js.
"use strict";
(function () {
  var charts = window.AccordCharts;
  if (!charts) { return; }
  var make = charts.make;
  var NAVY = charts.colors.navy;
  var GOLD = charts.colors.gold;
  var LIGHT = "#c9d3df";
  // colour-blind-safe palette (Okabe–Ito, darkened where needed for contrast on white)
  var PALETTE = ["#1f3a5f", "#b5473a", "#2e7d5b", "#b07d12", "#6b5b95", "#0072b2", "#cc79a7", "#56606e"];

  function colour(bloc) { return PALETTE[(bloc - 1) % PALETTE.length]; }

  function names(point) {
    var shown = point.names.slice(0, 8).join(", ");
    return point.names.length > 8 ? shown + " and " + (point.names.length - 8) + " more" : shown;
  }

  function blocs(series) {
    if (!series || !series.length) { return; }
    var many = series.length > PALETTE.length;
    make("bloc-chart", {
      type: "bubble",
      data: {
        datasets: series.map(function (b) {
          var alone = b.size === 1;
          return {
            label: alone ? "Alone: " + b.points[0].names[0] : "Bloc " + b.bloc + " (" + b.size + ")",
            data: b.points.map(function (p) { return { x: p.x, y: p.y, r: 4 + 2.2 * Math.sqrt(p.n), point: p }; }),
            backgroundColor: alone && many ? "rgba(86,96,110,0.45)" : colour(b.bloc) + "b3",
            borderColor: alone && many ? "#56606e" : colour(b.bloc),
            borderWidth: 1
          };
        })
      },
      options: {
        plugins: {
          legend: {
            position: "bottom",
            labels: { boxWidth: 12, filter: function (item) { return item.text.indexOf("Alone") !== 0; } }
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var p = ctx.raw.point;
                return ctx.dataset.label + " — " + p.n + (p.n === 1 ? " state: " : " states: ") + names(p);
              }
            }
          }
        },
        scales: {
          x: { ticks: { display: false }, grid: { color: "#eef1f4" }, title: { display: true, text: "first axis" } },
          y: { ticks: { display: false }, grid: { color: "#eef1f4" }, title: { display: true, text: "second axis" } }
        }
      }
    });
  }

  function time(series) {
    if (!series || !series.series.length) { return; }
    make("time-chart", {
      type: "line",
      data: {
        labels: series.labels,
        datasets: series.series.map(function (s, i) {
          return {
            label: s.label, data: s.values, borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 2, borderWidth: 2, spanGaps: false,
            stepped: "before"
          };
        })
      },
      options: {
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { min: 0, max: 1, title: { display: true, text: "similarity" } }
        }
      }
    });
  }

  function support(series) {
    if (!series || !series.labels.length) { return; }
    var canvas = document.getElementById("support-chart");
    if (canvas && series.labels.length > 8) {
      canvas.parentNode.style.height = Math.min(40 + 26 * series.labels.length, 1400) + "px";
    }
    make("support-chart", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Supporters", data: series.supporters, backgroundColor: NAVY },
          { label: "Still needed", data: series.needed, backgroundColor: GOLD },
          { label: "Other members without recorded support", data: series.rest, backgroundColor: LIGHT }
        ]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "members" } },
          y: { stacked: true, grid: { display: false }, ticks: { autoSkip: false, font: { size: 11 } } }
        }
      }
    });
  }

  charts.whenReady("alignment-chart-data", function (data) {
    blocs(data.blocs);
    time(data.time);
  });
  charts.whenReady("consensus-chart-data", support);
})();
