// Shared helpers of the dashboard pages: API calls, safe DOM building, formatting, colours.
"use strict";

const REFRESH_MS = 5000; // pages re-read the API this often
const KEY_STORAGE = "vitals.apiKey";

// API key: kept in this browser only (localStorage), asked for when the API answers 401/403.
function apiKey() { return localStorage.getItem(KEY_STORAGE) || ""; }

// api(path) reads; api(path, "POST") acts (acknowledge, snooze).
async function api(path, method = "GET") {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  const res = await fetch(path, { method, headers });
  const body = await res.json().catch(() => null);
  if (res.status === 401 || res.status === 403) {
    const entered = prompt("This Vitals API needs a key with the 'read' scope:", key);
    if (entered !== null) { localStorage.setItem(KEY_STORAGE, entered.trim()); }
  }
  if (!res.ok) {
    const err = new Error((body && (body.detail || body.title)) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return body;
}

// el("td", {class: "num"}, "text", childNode...) — text is always set as text, never as HTML.
function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const num = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v)) ? "–"
  : Number(v).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
function money(v, currency) {
  if (v === null || v === undefined) return "–";
  try { return Number(v).toLocaleString(undefined, { style: "currency", currency: currency || "USD", maximumFractionDigits: 0 }); }
  catch (e) { return num(v) + " " + (currency || ""); }
}
const words = (s) => s ? String(s).replace(/_/g, " ") : "–";
function ago(ts) {
  if (!ts) return "never";
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 90) return Math.round(s) + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  if (s < 129600) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " days ago";
}
const when = (ts) => ts ? new Date(ts * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "–";

// Risk 0–100 → colour from green through amber to red.
function riskColor(risk) {
  const t = Math.max(0, Math.min(1, (risk || 0) / 100));
  const stops = [[31, 157, 85], [217, 154, 0], [224, 102, 43], [198, 40, 40]];
  const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
function bandPill(band) { return el("span", { class: "pill band-" + (band || "none") }, words(band)); }
function riskBar(risk) {
  return el("span", { class: "riskbar" }, el("i", { style: `width:${Math.max(2, risk || 0)}%;background:${riskColor(risk)}` }));
}
const customerUrl = (id) => "/ui/customers/" + encodeURIComponent(id);

// Header: scorer lag and projection freshness from /v1/status.
async function renderStatus(node) {
  try {
    const s = await api("/v1/status");
    const k = s.kafka, p = s.projection;
    const lag = k.ok ? el("span", {}, el("i", { class: "dot " + (k.lag > 10000 ? "warn" : "ok") }), "scorer lag " + num(k.lag) + " events")
      : el("span", { title: k.error }, el("i", { class: "dot bad" }), "Kafka unreachable");
    const fresh = p.seconds_since_last_projection;
    const proj = el("span", {}, el("i", { class: "dot " + (fresh === null ? "warn" : fresh < 300 ? "ok" : "warn") }),
      "scores updated " + ago(p.last_projection_ts));
    const wm = el("span", {}, "stream time " + when(p.watermark_ts));
    node.replaceChildren(lag, proj, wm);
  } catch (e) {
    node.replaceChildren(el("span", {}, el("i", { class: "dot bad" }), "API: " + e.message));
  }
}
