// Onboarding documents: poll each upload still being read and move its progress bar.
(function () {
  var rows = document.querySelectorAll("#uploads tr.upload");
  if (!rows.length) return;
  var FINAL = { done: true, failed: true };

  function show(row, s) {
    var bar = row.querySelector(".upload-bar");
    var label = row.querySelector(".upload-status");
    row.setAttribute("data-status", s.status);
    var width = FINAL[s.status] ? 100 : s.progress;
    bar.style.width = width + "%";
    bar.textContent = s.progress + "%";
    bar.classList.toggle("progress-bar-success", s.status === "done");
    bar.classList.toggle("progress-bar-danger", s.status === "failed");
    label.textContent = "";
    if (s.status === "failed") {
      var err = document.createElement("span");
      err.className = "text-danger";
      err.textContent = s.error || "The document could not be read";
      label.appendChild(err);
    } else if (s.status === "done") {
      label.textContent = "Ready: " + s.chunks + " passages indexed";
    } else {
      label.textContent = s.status;
    }
  }

  function poll(row) {
    fetch(row.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        show(row, s);
        if (!FINAL[s.status]) setTimeout(function () { poll(row); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(row); }, 5000); });
  }

  rows.forEach(function (row) {
    if (!FINAL[row.getAttribute("data-status")]) poll(row);
  });
})();
