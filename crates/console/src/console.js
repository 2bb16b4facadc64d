// The console's only script, served from the binary. Pages work without it; with it, times are
// shown in the viewer's own time zone and pages that follow live events (`data-live` on <main>)
// redraw themselves when an audit starts or finishes or a finding changes.
"use strict";

function localTimes(root) {
  const fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) {
      t.title = t.textContent; // the UTC form stays at hand
      t.textContent = fmt.format(d);
    }
  }
}

// Redraws <main> from a fresh copy of this page; form fields being typed in are left alone
// by waiting until no field in <main> has focus.
async function redraw(main, status, why) {
  if (main.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) {
    main.dataset.stale = "1";
    status.textContent = why + " — this page will update when you leave the field.";
    return;
  }
  const r = await fetch(location.href, { credentials: "same-origin", headers: { "accept": "text/html" } });
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (!fresh) return;
  main.innerHTML = fresh.innerHTML;
  localTimes(main);
  status.textContent = why + ": page updated.";
}

function follow(main) {
  const scope = main.dataset.live;
  const status = document.getElementById("live-status");
  const types = "audit.started,audit.completed,finding.updated";
  // From the last event the page was read at: what happened since is delivered at once.
  const after = Number(main.dataset.after || 0);
  let url = "/console/events?types=" + types;
  if (after > 0) url += "&last_event_id=" + after;
  const events = new EventSource(url);
  const words = { "audit.started": "An audit started", "audit.completed": "An audit finished", "finding.updated": "A finding changed" };
  let pending = null;
  for (const kind of types.split(",")) {
    events.addEventListener(kind, (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      if (scope !== "all" && ev.model_id !== scope) return;
      // Several events of one audit arrive together: one redraw for all of them.
      clearTimeout(pending);
      pending = setTimeout(() => redraw(main, status, words[kind]), 300);
    });
  }
  main.addEventListener("focusout", () => {
    if (main.dataset.stale) {
      delete main.dataset.stale;
      setTimeout(() => redraw(main, status, "Changes arrived"), 50);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const main = document.querySelector("main[data-live]");
  if (main && window.EventSource) follow(main);
});
