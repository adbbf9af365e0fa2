/**
 * The dashboard's page: plain HTML, CSS and a small script, served as they
 * are (no build step, no framework). The script polls `/api/snapshot` once
 * a second and redraws; every value from the queue (ids, errors, payloads)
 * goes into the page as text, never as HTML. Actions send the token in the
 * `x-dashboard-token` header; the token is typed in, or read once from the
 * URL's fragment (`#token=...`, which the browser never sends to a server),
 * and kept for the tab's session only.
 *
 * The elements the browser tests look for carry `data-` attributes:
 * `data-queue` on a queue's card, `data-count` on each count, `data-action`
 * on the buttons, `data-lookup` on the look-up button, `data-dead` on a
 * dead letter's row, `data-upcoming` on a waiting job's, `data-page` on
 * the paging buttons (in `data-listing`, `dead` or `upcoming`),
 * `data-page-error` on why a later page could not be read again,
 * `data-outcome` on a recent outcome's, `data-running` on a running job's.
 *
 * "look up" asks for the job whose id is typed (`GET api/queues/:queue/job`)
 * and says its state in the message line. The snapshot lists a queue's
 * first page of dead letters and of waiting jobs; "next page" asks for the
 * one after the last shown (`GET api/queues/:queue/dead-letters` or
 * `.../upcoming`), which the page then shows, asked again after each
 * snapshot (apart from it: a slow store holds up its page only), until
 * "first page". Every read gives up after 5 seconds.
 *
 * Internal: not an entry point of the package.
 */

export const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-worker-pool dashboard</title>
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>effect-worker-pool</h1>
  <span id="status" data-status>connecting…</span>
  <label>token <input id="token" type="password" autocomplete="off" placeholder="needed for actions"></label>
