// Crisis room enhancements; every page reads and works without them.
// 1. Countdowns: each [data-countdown="<UTC ISO time>"] shows the time left ("3 h 12 min left") or how late it
//    is ("overdue by 20 min"), refreshed every 30 s. Same wording as the server (accord.web.pages.crisis).
// 2. Compose form: changing the message type or language refills subject, requested action and body from the
//    template, unless the user already edited them.
"use strict";
(function () {
  var MINUTE = 60000;
  var HOUR = 60 * MINUTE;

  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / MINUTE);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) { return hours ? days + " d " + hours + " h" : days + " d"; }
    if (hours) { return mins ? hours + " h " + mins + " min" : hours + " h"; }
    return mins ? mins + " min" : "less than a minute";
  }

  function describe(ms) {
    return ms > 0 ? duration(ms) + " left" : "overdue by " + duration(ms);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) { return; }
      var left = due - now;
      var text = describe(left);
      if (el.textContent !== text) { el.textContent = text; }
      el.classList.toggle("overdue", left <= 0);
      el.classList.toggle("soon", left > 0 && left <= HOUR);
      el.setAttribute("data-live", "");
    });
  }

  function setupDrafts(form) {
    var drafts;
    try { drafts = JSON.parse(form.getAttribute("data-drafts")); } catch (e) { return; }
    var kind = form.querySelector("select[name=kind]");
    var language = form.querySelector("select[name=language]");
    var purpose = document.getElementById("h-kind");
    if (!kind || !language || !drafts) { return; }
    var fields = ["subject", "requested_action", "body"];
    var current = { kind: kind.value, language: language.value };

    function draftOf(state) {
      return (drafts[state.language] || drafts.en || {})[state.kind] || null;
    }

    function refill() {
      var before = draftOf(current);
      var next = { kind: kind.value, language: language.value };
      var after = draftOf(next);
      if (after) {
        fields.forEach(function (name) {
          var input = form.elements[name];
          if (!input) { return; }
          var untouched = input.value.trim() === "" || (before && input.value === before[name]);
          if (untouched) { input.value = after[name]; }
        });
      }
      current = next;
      var option = kind.options[kind.selectedIndex];
      if (purpose && option) { purpose.textContent = option.getAttribute("data-purpose") || ""; }
    }

    kind.addEventListener("change", refill);
    language.addEventListener("change", refill);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-countdown]")) {
      tick();
      window.setInterval(tick, 30000);
    }
    document.querySelectorAll("form[data-drafts]").forEach(setupDrafts);
  });
})();
