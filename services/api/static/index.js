// The morning view: ranked at-risk list with filters and paging, and the temperature × health scatter.
"use strict";

const PAGE_SIZE = 25;
const SCATTER_LIMIT = 200; // the API's page maximum
// Quadrant lines of the scatter: the scorer's default split (temperature and health at 50).
const SPLIT = 50;
const QUADRANTS = ["champion", "upsell", "adoption_risk", "at_risk"];
// Risk bands come from the scorer's config; these known names are listed worst first.
const BAND_ORDER = ["critical", "high", "medium", "low"];

const state = { cursors: [null], page: 0 }; // cursors[i] = cursor of page i

function filters() {
  const q = new URLSearchParams();
  for (const f of ["owner", "segment", "quadrant", "band"]) {
    const v = document.getElementById("f-" + f).value;
    if (v) q.set(f, v);
  }
  q.set("order", document.getElementById("f-order").value);
  return q;
}

function fillSelect(id, values, label) {
  const sel = document.getElementById(id), keep = sel.value;
  const opts = [el("option", { value: "" }, label)];
  for (const [v, n] of values) opts.push(el("option", { value: v }, `${words(v)} (${num(n)})`));
  sel.replaceChildren(...opts);
  sel.value = keep;
}

async function renderCounts() {
  const c = await api("/v1/segments");
  const tile = (n, l) => el("div", { class: "tile" }, el("div", { class: "n" }, num(n)), el("div", { class: "l" }, l));
  document.getElementById("tiles").replaceChildren(
    tile(c.customers, "customers"),
    ...QUADRANTS.map((q) => tile(c.quadrant[q] || 0, words(q))));
  const sorted = (o) => Object.entries(o).sort((a, b) => a[0].localeCompare(b[0]));
  fillSelect("f-owner", sorted(c.owner), "All owners");
  fillSelect("f-segment", sorted(c.segment), "All segments");
  fillSelect("f-quadrant", QUADRANTS.map((q) => [q, c.quadrant[q] || 0]), "All quadrants");
  const rank = (b) => (BAND_ORDER.indexOf(b) + 1) || BAND_ORDER.length + 1;
  fillSelect("f-band", Object.entries(c.risk_band).sort((a, b) => rank(a[0]) - rank(b[0])), "All risk bands");
}

function row(s, rank) {
  const name = (s.profile && s.profile.name) || s.customer_id;
  const owner = s.profile && s.profile.owner, seg = s.profile && s.profile.segment;
  const reason = (s.reasons || [])[0];
  const atRisk = (s.risk.value / 100) * (s.mrr || 0);
  return el("tr", {},
    el("td", { class: "sub" }, rank),
    el("td", {}, el("a", { href: customerUrl(s.customer_id) }, name),
      el("div", { class: "sub" }, [owner || "no owner", seg].filter(Boolean).join(" · "))),
    el("td", { class: "num" }, riskBar(s.risk.value), num(s.risk.value), " ", bandPill(s.risk.band)),
    el("td", { class: "num" }, num(s.temperature && s.temperature.value)),
    el("td", { class: "num" }, num(s.health && s.health.value)),
    el("td", {}, s.quadrant ? el("span", { class: "pill" }, words(s.quadrant)) : el("span", { class: "sub" }, "–")),
    el("td", { class: "num" }, money(atRisk, s.currency), el("div", { class: "sub" }, "of " + money(s.mrr, s.currency))),
    el("td", { class: "reason" }, reason ? reason.text : ""));
}

async function renderList() {
  const q = filters();
  q.set("limit", PAGE_SIZE);
  const cursor = state.cursors[state.page];
  if (cursor) q.set("cursor", cursor);
  const page = await api("/v1/at-risk?" + q);
  const rows = document.getElementById("rows");
  const first = state.page * PAGE_SIZE;
  rows.replaceChildren(...(page.items.length ? page.items.map((s, i) => row(s, first + i + 1))
    : [el("tr", {}, el("td", { colspan: 8, class: "empty" }, "No customers match these filters yet."))]));
  state.cursors[state.page + 1] = page.next_cursor;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("next").disabled = !page.next_cursor;
  document.getElementById("pageinfo").textContent = page.items.length
    ? `${first + 1}–${first + page.items.length}` : "";
  document.getElementById("listnote").textContent =
    document.getElementById("f-order").value === "revenue" ? "by revenue at risk (risk × MRR)" : "by churn risk";
}

