// The cockpit (templates/reporting/cockpit.html): the ranking as an ECharts bar chart, and every
// figure read again from /api/v1/cockpit/ every 60 s, without a reload. A static file, not
// inline, under the Content Security Policy; the labels come in the "cockpit-labels" json_script.
(() => {
  const root = document.getElementById("cockpit");
  const labelSource = document.getElementById("cockpit-labels");
  const dataSource = document.getElementById("cockpit-data");
  if (!root || !labelSource || !dataSource) return;
  const labels = JSON.parse(labelSource.textContent);
  const url = root.dataset.cockpitUrl;
  const seconds = Number(root.dataset.refreshSeconds) || 60;
  const dash = labels.dash;
  const format = (v) => (v === null || v === undefined ? dash : Number(v).toLocaleString());
  const arrows = { up: "▲", down: "▼", flat: "＝" };
  const colon = document.documentElement.lang.startsWith("zh") ? "：" : ": ";

  const span = (text, className) => {
    const element = document.createElement("span");
    element.textContent = text;
    if (className) element.className = className;
    return element;
  };

  const drawTrend = (element, tile) => {
    element.replaceChildren();
    if (tile.trend) {
      const arrow = span(arrows[tile.trend]);
      arrow.setAttribute("aria-hidden", "true");
      element.append(arrow, span(labels[tile.trend], "visually-hidden"), " ");
    }
    if (tile.trend || (tile.previous !== null && tile.previous !== undefined)) {
      element.append(labels.previous + colon, span(format(tile.previous), "num"));
    }
  };

  const drawTiles = (tiles) => {
    tiles.forEach((tile) => {
      const card = root.querySelector(`[data-tile="${tile.key}"]`);
      if (!card) return;
      card.querySelector("[data-value]").textContent = format(tile.current);
      drawTrend(card.querySelector("[data-trend]"), tile);
    });
  };

  const drawAlerts = (alerts) => {
    Object.entries(alerts).forEach(([key, count]) => {
      const count_ = root.querySelector(`[data-alert="${key}"] [data-count]`);
      if (count_) count_.textContent = format(count);
    });
  };

  const drawTable = (ranking) => {
    const body = root.querySelector("[data-ranking-rows]");
    if (!body || !ranking.length) return;
    body.replaceChildren(
      ...ranking.map((row) => {
        const tr = document.createElement("tr");
        const name = document.createElement("th");
        name.scope = "row";
        name.className = "fw-normal";
        name.textContent = row.name;
        tr.append(name);
        [row.sent, row.received, row.total].forEach((value) => {
          const td = document.createElement("td");
          td.className = "text-end num";
          td.textContent = format(value);
          tr.append(td);
        });
        return tr;
      }),
    );
  };

  let chart = null;
  const drawChart = (ranking) => {
    const element = root.querySelector("[data-cockpit-chart]");
    if (!element || typeof echarts === "undefined") return;
    if (!ranking.length) {
      element.hidden = true;
      return;
    }
    element.hidden = false;
    chart = chart || echarts.init(element, null, { renderer: "svg" });
    // The largest on top: ECharts draws a category axis from the bottom up.
    const rows = ranking.slice().reverse();
    chart.setOption({
      animation: false,
      color: ["#206bc4", "#2fb344"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 24, top: 32, bottom: 4, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: {
        type: "category",
        data: rows.map((row) => row.name),
        axisLabel: { width: 140, overflow: "truncate" },
      },
      series: [
        { name: labels.sent, type: "bar", stack: "total", data: rows.map((row) => row.sent) },
        {
          name: labels.received,
          type: "bar",
          stack: "total",
          data: rows.map((row) => row.received),
        },
      ],
    });
  };

  const draw = (data) => {
    drawTiles(data.tiles);
    drawAlerts(data.alerts);
    drawTable(data.ranking);
    drawChart(data.ranking);
  };

  const error = root.querySelector("[data-cockpit-error]");
  const updated = document.querySelector("[data-cockpit-updated]");
  const refresh = async () => {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      draw(await response.json());
      if (error) error.classList.add("d-none");
      if (updated) {
        const now = new Date();
        updated.textContent = now.toTimeString().slice(0, 5);
        updated.dateTime = now.toISOString();
      }
    } catch (_failure) {
      if (error) error.classList.remove("d-none");
    }
  };

  draw(JSON.parse(dataSource.textContent));
  window.setInterval(refresh, seconds * 1000);
  window.addEventListener("resize", () => chart && chart.resize());

  const fullscreen = document.querySelector("[data-cockpit-fullscreen]");
  if (fullscreen) {
    if (!document.fullscreenEnabled) fullscreen.hidden = true;
    fullscreen.addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.querySelector(".page").requestFullscreen();
    });
    document.addEventListener("fullscreenchange", () => chart && chart.resize());
  }
})();
