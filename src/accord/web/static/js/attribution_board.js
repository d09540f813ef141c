// Attribution board enhancement; the page reads and works without it.
// The matrix of ratings: a cell whose rating or diagnosticity differs from what was saved (its hidden
// "was-…" field) is outlined and tinted by its new rating, and the status next to the save button says how
// many cells are not saved yet.
"use strict";
(function () {
  var RATINGS = ["consistent", "inconsistent", "neutral"];

  function valueOf(cell) {
    var rating = cell.querySelector("select.rating");
    var diag = cell.querySelector("select.diag");
    return rating && rating.value ? rating.value + ":" + (diag ? diag.value : "medium") : "";
  }

  function refresh(form, status) {
    var changed = 0;
    form.querySelectorAll("td.cell").forEach(function (cell) {
      var was = cell.querySelector("input[name^='was-']");
      var rating = cell.querySelector("select.rating");
      if (!was || !rating) { return; }
      var differs = valueOf(cell) !== was.value;
      cell.classList.toggle("changed", differs);
      RATINGS.concat(["none"]).forEach(function (r) {
        cell.classList.toggle("r-" + r, (rating.value || "none") === r);
      });
      if (differs) { changed += 1; }
    });
    if (status) {
      status.textContent = changed === 0 ? "" : changed === 1 ? "1 cell changed, not saved yet" : changed + " cells changed, not saved yet";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("matrix-form");
    if (!form) { return; }
    var status = document.getElementById("matrix-status");
    form.addEventListener("change", function () { refresh(form, status); });
    refresh(form, status);
  });
})();