function renderScatter(items) {
  const W = 410, H = 380, L = 36, B = 30, T = 10, R = 10;
  const x = (t) => L + (t / 100) * (W - L - R), y = (h) => H - B - (h / 100) * (H - B - T);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "scatter", role: "img",
    "aria-label": "temperature versus health, one dot per customer" });
  svg.append(el("svg:rect", { x: L, y: T, width: W - L - R, height: H - B - T, fill: "#fbfcfd", stroke: "#e4e7ec" }));
  for (const v of [0, 25, 50, 75, 100]) {
    svg.append(el("svg:text", { x: x(v), y: H - B + 14, "text-anchor": "middle" }, v));
    svg.append(el("svg:text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v));
  }
  svg.append(el("svg:line", { x1: x(SPLIT), x2: x(SPLIT), y1: T, y2: H - B, stroke: "#98a2b3", "stroke-dasharray": "4 3" }));
  svg.append(el("svg:line", { x1: L, x2: W - R, y1: y(SPLIT), y2: y(SPLIT), stroke: "#98a2b3", "stroke-dasharray": "4 3" }));
  const labels = [[W - R - 6, T + 14, "end", "champion"], [L + 6, T + 14, "start", "upsell (healthy, cold)"],
    [W - R - 6, H - B - 8, "end", "adoption risk (paying, not using)"], [L + 6, H - B - 8, "start", "at risk"]];
  svg.append(el("svg:text", { x: (W + L) / 2, y: H - 2, "text-anchor": "middle" }, "temperature → (likely to keep paying)"));
  svg.append(el("svg:text", { x: 10, y: (H - B) / 2, transform: `rotate(-90 10 ${(H - B) / 2})`, "text-anchor": "middle" }, "health → (using the product)"));
  // Most at risk drawn last, so on top.
  for (const s of [...items].reverse()) {
    const t = s.temperature ? s.temperature.value : null, h = s.health ? s.health.value : null;
    if (t == null || h == null) continue; // no usage data yet: no health, no dot
    const name = (s.profile && s.profile.name) || s.customer_id;
    const dot = el("svg:circle", { cx: x(t), cy: y(h), r: 5, fill: riskColor(s.risk.value), "fill-opacity": 0.85,
      onclick: () => { location.href = customerUrl(s.customer_id); } },
      el("svg:title", {}, `${name}: risk ${num(s.risk.value)}, temperature ${num(t)}, health ${num(h)}`));
    svg.append(dot);
  }
  // Quadrant names last, with a halo, so dots never hide them.
  for (const [tx, ty, anchor, label] of labels) svg.append(el("svg:text", { x: tx, y: ty, "text-anchor": anchor, class: "label" }, label));
  document.getElementById("scatter").replaceChildren(svg);
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const q = filters();
    q.set("limit", SCATTER_LIMIT);
    const [, , scatter] = await Promise.all([renderCounts(), renderList(), api("/v1/at-risk?" + q)]);
    renderScatter(scatter.items);
    err.replaceChildren();
  } catch (e) {
    err.replaceChildren(el("div", { class: "error" }, "Cannot load the list: " + e.message));
  }
  renderStatus(document.getElementById("status"));
}

for (const f of ["owner", "segment", "quadrant", "band", "order"]) {
  document.getElementById("f-" + f).addEventListener("change", () => { state.cursors = [null]; state.page = 0; refresh(); });
}
document.getElementById("next").addEventListener("click", () => { state.page += 1; renderList(); });
document.getElementById("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); renderList(); });
refresh();
setInterval(refresh, REFRESH_MS);
