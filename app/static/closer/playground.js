// Playground chat: POST what the "customer" types, poll for the conversation's messages.
(function () {
  var log = document.getElementById("pg-log");
  if (!log) return;
  var form = document.getElementById("pg-form");
  var input = document.getElementById("pg-text");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var lastId = 0;
  var shown = {};  // message ids already in the log

  function bubble(m) {
    var mine = m.direction === "in";
    var row = document.createElement("div");
    row.className = "pg-msg pg-" + m.direction;
    row.style.cssText = "margin:6px 0;text-align:" + (mine ? "right" : "left");
    var b = document.createElement("span");
    b.style.cssText = "display:inline-block;max-width:70%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;text-align:left;" +
      (mine ? "background:#337ab7;color:#fff" : "background:#fff;border:1px solid #ddd");
    b.textContent = m.text || "";
    row.appendChild(b);
    if (m.status === "failed") {
      var e = document.createElement("div");
      e.className = "text-danger small";
      e.textContent = "Not sent: " + (m.error || "failed");
      row.appendChild(e);
    }
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body || {})});
  }

  function poll() {
    fetch("messages?after=" + lastId, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        // two polls may be in flight at once (the one after a send, the timer's): each
        // message is shown once, by whichever lands first
        data.messages.forEach(function (m) {
          if (shown[m.id]) return;
          shown[m.id] = true;
          bubble(m); lastId = Math.max(lastId, m.id);
        });
      })
      .catch(function () {});
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    post("send", {text: text}).then(poll);
  });
  document.getElementById("pg-reset").addEventListener("click", function () {
    post("reset").then(function () { log.innerHTML = ""; lastId = 0; shown = {}; });
  });
  poll();
  setInterval(poll, 1000);
})();
