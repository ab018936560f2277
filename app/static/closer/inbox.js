// Inbox: the conversation list and the conversation page poll their JSON endpoints (no reload).
(function () {
  "use strict";
  var POLL_MS = 3000;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // times in the business's timezone, as everywhere else in the admin (not the browser's)
  var holder = document.getElementById("inbox") || document.getElementById("conversation");
  var zone = holder ? holder.getAttribute("data-timezone") : null;

  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso), shown = {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"};
    try {
      return d.toLocaleString([], zone ? Object.assign({timeZone: zone}, shown) : shown);
    } catch (e) {  // a zone this browser doesn't know
      return d.toLocaleString([], shown);
    }
  }

  function left(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    if (ms <= 0) return "0m";
    var m = Math.floor(ms / 60000), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) return d + "d " + (h % 24) + "h";
    if (h > 0) return h + "h " + (m % 60) + "m";
    return m + "m " + Math.floor(ms / 1000) % 60 + "s";
  }

  function tickCountdowns() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (c) {
      c.textContent = left(c.getAttribute("data-until"));
    });
  }
  tickCountdowns();
  setInterval(tickCountdowns, 1000);

  // ------------------------------------------------------------------ the list
  var inbox = document.getElementById("inbox");
  if (inbox) {
    var list = document.getElementById("inbox-list");
    var filters = document.getElementById("inbox-filters");
    var error = document.getElementById("inbox-error");
    var showBase = inbox.getAttribute("data-show-url");

    var renderList = function (rows) {
      list.innerHTML = "";
      if (!rows.length) {
        list.appendChild(el("p", "text-muted", "No conversations match these filters."));
        return;
      }
      rows.forEach(function (c) {
        var a = el("a", "list-group-item inbox-row");
        a.href = showBase + c.id;
        a.setAttribute("data-id", c.id);
        var head = el("div");
        head.appendChild(el("strong", "inbox-customer", c.customer));
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("span", "label label-default", c.platform));
        if (c.unread) head.appendChild(el("span", "badge inbox-unread", String(c.unread)));
        if (c.needs_human) head.appendChild(el("span", "label label-danger inbox-needs-human", "needs a person"));
        if (c.mode === "human") head.appendChild(el("span", "label label-warning", "human"));
        else if (c.paused_until) head.appendChild(el("span", "label label-info", "AI paused"));
        if (c.status !== "open") head.appendChild(el("span", "label label-default", c.status));
        head.appendChild(el("small", "text-muted pull-right", when(c.last_message_at)));
        a.appendChild(head);
        a.appendChild(el("div", "small text-muted inbox-preview", c.preview));
        var meta = [c.campaign, c.assignee ? "→ " + c.assignee : null].concat(c.tags).filter(Boolean);
        if (meta.length) a.appendChild(el("div", "small", meta.join(" · ")));
        list.appendChild(a);
      });
    };

    var load = function () {
      var qs = new URLSearchParams(new FormData(filters)).toString();
      fetch(inbox.getAttribute("data-list-url") + "?" + qs, {credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
        .then(function (res) {
          if (!res.ok) { error.hidden = false; error.textContent = res.body.error || "Could not load"; return; }
          error.hidden = true;
          renderList(res.body.conversations);
        })
        .catch(function () {});
    };
    filters.addEventListener("change", load);
    filters.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    load();
    setInterval(load, POLL_MS);
  }

  // ------------------------------------------------------------------ one conversation
  var page = document.getElementById("conversation");
  if (!page) return;
  var thread = document.getElementById("thread");
  var lastId = 0;
  var TICKS = {queued: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "✗"};

  function ticks(span, status) {
    span.textContent = TICKS[status] || status;
    span.className = "ticks tick-" + status;
    span.title = status;
    span.style.color = status === "read" ? "#2a9fd6" : (status === "failed" ? "#c00" : "#777");
  }

  function bubble(m) {
    var inbound = m.direction === "in";
    var row = el("div", "msg msg-" + m.direction + " msg-" + m.sender);
    row.setAttribute("data-id", m.id);
    row.style.cssText = "margin:6px 0;text-align:" + (inbound ? "left" : "right");
    var meta = el("div", "small text-muted");
    var bits = [m.by, when(m.created_at)];
    if (m.kind !== "text") bits.push(m.kind);
    if (m.tag) bits.push(m.tag);
    if (m.template) bits.push("template " + m.template);
    if (m.edited) bits.push("edited");
    if (m.deleted) bits.push("unsent");
    if (m.reaction) bits.push("reacted " + m.reaction);
    meta.textContent = bits.join(" · ") + " ";
    if (!inbound) { var t = el("span"); ticks(t, m.status); meta.appendChild(t); }
    row.appendChild(meta);
    var b = el("div", "msg-text");
    b.style.cssText = "display:inline-block;max-width:75%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;text-align:left;" +
      (inbound ? "background:#fff;border:1px solid #ddd" : (m.sender === "agent" ? "background:#d9edf7" : "background:#dff0d8"));
    if (m.text) b.appendChild(el("span", null, m.text));
    (m.attachments || []).forEach(function (att, n) {
      var box = el("div", "msg-attachment");
      if (att.inline) {
        // images come through our own origin (the page loads nothing from elsewhere)
        box.appendChild(inlineImage(m.id, n, att));
      } else if (att.download) {
        // a WhatsApp file: only our server can fetch it (with the channel's token)
        var d = el("a", null, "[" + att.type + "] download");
        d.href = page.getAttribute("data-media-url") + m.id + "/" + n;
        box.appendChild(d);
      } else if (att.url) {
        // other media stay on Meta's CDN: a link opens them
        var a = el("a", null, "[" + att.type + "] open");
        a.href = att.url; a.target = "_blank"; a.rel = "noopener noreferrer";
        box.appendChild(a);
      } else {
        box.textContent = "[" + att.type + " attachment]";
      }
      b.appendChild(box);
    });
    if (m.postback) b.appendChild(el("div", "small text-muted", "tapped button: " + m.postback));
    row.appendChild(b);
    if (m.status === "failed") row.appendChild(el("div", "text-danger small msg-error", "Not sent: " + (m.error || "failed")));
    thread.appendChild(row);
  }

  var MEDIA_PROBLEMS = {
    expired: "Image expired or removed on Meta's side",
    too_large: "Image too large to show here",
    not_an_image: "Not an image we can show",
    unavailable: "Image can't be fetched from Meta right now"
  };

  function inlineImage(messageId, n, att) {
    var src = page.getAttribute("data-media-url") + messageId + "/" + n;
    var img = el("img", "msg-image");
    img.alt = att.type;
    img.style.cssText = "display:block;max-width:100%;max-height:260px;border-radius:8px;margin:4px 0";
    img.addEventListener("error", function () {
      // the server remembers the failure, so asking why costs Meta nothing
      var box = el("div", "msg-media-missing text-muted small", "[" + att.type + "] " + MEDIA_PROBLEMS.unavailable);
      box.style.cssText = "padding:6px 10px;border:1px dashed #bbb;border-radius:8px";
      link.replaceWith(box);
      fetch(src, {credentials: "same-origin"}).then(function (r) {
        var why = MEDIA_PROBLEMS[r.headers.get("X-Media-Error")];
        if (why) box.textContent = "[" + att.type + "] " + why;
      }).catch(function () {});
    });
    img.addEventListener("load", function () {
      // the thread was scrolled to its end before the image had a height: stay at the end
      if (thread.scrollHeight - thread.scrollTop - thread.clientHeight < img.height + 60) {
        thread.scrollTop = thread.scrollHeight;
      }
    });
    var link = el("a");
    link.href = src; link.target = "_blank"; link.rel = "noopener";
    link.appendChild(img);
    img.src = src;
    return link;
  }

  function refreshStatuses(statuses) {
    Object.keys(statuses || {}).forEach(function (id) {
      var row = thread.querySelector('.msg[data-id="' + id + '"]');
      if (!row) return;
      var s = statuses[id], span = row.querySelector(".ticks");
      if (span && span.title !== s.status) ticks(span, s.status);
      if (s.status === "failed" && !row.querySelector(".msg-error")) {
        row.appendChild(el("div", "text-danger small msg-error", "Not sent: " + (s.error || "failed")));
      }
    });
  }

  function refreshOrders(orders) {
    (orders || []).forEach(function (o) {
      var card = document.querySelector('.order-card[data-order-id="' + o.id + '"] .order-status');
      if (card) card.textContent = o.status;
    });
  }

  function poll() {
    fetch(page.getAttribute("data-messages-url") + "?after=" + lastId, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
        data.messages.forEach(function (m) {  // a slow poll may overlap the next: show each once
          if (!thread.querySelector('.msg[data-id="' + m.id + '"]')) bubble(m);
          lastId = Math.max(lastId, m.id);
        });
        if (!lastId && !thread.children.length) thread.appendChild(el("p", "text-muted", "No messages yet."));
        refreshStatuses(data.statuses);
        refreshOrders(data.orders);
        if (data.messages.length && (atBottom || lastId === data.messages[data.messages.length - 1].id)) {
          thread.scrollTop = thread.scrollHeight;
        }
      })
      .catch(function () {});
  }
  poll();
  setInterval(poll, POLL_MS);

  // canned replies: one click puts the filled-in text where the cursor is
  var box = document.getElementById("reply-text");
  document.querySelectorAll(".canned-insert").forEach(function (btn) {
    btn.addEventListener("click", function () {
      fetch(page.getAttribute("data-canned-url") + btn.getAttribute("data-id"), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!box) return;
          var at = box.selectionStart || box.value.length;
          box.value = box.value.slice(0, at) + data.text + box.value.slice(box.selectionEnd || at);
          box.focus();
        });
    });
  });

  // WhatsApp template picker: one input per variable of the chosen template
  var picker = document.getElementById("template-id");
  if (picker) {
    picker.addEventListener("change", function () {
      var opt = picker.options[picker.selectedIndex];
      var n = parseInt(opt.getAttribute("data-vars"), 10) || 0;
      document.getElementById("template-body").textContent = opt.getAttribute("data-body");
      var vars = document.getElementById("template-vars");
      vars.innerHTML = "";
      for (var i = 1; i <= n; i++) {
        var input = el("input", "form-control input-sm");
        input.name = "var"; input.required = true; input.placeholder = "{{" + i + "}}";
        vars.appendChild(input);
      }
    });
  }
})();