</header>
<p id="message" role="status"></p>
<main id="queues"></main>
</body>
</html>
`

export const style = `
:root { --fg: #1d2330; --muted: #677085; --line: #d9dde6; --ok: #1f8a4c; --bad: #c8372d; --accent: #2f5fd0; --bg: #f6f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: center; padding: 10px 20px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header label { margin-left: auto; color: var(--muted); }
#status { color: var(--muted); }
#message { margin: 8px 20px; min-height: 1.4em; color: var(--accent); }
main { padding: 0 20px 20px; display: grid; gap: 16px; }
section.queue { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
section.queue h2 { margin: 0 0 8px; font-size: 15px; }
section.queue h2 small { color: var(--muted); font-weight: normal; margin-left: 6px; }
section.queue h2 .paused { color: var(--bad); font-size: 12px; font-weight: 600; margin-left: 10px; }
.row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(92px, 1fr)); gap: 6px; flex: 1 1 420px; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; }
.count b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }
.count span { color: var(--muted); font-size: 12px; }
.chart { flex: 1 1 420px; }
.chart svg { width: 100%; height: 120px; background: #fbfcfe; border: 1px solid var(--line); border-radius: 6px; }
.legend { color: var(--muted); font-size: 12px; }
.legend .t { color: var(--accent); } .legend .f { color: var(--bad); }
h3 { font-size: 13px; margin: 14px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
td, th { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.error { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; max-width: 520px; color: var(--bad); }
.Succeeded { color: var(--ok); } .Failed, .Died { color: var(--bad); } .Interrupted { color: var(--muted); }
button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 5px; background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.danger:hover { border-color: var(--bad); color: var(--bad); }
.tools { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.empty { color: var(--muted); }
`

export const script = `"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const tokenInput = $("token");
  const fromHash = /[#&]token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    // A link whose escape is broken ("%" alone) gives its text as it is: thrown, it would stop the page.
    let token = fromHash[1];
    try { token = decodeURIComponent(token); } catch {}
    sessionStorage.setItem("dashboard-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  tokenInput.value = sessionStorage.getItem("dashboard-token") || "";
  tokenInput.addEventListener("change", () => sessionStorage.setItem("dashboard-token", tokenInput.value));

  // Builds an element; strings become text nodes, never HTML.
  const h = (tag, attrs, ...children) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
    return el;
  };
  const svg = (tag, attrs) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  };
  const ms = (v) => v === undefined || v === null ? "–" : v < 1000 ? Math.round(v) + " ms" : (v / 1000).toFixed(1) + " s";
  const time = (t) => new Date(t).toLocaleTimeString();
  const say = (text) => { $("message").textContent = text; };

  const act = async (queue, action, body) => {
    const response = await fetch("api/queues/" + encodeURIComponent(queue) + "/" + action, {
      method: "POST",
      headers: { "content-type": "application/json", "x-dashboard-token": tokenInput.value },
      body: JSON.stringify(body)
    });
    const answer = await response.json().catch(() => ({ error: "no answer" }));
    say(response.ok ? queue + ": " + action + " " + JSON.stringify(answer) : queue + ": " + action + " refused (" + response.status + "): " + answer.error);
    poll();
  };

  // A read of the page's: a server that never answers fails it after a while, and the page goes on.
  const read = async (path) => {
    const response = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(5000) });
    const answer = await response.json().catch(() => ({ error: "no answer" }));
    if (!response.ok) throw new Error(answer.error);
    return answer;
  };

  // The listings a queue pages through: where a later page is read, and the field of its answer.
  const listings = {
    dead: { path: "dead-letters", field: "deadLetters", what: "dead letters" },
    upcoming: { path: "upcoming", field: "upcoming", what: "waiting jobs" }
  };
  // A queue's later page of a listing, while one is shown, by listing and queue: the cursor it
  // follows, its jobs, whether a page follows it, and why it could not be read again (said on its
  // card: the message line is the actions'). Read again after each snapshot, so that an action on
  // it shows at once.
  const pages = new Map();
  const pageKey = (listing, queue) => listing + " " + queue;
  const pageAfter = async (listing, queue, after) => {
    const { path, field } = listings[listing];
    const answer = await read("api/queues/" + encodeURIComponent(queue) + "/" + path + "?after=" + encodeURIComponent(after));
    return { items: answer[field], more: answer.more };
  };
  const nextPage = async (listing, queue, after) => {
    try {
      const { items, more } = await pageAfter(listing, queue, after);
      if (items.length === 0) return say(queue + ": no " + listings[listing].what + " after these");
      pages.set(pageKey(listing, queue), { listing, queue, after, items, more, error: undefined });
      draw();
    } catch (error) {
      say(queue + ": the next page could not be read: " + error.message);
    }
  };
  const firstPage = (listing, queue) => { pages.delete(pageKey(listing, queue)); draw(); };
  // Each page read again after each snapshot, apart from it and from one another (one read of a
  // page at a time): a slow store, or a listing's read that never answers, holds up its page only.
  const refreshPages = (queues) => {
    for (const [key, page] of pages) {
      if (!queues.some((q) => q.name === page.queue)) { pages.delete(key); continue; }
      if (page.reading) continue;
      page.reading = true;
      (async () => {
        try {
          const { items, more } = await pageAfter(page.listing, page.queue, page.after);
          // Emptied (its jobs retried, deleted or run): the first page again.
          if (items.length === 0 && pages.get(key) === page) pages.delete(key);
          else Object.assign(page, { items, more, error: undefined });
        } catch (error) {
          page.error = error.message;
        } finally {
          page.reading = false;
          draw();
        }
      })();
    }
  };
  // A listing's page error and paging buttons: "first page" on a later page, "next page" when one follows.
  const pageTools = (listing, queue, paged, items, more) => {
    const lastItem = items[items.length - 1];
    return h("div", { "data-listing": listing },
      paged && paged.error ? h("p", { class: "error", "data-page-error": true }, "this page could not be read again (" + paged.error + "): shown as last read") : null,
      h("div", { class: "tools" },
        paged ? h("button", { "data-page": "first", onclick: () => firstPage(listing, queue) }, "first page") : null,
        more && lastItem && lastItem.cursor ? h("button", { "data-page": "next", onclick: () => nextPage(listing, queue, lastItem.cursor) }, "next page") : null));
  };

  // A job looked up by id, said in the message line (the cards are drawn again each second).
  const lookUp = async (queue, id) => {
    if (!id) return say(queue + ": type a job id to look up");
    say(queue + ": looking up " + id + "…");
    try {
      const { job: j } = await read("api/queues/" + encodeURIComponent(queue) + "/job?id=" + encodeURIComponent(id));
      const when = j.runAt === undefined ? "" : (j.state === "leased" ? ", its lease runs out at " : ", runs at ") + new Date(j.runAt).toLocaleString();
      say(queue + ": job " + j.id + " is " + j.state + ", attempts " + j.attempts + ", priority " + j.priority + when + (j.error ? ", last error: " + j.error : ""));
    } catch (error) {
      say(queue + ": " + error.message);
    }
  };

  // What is typed in each queue's job id field, kept as the cards are drawn again.
  const typedIds = new Map();

  const count = (name, value) => h("div", { class: "count", "data-count": name }, h("b", {}, value === undefined ? "–" : value), h("span", {}, name));

  // How long before the last sample each sample was taken, in seconds, from the time each covers.
  const secondsAgo = (series) => {
    const ago = new Array(series.length);
    let total = 0;
    for (let i = series.length - 1; i >= 0; i--) {
      ago[i] = total;
      total += series[i].seconds;
    }
    return ago;
  };

  const chart = (series) => {
    // A minute fills the width at first; then the chart keeps every sample the server holds (ten
    // minutes at one a second), each as wide as the time it covers (a tick that waited for a slow
    // store covers more), measured back from the last: the wall clock's jumps move nothing.
    const width = 600, height = 120;
    const ago = secondsAgo(series);
    const span = Math.max(60, ago.length > 0 ? ago[0] : 0);
    const box = svg("svg", { viewBox: "0 0 " + width + " " + height, preserveAspectRatio: "none", role: "img" });
    const rate = (s) => s.seconds > 0 ? s.ended / s.seconds : 0;
    const top = Math.max(1, Math.ceil(Math.max(0, ...series.map(rate))));
    const x = (i) => width - ago[i] / span * width;
    const line = (value, scale, color) => {
      if (series.length < 2) return;
      const points = series.map((s, i) => x(i).toFixed(1) + "," + (height - 4 - value(s) / scale * (height - 10)).toFixed(1)).join(" ");
      box.append(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 1.5 }));
    };
    box.append(svg("text", { x: 4, y: 12, "font-size": 10, fill: "#677085" }));
    box.lastChild.textContent = top + " jobs/s";
    line(rate, top, "#2f5fd0");
    line((s) => s.ended === 0 ? 0 : s.failed / s.ended, 1, "#c8372d");
    return box;
  };

  const table = (heads, rows, empty) => rows.length === 0
    ? h("p", { class: "empty" }, empty)
    : h("table", {}, h("tr", {}, heads.map((x) => h("th", {}, x))), rows);

  let snapshotAt = Date.now();
  // A durable queue's pause holds it in every process; an in-memory pool's, this pool.
  // None shown until its state is known (one that cannot be paused never has one).
  const pauseTools = (q, actions) => {
    if (q.paused === undefined) return null;
    const what = q.kind === "durable" ? "queue" : "pool";
    const held = q.kind === "durable"
      ? "No process claims a job of it until it is resumed (jobs already claimed still run)."
      : "Its workers start no job until it is resumed (running jobs finish).";
    return h("div", { class: "tools" },
      q.paused
        ? h("button", { "data-action": "resume", disabled: !actions, onclick: () => act(q.name, "resume", {}) }, "resume " + what)
        : h("button", {
          class: "danger", "data-action": "pause", disabled: !actions,
          onclick: () => confirm("Pause " + q.name + "? " + held) && act(q.name, "pause", {})
        }, "pause " + what));
  };

  const card = (q, actions) => {
    const s = q.stats, c = q.counts;
    const last = q.series[q.series.length - 1];
    const ago = secondsAgo(q.series);
    const perMinute = q.series.filter((x, i) => ago[i] < 60);
    const ended = perMinute.reduce((a, x) => a + x.ended, 0), failed = perMinute.reduce((a, x) => a + x.failed, 0);
    const counts = [
      count("workers", s.workers), count("queued", s.queued), count("delayed", s.delayed), count("active", s.active),
      count("succeeded", s.succeeded), count("failed", s.failed), count("died", s.died), count("interrupted", s.interrupted),
      count("cancelled", s.cancelled)
    ];
    if (q.kind === "durable") counts.push(
      count("ready", c && c.ready), count("leased", c && c.leased), count("completed", c && c.completed), count("buried", c && c.buried)
    );
    const p = q.percentiles;
    const section = h("section", { class: "queue", "data-queue": q.name },
      h("h2", {}, q.name, h("small", {}, q.kind === "durable" ? "durable queue (counts in the store, across processes)" : "in-memory pool (this process)"),
        q.paused ? h("span", { class: "paused", "data-paused": true }, "paused: no job starts") : null),
      q.storeError ? h("p", { class: "error" }, "store: " + q.storeError) : null,
      pauseTools(q, actions),
      h("div", { class: "row" },
        h("div", { class: "counts" }, counts),
        h("div", { class: "chart" }, chart(q.series),
          h("div", { class: "legend" },
            h("span", { class: "t" }, "jobs/s " + (last && last.seconds > 0 ? Math.round(last.ended / last.seconds) : 0)), " · ",
            h("span", { class: "f" }, "failure rate, last minute " + (ended === 0 ? "0" : (100 * failed / ended).toFixed(1)) + "%"), " · ",
            "run time p50 ", ms(p && p.p50), " · p90 ", ms(p && p.p90), " · p99 ", ms(p && p.p99),
            p ? " (last " + p.count + ")" : ""))),
      h("h3", {}, "running (" + q.running.length + ")"),
      table(["job", "worker", "attempt", "running for"], q.running.map((r) =>
        h("tr", { "data-running": r.id }, h("td", {}, r.id), h("td", {}, r.worker), h("td", {}, r.attempt), h("td", {}, ms(r.ms)))), "none"));
    if (q.kind === "durable") {
      const idInput = h("input", {
        placeholder: "job id", "data-cancel-id": true, value: typedIds.get(q.name),
        oninput: () => typedIds.set(q.name, idInput.value)
      });
      const paged = pages.get(pageKey("dead", q.name));
      const letters = paged ? paged.items : q.deadLetters;
      // The snapshot's first page is followed by another when the store counts more dead letters.
      const more = paged ? paged.more : Boolean(c) && c.buried > letters.length;
      const later = pages.get(pageKey("upcoming", q.name));
      const waiting = later ? later.items : q.upcoming;
      section.append(
        h("h3", {}, "dead letters (" + (c ? c.buried : "?") + ")" + (paged ? ", a later page" : "")),
        h("div", { class: "tools" },
          h("button", { "data-action": "redrive-all", disabled: !actions, onclick: () => act(q.name, "redrive", { all: true }) }, "retry all"),
          h("button", { class: "danger", "data-action": "remove-all", disabled: !actions, onclick: () => confirm("Delete every dead letter of " + q.name + "?") && act(q.name, "remove", { all: true }) }, "delete all"),
          idInput,
          h("button", { "data-lookup": true, onclick: () => lookUp(q.name, idInput.value) }, "look up"),
          h("button", { "data-action": "cancel", disabled: !actions, onclick: () => idInput.value && act(q.name, "cancel", { id: idInput.value }) }, "cancel job"),
          h("button", {
            class: "danger", "data-action": "cancel-waiting", disabled: !actions,
            onclick: () => confirm("Cancel every job of " + q.name + " that waits to run (" + (c ? c.ready : "?") + ")? Running jobs finish.") && act(q.name, "cancel-waiting", {})
          }, "cancel all waiting")),
        table(["job", "attempts", "error", "payload", ""], letters.map((d) =>
          h("tr", { "data-dead": d.id }, h("td", {}, d.id), h("td", {}, d.attempts), h("td", { class: "error" }, d.error), h("td", {}, d.payload),
            h("td", {},
              h("button", { "data-action": "redrive", disabled: !actions, onclick: () => act(q.name, "redrive", { ids: [d.id] }) }, "retry"), " ",
              h("button", { class: "danger", "data-action": "remove", disabled: !actions, onclick: () => act(q.name, "remove", { ids: [d.id] }) }, "delete")))), "none"),
        pageTools("dead", q.name, paged, letters, more),
        h("h3", {}, "waiting for their time" + (later ? ", a later page" : q.upcoming ? " (the first " + q.upcoming.length + ")" : "")),
        waiting
          ? table(["job", "runs at", "in", "attempts so far"], waiting.map((u) =>
            h("tr", { "data-upcoming": u.id }, h("td", {}, u.id), h("td", {}, new Date(u.runAt).toLocaleString()),
              h("td", {}, u.runAt <= snapshotAt ? "due" : ms(u.runAt - snapshotAt)), h("td", {}, u.attempts))), "none")
          : h("p", { class: "empty" }, "this store cannot list them: they are among its ready jobs (" + (c ? c.ready : "?") + ")"),
        waiting ? pageTools("upcoming", q.name, later, waiting, later ? later.more : q.moreUpcoming) : "",
        h("h3", {}, "periodic jobs"),
        table(["periodic job", "cron"], q.periodic.map((x) => h("tr", {}, h("td", {}, x.name), h("td", {}, x.cron))), "no periodic job declared here"));
    }
    section.append(
      h("h3", {}, "recent outcomes"),
      table(["job", "outcome", "attempt", "ran", "at", "error"], q.recent.map((r) =>
        h("tr", { "data-outcome": r.id }, h("td", {}, r.id), h("td", { class: r.outcome }, r.outcome), h("td", {}, r.attempt), h("td", {}, ms(r.ms)),
          h("td", {}, time(r.at)), h("td", { class: "error" }, r.error || ""))), "none yet"));
    return section;
  };

  // The last snapshot, drawn again when a later page (of dead letters or of waiting jobs) changes.
  let last;
  const draw = () => {
    if (!last) return;
    // Keep the focus in a job id field (its text is in typedIds): redraw only the cards, not the header.
    const focused = document.activeElement && document.activeElement.matches("[data-cancel-id]")
      ? document.activeElement.closest("[data-queue]").dataset.queue : null;
    $("queues").replaceChildren(...last.queues.map((q) => card(q, last.actions)));
    if (focused !== null) {
      const again = document.querySelector('[data-queue="' + CSS.escape(focused) + '"] [data-cancel-id]');
      if (again) again.focus();
    }
  };

  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      last = await read("api/snapshot");
      snapshotAt = last.at;
      draw();
      $("status").textContent = "live · " + time(last.at) + (last.actions ? "" : " · actions off (no token set at start)");
      refreshPages(last.queues);
    } catch (error) {
      $("status").textContent = "disconnected: " + error.message;
    } finally {
      busy = false;
    }
  };
  poll();
  setInterval(poll, 1000);
})();
`
