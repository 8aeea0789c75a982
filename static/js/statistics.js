// Draws the statistics chart from the JSON in the canvas's data-statistics-chart attribute.
"use strict";

function drawStatisticsCharts(root) {
  root.querySelectorAll("canvas[data-statistics-chart]").forEach((canvas) => {
    if (canvas.dataset.drawn || typeof Chart === "undefined") {
      return;
    }
    const data = JSON.parse(canvas.dataset.statisticsChart);
    canvas.dataset.drawn = "true";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.air_label, data: data.air, backgroundColor: "#0b6e6e" },
          { label: data.processing_label, data: data.processing, backgroundColor: "#94c9c9" },
        ],
      },
      options: { responsive: true, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  });
}

document.addEventListener("DOMContentLoaded", () => drawStatisticsCharts(document));
document.addEventListener("htmx:afterSettle", () => drawStatisticsCharts(document));
