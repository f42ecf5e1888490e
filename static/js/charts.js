// Dashboard charts (templates/reporting/_dash_charts.html): ECharts from the series in the
// "dash-chart-data" json_script block. A static file, not inline, under the Content Security Policy.
(() => {
  // The series come from reporting/selectors.py (null where there is no value: a gap, not 0).
  const source = document.getElementById("dash-chart-data");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const format = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString());
  const charts = [];
  document.querySelectorAll("[data-chart]").forEach((element) => {
    const spec = data.charts[element.dataset.chart];
    if (!spec) return;
    const legend = spec.series.length > 1;
    const chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      color: ["#206bc4", "#d63939", "#2fb344", "#f59f00", "#ae3ec9", "#17a2b8"],
      // Rich-text tooltips are drawn by the chart itself: the HTML ones carry style attributes,
      // which the Content Security Policy refuses.
      tooltip: { trigger: "axis", valueFormatter: format, renderMode: "richText" },
      legend: { show: legend, type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: legend ? 40 : 28, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: data.months, axisTick: { alignWithLabel: true } },
      yAxis: { type: "value", name: spec.unit, nameTextStyle: { align: "left" } },
      series: spec.series.map((s) => ({
        name: s.name, type: spec.type, data: s.data, connectNulls: false, symbolSize: 6,
      })),
    });
    charts.push(chart);
  });
  const resize = () => charts.forEach((chart) => chart.resize());
  window.addEventListener("resize", resize);
  // On paper: every definition open, charts fitted to the page width.
  window.addEventListener("beforeprint", () => {
    document.querySelectorAll("details.dash-definition").forEach((d) => { d.open = true; });
    resize();
  });
  window.addEventListener("afterprint", resize);
  // The print layout (paper width) is only in place once the print media query matches:
  // "beforeprint" comes too early in Chromium, so the charts are redrawn on this change too.
  window.matchMedia("print").addEventListener("change", resize);
})();
