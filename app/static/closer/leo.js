// Leo's panel: post the question with the page's CSRF token, show the answer and its figures.
(function () {
  var panel = document.getElementById("leo-panel");
  if (!panel || panel.dataset.ready) return;
  panel.dataset.ready = "1";
  var log = document.getElementById("leo-log");
  var form = document.getElementById("leo-form");
  var input = document.getElementById("leo-question");
  var button = document.getElementById("leo-ask");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function entry(question) {
    var box = el("div", "leo-entry");
    box.style.cssText = "margin-bottom:12px";
    box.appendChild(el("div", "leo-question text-muted small", question));
    log.appendChild(box);
    return box;
  }

  function show(box, data) {
    var answer = el("div", "leo-answer", data.answer || "");
    answer.style.cssText = "white-space:pre-wrap;margin:4px 0";
    box.appendChild(answer);
    var figures = data.figures || {};
    var values = figures.values || [];
    if (values.length) {
      var table = el("table", "table table-condensed leo-figures");
      table.style.cssText = "margin:4px 0 0;font-size:12px;width:auto";
      values.forEach(function (v) {
        var row = el("tr");
        row.appendChild(el("th", "", v.label));
        row.appendChild(el("td", "", v.value));
        table.appendChild(row);
      });
      box.appendChild(table);
    }
    if (figures.period) {
      box.appendChild(el("div", "text-muted small leo-period",
        "Period: " + figures.period.start + " to " + figures.period.end +
        (figures.source === "groq" ? " · answered by the AI model" : "")));
    }
    if (figures.notice) {
      box.appendChild(el("div", "small text-muted leo-notice", figures.notice));
    }
    if (figures.outside) {
      box.appendChild(el("div", "small text-warning leo-outside", figures.outside.label));
    }
    log.scrollTop = log.scrollHeight;
  }

  function ask(question) {
    question = (question || "").trim();
    if (!question) return;
    var box = entry(question);
    button.disabled = true;
    fetch(panel.dataset.askUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({question: question})
    }).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, data: data}; });
    }).then(function (res) {
      if (res.ok) show(box, res.data);
      else box.appendChild(el("div", "text-danger leo-error", res.data.message || "Leo could not answer"));
    }).catch(function () {
      box.appendChild(el("div", "text-danger leo-error", "Leo could not be reached; try again."));
    }).then(function () { button.disabled = false; });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value;
    input.value = "";
    ask(q);
  });
  Array.prototype.forEach.call(panel.querySelectorAll(".leo-suggestion"), function (b) {
    b.addEventListener("click", function () { ask(b.textContent); });
  });
})();
