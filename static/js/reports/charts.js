/* Reports pages: the charts (ECharts, vendored) of the dashboard and of each report's tables, drawn from the
   page's "report-chart-data" (json_script). Every value is also in a tile or a table on the page; the texts
   in tooltips are the server's (registry.display), so a figure reads the same in the chart and the table.
   A click on a bar, a point or a slice opens the rows behind it (the series' links). */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#fd7e14", "#20c997", "#6f42c1", "#d63384", "#198754", "#0dcaf0", "#6c757d"];

  function language() {
    return (document.documentElement.getAttribute("lang") || "en").toLowerCase();
  }

  function compact(value) {
    try {
      return new Intl.NumberFormat(language(), { notation: "compact", maximumFractionDigits: 1 }).format(value);
    } catch (e) {
      return String(value);
    }
  }

  function axisFormatter(kind) {
    if (kind === "rate") return function (value) { return value + "%"; };
    if (kind === "money") return function (value) { return "¥" + compact(value); };
    return function (value) { return compact(value); };
  }

  function tooltipFormatter(data) {
    return function (params) {
      var items = Array.isArray(params) ? params : [params];
      if (!items.length) return "";
      var index = items[0].dataIndex;
      var lines = [data.x[index] !== undefined ? data.x[index] : items[0].name];
      items.forEach(function (item) {
        var series = data.series[item.seriesIndex];
        if (!series) return;
        lines.push(item.marker + " " + series.name + ": <b>" + series.labels[item.dataIndex] + "</b>");
      });
      return lines.join("<br>");
    };
  }

  function pieOptions(data, font, ink) {
    var series = data.series[0];
    return {
      animation: false,
      textStyle: { fontFamily: font },
      color: PALETTE,
      tooltip: {
        trigger: "item",
        formatter: function (p) { return p.name + ": <b>" + series.labels[p.dataIndex] + "</b> (" + p.percent + "%)"; }
      },
      legend: { bottom: 0, type: "scroll" },
      series: [{
        type: "pie", radius: ["35%", "62%"], center: ["50%", "44%"], cursor: "pointer",
        label: { color: ink, formatter: "{d}%" },
        data: series.data.map(function (value, i) { return { value: value, name: data.x[i] }; })
      }]
    };
  }

  function cartesianOptions(data, font) {
    var axes = [];
    data.series.forEach(function (s) {
      if (!axes[s.axis]) axes[s.axis] = s.kind;
    });
    var narrow = window.innerWidth < 576;
    // Named categories (C3 groups, visit types, agents), unlike months, are all shown, slanted when many.
    var named = data.x.some(function (x) { return !/^\d{4}-\d{2}/.test(String(x)); });
    var slanted = named ? data.x.length > 4 : narrow && data.x.length > 6;
    var yAxis = axes.map(function (kind, i) {
      return {
        type: "value",
        position: i === 0 ? "left" : "right",
        axisLabel: { formatter: axisFormatter(kind) },
        splitLine: { show: i === 0, lineStyle: { color: "#eee" } },
        minInterval: kind === "int" ? 1 : 0
      };
    });
    if (!yAxis.length) yAxis = [{ type: "value" }];
    return {
      animation: false,
      textStyle: { fontFamily: font },
      color: PALETTE,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltipFormatter(data), confine: true },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.x,
        axisTick: { show: false },
        axisLabel: {
          interval: named ? 0 : "auto",
          hideOverlap: !named,
          rotate: slanted ? (named ? 35 : 45) : 0,
          width: narrow ? 70 : 110,
          overflow: "truncate"
        }
      },
      yAxis: yAxis,
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: s.type === "line" ? "line" : "bar",
          yAxisIndex: Math.min(s.axis, yAxis.length - 1),
          stack: s.stack || undefined,
          data: s.data,
          connectNulls: false,
          cursor: "pointer",
          barMaxWidth: 40,
          symbolSize: 8,
          triggerLineEvent: true
        };
      })
    };
  }

  function draw() {
    var source = document.getElementById("report-chart-data");
    if (!source || typeof window.echarts === "undefined") return;
    var all = JSON.parse(source.textContent);
    var font = getComputedStyle(document.body).fontFamily;
    var ink = getComputedStyle(document.body).color;
    var locale = language().indexOf("zh") === 0 ? "ZH" : "EN";
    var charts = [];
    document.querySelectorAll("[data-report-chart]").forEach(function (element) {
      var data = all[element.getAttribute("data-report-chart")];
      if (!data || data.empty || !data.series.length) return;
      var chart = window.echarts.init(element, null, { renderer: "svg", locale: locale });
      chart.setOption(data.kind === "pie" ? pieOptions(data, font, ink) : cartesianOptions(data, font));
      chart.on("click", function (params) {
        var series = data.kind === "pie" ? data.series[0] : data.series[params.seriesIndex];
        var url = series && series.links ? series.links[params.dataIndex] : "";
        if (url) window.location.href = url;
      });
      element.setAttribute("data-rendered", "true");
      charts.push(chart);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) window.clearTimeout(pending);
      pending = window.setTimeout(function () { charts.forEach(function (chart) { chart.resize(); }); }, 100);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
