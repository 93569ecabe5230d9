/* Segmentation pages: the explorer's charts (ECharts, vendored), pickers that apply at once, and the
   "Run now" button that says it is working. Every figure is also in a table, so the pages work without it. */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#6610f2", "#d63384", "#fd7e14", "#20c997", "#198754", "#6f42c1", "#0dcaf0", "#adb5bd"];
  var TIER_COLOURS = { A: "#198754", B: "#20c997", C: "#fd7e14", D: "#dc3545" };
  var LAYER_COLOURS = { high: "#6f42c1", mid: "#0d6efd", potential: "#adb5bd" };

  function colourFor(dimension, code, index) {
    if (dimension === "tier" && TIER_COLOURS[code]) return TIER_COLOURS[code];
    if (dimension === "layer" && LAYER_COLOURS[code]) return LAYER_COLOURS[code];
    if (code === "none") return "#ced4da";
    return PALETTE[index % PALETTE.length];
  }

  function options(dimension, data) {
    var points = data.counts.map(function (n, i) {
      return { value: n, name: data.labels[i], itemStyle: { color: colourFor(dimension, data.codes[i], i) } };
    });
    var font = getComputedStyle(document.body).fontFamily;
    var ink = getComputedStyle(document.body).color;
    if (dimension === "layer") {
      // The shares outside the ring, in the page's ink and rounded as the table beside it: inside a thin ring a
      // share like "52.75%" was wider than the ring and its first digit vanished, white on white.
      return {
        textStyle: { fontFamily: font },
        tooltip: {
          trigger: "item",
          formatter: function (params) { return params.name + ": " + params.value + " (" + data.shares[params.dataIndex] + " %)"; }
        },
        legend: { bottom: 0, icon: "circle" },
        series: [{
          type: "pie", radius: ["38%", "60%"], center: ["50%", "45%"], data: points, cursor: "pointer",
          avoidLabelOverlap: true,
          label: {
            position: "outside", color: ink, fontWeight: "bold",
            formatter: function (params) { return data.shares[params.dataIndex] + " %"; }
          },
          labelLine: { show: true, length: 6, length2: 6 }
        }]
      };
    }
    var horizontal = dimension === "c3";
    var categories = { type: "category", data: data.short || data.labels, axisTick: { show: false } };
    var values = { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eee" } } };
    if (horizontal) categories.inverse = true;
    return {
      textStyle: { fontFamily: font },
      tooltip: {
        trigger: "item",
        formatter: function (params) { return data.labels[params.dataIndex] + ": " + params.value; }
      },
      // room above the columns for their figures (tier), right of the bars for theirs (C3)
      grid: { left: 8, right: 40, top: horizontal ? 8 : 24, bottom: 8, containLabel: true },
      xAxis: horizontal ? values : categories,
      yAxis: horizontal ? categories : values,
      series: [{
        type: "bar", data: points, barMaxWidth: horizontal ? 22 : 56, cursor: "pointer",
        label: { show: true, position: horizontal ? "right" : "top" }
      }]
    };
  }

  function drawCharts() {
    var source = document.getElementById("segment-chart-data");
    if (!source || typeof window.echarts === "undefined") return;
    var all = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var dimension = element.getAttribute("data-chart");
      var data = all[dimension];
      if (!data) return;
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.setOption(options(dimension, data));
      chart.on("click", function (params) {
        var url = data.urls[params.dataIndex];
        if (url) window.location.href = url;
      });
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  function autosubmit() {
    document.querySelectorAll("[data-autosubmit]").forEach(function (control) {
      control.addEventListener("change", function () { control.form.submit(); });
    });
  }

  function runNowFeedback() {
    document.querySelectorAll(".run-now-form").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (!button) return;
        button.disabled = true;
        var spinner = button.querySelector(".spinner-border");
        var icon = button.querySelector(".bi");
        if (spinner) spinner.classList.remove("d-none");
        if (icon) icon.classList.add("d-none");
      });
    });
  }

  function start() {
    drawCharts();
    autosubmit();
    runNowFeedback();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
