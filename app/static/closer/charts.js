// Draws every figure the page carries as <script type="application/json" class="closer-figure">
// (built on the server by app/analytics/charts.py) with the locally served plotly.min.js.
(function () {
  function draw() {
    if (typeof window.Plotly === "undefined") return;
    var blocks = document.querySelectorAll('script.closer-figure[type="application/json"]');
    Array.prototype.forEach.call(blocks, function (block) {
      var target = document.getElementById(block.getAttribute("data-target"));
      if (!target) return;
      var fig = JSON.parse(block.textContent);
      window.Plotly.newPlot(target, fig.data || [], fig.layout || {},
        {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"]});
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
