/* Reports pages: the period and dealership pickers apply at once. Choosing a preset clears the two dates (the
   dates win over a preset on the server); changing a date makes the period "Chosen dates". Without this
   script the form still works with its "Show" button. */
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("report-picker");
    if (form) {
      var preset = form.querySelector("[data-picker-preset]");
      var dates = form.querySelectorAll("[data-picker-date]");
      if (preset) {
        preset.addEventListener("change", function () {
          if (!preset.value) return;
          dates.forEach(function (input) { input.value = ""; input.disabled = true; });
          form.submit();
        });
      }
      dates.forEach(function (input) {
        input.addEventListener("change", function () { if (preset) preset.value = ""; });
      });
      form.querySelectorAll("[data-picker-store], [data-picker-group]").forEach(function (control) {
        control.addEventListener("change", function () {
          // A preset chosen on the page stays a preset (its dates are not sent).
          if (preset && preset.value) dates.forEach(function (input) { input.disabled = true; });
          form.submit();
        });
      });
      form.addEventListener("submit", function () {
        if (preset && preset.value) {
          var changed = false;
          dates.forEach(function (input) { if (input.defaultValue !== input.value) changed = true; });
          if (!changed) dates.forEach(function (input) { input.disabled = true; });
        }
      });
    }
    document.querySelectorAll("[data-autosubmit]").forEach(function (control) {
      control.addEventListener("change", function () { control.form.submit(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
