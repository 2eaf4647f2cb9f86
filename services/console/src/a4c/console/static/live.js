// Live updates without a reload: server-sent events from this console (no framework, no build step).
// The list page follows its unsettled rows; the organization page follows WatchBootstrap, appends each
// event to the audit trail and re-fetches the status panel. EventSource reconnects on its own and
// sends the last event id back, so the server resumes after it.
(function () {
  "use strict";

  function problem(text) {
    var banner = document.getElementById("live-problem");
    if (!banner) { return; }
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function listen(url, handlers) {
    var source = new EventSource(url);
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (message) { handlers[name](JSON.parse(message.data)); });
    });
    source.addEventListener("end", function () { source.close(); });
    source.addEventListener("problem", function (message) { problem(JSON.parse(message.data).message); });
    source.addEventListener("open", function () { problem(""); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) { problem("Live updates stopped: reload the page."); }
    });
    return source;
  }

  function badge(element, text, css) {
    if (!element) { return; }
    element.textContent = text;
    if (css) { element.className = css; }
  }

  function followList(table) {
    listen(table.getAttribute("data-live-list"), {
      row: function (row) {
        var tr = table.querySelector('tr[data-id="' + row.id + '"]');
        if (!tr) { return; }
        badge(tr.querySelector('[data-field="bootstrap"]'), row.bootstrap, row.bootstrap_css);
        badge(tr.querySelector('[data-field="subdomain"]'), row.subdomain, row.subdomain_css);
      }
    });
  }

  function cell(label, text, code) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (code) {
      var inner = document.createElement("code");
      inner.textContent = text;
      td.appendChild(inner);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function followOrganization(events) {
    var summary = document.getElementById("summary");
    var append = events.getAttribute("data-append") === "true";
    var busy = false;
    var again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(summary.getAttribute("data-summary-url"), { credentials: "same-origin" })
        .then(function (reply) {
          if (!reply.ok) { throw new Error(String(reply.status)); }
          return reply.text();
        })
        .then(function (html) { summary.innerHTML = html; })
        .catch(function () { problem("Could not refresh the status: reload the page."); })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }
    listen(events.getAttribute("data-live-events"), {
      organization: function (event) {
        if (append && !events.querySelector('tr[data-sequence="' + event.sequence + '"]')) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-sequence", String(event.sequence));
          tr.appendChild(cell("#", String(event.version)));
          tr.appendChild(cell("Event", event.type, true));
          tr.appendChild(cell("When", event.at));
          tr.appendChild(cell("Actor", event.actor));
          events.appendChild(tr);
        }
        badge(document.getElementById("bootstrap-status"), event.bootstrap);
        badge(document.getElementById("subdomain-status"), event.subdomain);
        refresh();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("[data-live-list]");
    if (table) { followList(table); }
    var events = document.querySelector("[data-live-events]");
    if (events) { followOrganization(events); }
  });
})();
