/**
 * The live page of `serve({ http })` (`GET /`): one static HTML file, its script and style
 * inline, no framework, nothing loaded from elsewhere. It reads `/calls` (the recent calls,
 * `RecentCalls`), then follows `/events` (Server-Sent Events) to add each message as it goes;
 * it lists the calls and transactions by Call-ID, filters them by Call-ID, user or method, and
 * draws the one selected as a ladder with every message in full. `?call=CALL-ID` selects one
 * on load; `?live=0` reads the list once and does not follow `/events`. What comes from the
 * network is only ever put in the page as text (`textContent`), never as HTML.
 *
 * @module
 */

/**
 * The HTML of the live page.
 *
 * @example
 * ```ts
 * import { LIVE_PAGE } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.match(LIVE_PAGE, /^<!doctype html>/);
 * assert.doesNotMatch(LIVE_PAGE, /<script src|<link /); // nothing from elsewhere
 * ```
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sipecho: live</title>
<style>
  :root { --in: #0a5; --out: #05a; --line: #ccc; font-family: system-ui, sans-serif; font-size: 14px; }
  body { margin: 0; display: grid; grid-template-columns: minmax(320px, 38%) 1fr; height: 100vh; }
  header { grid-column: 1 / 3; padding: 6px 12px; background: #222; color: #eee; display: flex; gap: 12px;
    align-items: center; }
  header input { flex: 1; max-width: 420px; padding: 4px 6px; }
  #state { font-size: 12px; opacity: .8; }
  #list { overflow: auto; border-right: 1px solid var(--line); margin: 0; padding: 0; list-style: none; }
  #list li { padding: 6px 10px; border-bottom: 1px solid #eee; cursor: pointer; }
  #list li:hover { background: #f4f4f4; }
  #list li.selected { background: #e6f0ff; }
  #list .id { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
  #list .meta { font-size: 12px; color: #555; }
  #ladder { overflow: auto; padding: 8px 16px; }
  .lanes { display: grid; grid-template-columns: 90px 1fr; font-weight: bold; margin-bottom: 6px; }
  .lanes div:last-child { display: flex; justify-content: space-between; }
  .msg { display: grid; grid-template-columns: 90px 1fr; margin: 2px 0; }
  .msg .t { font-family: ui-monospace, monospace; font-size: 12px; color: #666; }
  .arrow { position: relative; border-bottom: 2px solid; padding: 0 14px 1px; font-family: ui-monospace, monospace;
    font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .in .arrow { color: var(--in); text-align: right; }
  .out .arrow { color: var(--out); }
  .in .arrow::after { content: "\\25B6"; position: absolute; right: -2px; bottom: -8px; }
  .out .arrow::before { content: "\\25C0"; position: absolute; left: -2px; bottom: -8px; }
  pre { grid-column: 2; margin: 2px 0 10px; padding: 6px 8px; background: #f7f7f7; border-left: 3px solid var(--line);
    font-size: 12px; white-space: pre-wrap; word-break: break-all; }
  .empty { color: #777; padding: 12px; }
</style>
</head>
<body>
<header>
  <strong>sipecho</strong>
  <input id="filter" type="search" placeholder="filter: Call-ID, user or method" autocomplete="off">
  <span id="state">loading</span>
</header>
<ul id="list"></ul>
<main id="ladder"><p class="empty">Select a call to see its ladder.</p></main>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const state = { calls: new Map(), limits: { calls: 100, messages: 32 }, selected: params.get("call"), filter: "" };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function time(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

function matches(call) {
  const f = state.filter.trim().toLowerCase();
  if (f === "") return true;
  return [call.callId, call.from, call.to, ...call.methods].some((s) => String(s).toLowerCase().includes(f));
}

function renderList() {
  const list = $("list");
  list.replaceChildren();
  const calls = [...state.calls.values()].filter(matches).reverse();
  for (const call of calls) {
    const li = el("li", "call" + (call.callId === state.selected ? " selected" : ""));
    li.dataset.callId = call.callId;
    li.append(el("div", "id", call.callId));
    li.append(el("div", "meta", time(call.first) + "  " + call.from + " \\u2192 " + call.to + "  " +
      call.methods.join(", ") + (call.status === undefined || call.status === null ? "" : "  " + call.status) +
      "  (" + call.total + " messages)"));
    li.addEventListener("click", () => select(call.callId));
    list.append(li);
  }
  if (calls.length === 0) list.append(el("li", "empty", state.calls.size ? "No call matches the filter." : "No calls yet."));
}

function renderLadder() {
  const ladder = $("ladder");
  ladder.replaceChildren();
  const call = state.calls.get(state.selected);
  if (!call) {
    ladder.append(el("p", "empty", "Select a call to see its ladder."));
    return;
  }
  ladder.append(el("h3", "", call.callId));
  const remote = call.messages.length ? call.messages[0].remote : "remote";
  const lanes = el("div", "lanes");
  const ends = el("div");
  ends.append(el("span", "", remote), el("span", "", "sipecho"));
  lanes.append(el("div", "", "time"), ends);
  ladder.append(lanes);
  if (call.total > call.messages.length) {
    ladder.append(el("p", "empty", "The first " + (call.total - call.messages.length) + " messages are not kept."));
  }
  for (const m of call.messages) {
    const row = el("div", "msg " + m.direction);
    row.dataset.summary = m.summary;
    row.append(el("div", "t", time(m.time)));
    row.append(el("div", "arrow", m.summary + "  (" + m.transport + " " + m.remote + ")"));
    row.append(el("pre", "text", m.text));
    ladder.append(row);
  }
}

function select(callId) {
  state.selected = callId;
  const url = new URL(location.href);
  url.searchParams.set("call", callId);
  history.replaceState(null, "", url);
  renderList();
  renderLadder();
}

function add(summary, message) {
  let call = state.calls.get(summary.callId);
  if (!call) {
    call = { ...summary, messages: [] };
    state.calls.set(summary.callId, call);
    while (state.calls.size > state.limits.calls) state.calls.delete(state.calls.keys().next().value);
  }
  Object.assign(call, summary);
  call.messages.push(message);
  while (call.messages.length > state.limits.messages) call.messages.shift();
}

let pending = false;
function refresh() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderList();
    renderLadder();
  });
}

async function load() {
  const response = await fetch("/calls", { cache: "no-store" });
  const data = await response.json();
  state.limits = data.limits;
  state.calls = new Map(data.calls.map((c) => [c.callId, c]));
  renderList();
  renderLadder();
}

function follow() {
  const events = new EventSource("/events");
  events.addEventListener("open", () => { $("state").textContent = "live"; });
  events.addEventListener("message", (e) => {
    const { call, message } = JSON.parse(e.data);
    add(call, message);
    refresh();
  });
  events.addEventListener("error", () => {
    $("state").textContent = "reconnecting";
    events.close();
    setTimeout(() => load().then(follow, follow), 2000);
  });
}

$("filter").addEventListener("input", (e) => {
  state.filter = e.target.value;
  renderList();
});

load().then(() => {
  $("state").textContent = params.get("live") === "0" ? "still (live=0)" : "connecting";
  if (params.get("live") !== "0") follow();
}, (e) => { $("state").textContent = "cannot load /calls: " + e; });
</script>
</body>
</html>
`;
