// One customer: the three numbers, why they are what they are, RFM/CLV/lifecycle, score history.
"use strict";

const CUSTOMER_ID = decodeURIComponent(location.pathname.split("/").pop());
const HISTORY_POINTS = 90; // one point per day, 90 days kept (the API's maximum)
const SERIES = [ // history lines: field, label, colour
  ["risk", "risk", "#c62828"], ["temperature", "temperature", "#2952cc"], ["health", "health", "#1f9d55"],
];
const MEANING = {
  risk: "chance of churning within the horizon",
  temperature: "chance they are still paying at the horizon",
  health: "how much and how broadly they use the product",
};

function bigNumber(label, score, extra) {
  if (!score) return el("div", { class: "card" }, el("div", { class: "sub" }, label), el("div", { class: "big" }, "–"));
  return el("div", { class: "card" },
    el("div", { class: "sub" }, label.toUpperCase() + " — " + MEANING[label]),
    el("div", { class: "big", style: label === "risk" ? `color:${riskColor(score.value)}` : "" },
      num(score.value), el("small", {}, " / 100 ")), bandPill(score.band), extra || null);
}

function components(title, comp) {
  const rows = Object.entries(comp || {}).flatMap(([k, v]) =>
    [el("dt", {}, words(k)), el("dd", {}, typeof v === "number" ? num(v, Math.abs(v) < 10 ? 2 : 0) : String(v))]);
  return el("div", {}, el("h2", {}, title), rows.length ? el("dl", {}, rows) : el("p", { class: "sub" }, "no components"));
}

function facts(title, pairs) {
  const rows = pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]);
  return el("div", { class: "card" }, el("h2", {}, title), el("dl", {}, rows));
}

function reasons(list) {
  if (!list || !list.length) return el("p", { class: "sub" }, "Nothing notable moved these scores.");
  return el("ul", { class: "reasons" }, list.map((r) => el("li", {},
    el("span", { class: "impact " + (r.impact < 0 ? "neg" : "pos") }, (r.impact > 0 ? "+" : "") + num(r.impact, 1)),
    el("span", {}, r.text, el("div", { class: "sub" }, "affects " + words(r.score))))));
}

// Risk reasons not already listed among the general reasons.
function riskOnly(s) {
  const seen = new Set((s.reasons || []).map((r) => r.code + "|" + r.text));
  return (s.risk_reasons || []).filter((r) => !seen.has(r.code + "|" + r.text));
}

function historyChart(points) {
  const W = 600, H = 230, L = 30, R = 10, T = 10, B = 24;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "chart", role: "img",
    "aria-label": "score history" });
  const y = (v) => H - B - (v / 100) * (H - B - T);
  for (const v of [0, 25, 50, 75, 100]) {
    svg.append(el("svg:line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    svg.append(el("svg:text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v));
  }
  if (points.length < 2) {
    svg.append(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle" },
      points.length ? "one point so far: the line appears when the scores next change" : "no history yet"));
  }
  const t0 = points.length ? points[0].as_of_ts : 0, t1 = points.length ? points[points.length - 1].as_of_ts : 1;
  const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (W - L - R);
  for (const frac of [0, 0.5, 1]) {
    if (!points.length) break;
    const t = t0 + frac * (t1 - t0);
    svg.append(el("svg:text", { x: x(t), y: H - 8, "text-anchor": frac === 0 ? "start" : frac === 1 ? "end" : "middle" }, when(t)));
  }
  for (const [field, , colour] of SERIES) {
    const pts = points.filter((p) => typeof p[field] === "number");
    if (!pts.length) continue;
    const d = pts.map((p, i) => (i ? "L" : "M") + x(p.as_of_ts).toFixed(1) + " " + y(p[field]).toFixed(1)).join(" ");
    svg.append(el("svg:path", { d, stroke: colour }));
    for (const p of pts.length <= 60 ? pts : []) {
      svg.append(el("svg:circle", { cx: x(p.as_of_ts), cy: y(p[field]), r: 2.5, fill: colour },
        el("svg:title", {}, `${when(p.as_of_ts)} — ${field} ${num(p[field])}` + (p.reasons.length ? "\n" + p.reasons.join("\n") : ""))));
    }
  }
  const legend = el("div", { class: "legend" }, SERIES.map(([, label, c]) => el("span", { style: `--c:${c}` }, label)));
  return el("div", {}, svg, legend);
}

function render(s, history) {
  const p = s.profile || {}, rfm = s.rfm || {}, clv = s.clv || {}, rep = s.repurchase || {}, life = s.lifecycle || {};
  document.title = "Vitals — " + (p.name || s.customer_id);
  const temp = s.temperature || {};
  return el("div", {},
    el("div", { class: "head" },
      el("h2", {}, p.name || s.customer_id),
      el("span", { class: "sub" }, s.customer_id),
      el("span", { class: "pill" }, words(s.quadrant)),
      el("span", { class: "pill" }, "lifecycle: " + words(life.stage)),
      el("span", { class: "sub" }, [p.owner ? "owner " + p.owner : "no owner", p.segment, p.plan && "plan " + p.plan,
        p.seats && p.seats + " seats"].filter(Boolean).join(" · ")),
      el("span", { class: "sub", style: "margin-left:auto" }, "scored " + when(s.as_of_ts) + " (" + ago(s.as_of_ts) + ")")),
    el("div", { class: "numbers" },
      bigNumber("risk", s.risk, el("div", { class: "sub" }, "revenue at risk " + money((s.risk.value / 100) * (s.mrr || 0), s.currency) + " of " + money(s.mrr, s.currency) + " MRR")),
      bigNumber("temperature", temp, temp.model ? el("div", { class: "sub" }, "model: " + temp.model) : null),
      bigNumber("health", s.health)),
    el("div", { class: "cols" },
      el("div", { class: "card" }, el("h2", {}, "Why"), reasons(s.reasons),
        riskOnly(s).length ? el("h2", { style: "margin-top:14px" }, "What drives the risk") : null,
        riskOnly(s).length ? reasons(riskOnly(s)) : null),
      el("div", { class: "card" }, el("h2", {}, "Score history ", el("small", {}, "last " + history.length + " days")), historyChart(history))),
    el("div", { class: "cards4" },
      facts("RFM", [["segment", words(rfm.segment)], ["R · F · M", [rfm.r, rfm.f, rfm.m].map((v) => v ?? "–").join(" · ")],
        ["days since purchase", num(rfm.recency_days)], ["purchases", num(rfm.frequency)], ["spend", money(rfm.monetary, s.currency)]]),
      facts("Customer lifetime value", [["estimate", money(clv.value, clv.currency || s.currency)],
        ...Object.entries(clv.components || {}).map(([k, v]) => [words(k), num(v, Math.abs(v) < 10 ? 2 : 0)])]),
      facts("Lifecycle", [["stage", words(life.stage)], ["since", when(life.since ? Date.parse(life.since) / 1000 : null)],
        ["renewal", p.renewal_date || "–"], ["last activity", when(s.stats && s.stats.last_event_at ? Date.parse(s.stats.last_event_at) / 1000 : null)]]),
      facts("Repurchase", [["status", words(rep.status)], ["overdue ratio", num(rep.ratio, 2)],
        ["days since last", num(rep.days_since_last)], ["usual interval (days)", num(rep.mean_interval_days)]])),
    el("div", { class: "card cols3" },
      components("Temperature components", temp.components),
      components("Health components", (s.health || {}).components),
      components("Risk components", s.risk.components)));
}

// Recent alerts of this customer: where they went, and Ack / Snooze buttons for the CSM.
const ALERTS_SHOWN = 20;
const SNOOZE_DAYS = [1, 7];

function deliveryText(a) {
  if (!a.deliveries.length) return "routed nowhere";
  return a.deliveries.map((d) => d.destination_id + ": " + d.status).join(", ");
}

function alertState(a) {
  if (a.acknowledged) return "acknowledged" + (a.acknowledged.by ? " by " + a.acknowledged.by : "") + " " + ago(a.acknowledged.at);
  if (a.snoozed_until && a.snoozed_until > Date.now() / 1000) return "rule snoozed until " + when(a.snoozed_until);
  return "";
}

async function act(path) {
  try { await api(path, "POST"); } catch (e) { alert("Could not do that: " + e.message); }
  refreshAlerts();
}

function alertsCard(list) {
  const rows = list.map((a) => {
    const x = a.alert, id = encodeURIComponent(x.alert_id);
    const snoozes = SNOOZE_DAYS.map((d) => el("button", { onclick: () =>
      act(`/v1/alerts/${id}/snooze?until=${encodeURIComponent(new Date(Date.now() + d * 86400000).toISOString())}`) },
      "Snooze " + d + " d"));
    return el("tr", {},
      el("td", {}, when(x.raised_at_ts)), el("td", {}, el("span", { class: "pill" }, x.severity)),
      el("td", {}, x.title, el("div", { class: "sub" }, words(x.rule))),
      el("td", { class: "sub" }, deliveryText(a)),
      el("td", { class: "sub" }, alertState(a)),
      el("td", {}, a.acknowledged ? null : el("button", { onclick: () => act(`/v1/alerts/${id}/ack`) }, "Ack"), snoozes));
  });
  return el("div", { class: "card" }, el("h2", {}, "Alerts"),
    rows.length ? el("table", {}, el("tbody", {}, rows)) : el("p", { class: "sub" }, "No alerts for this customer."));
}

async function refreshAlerts() {
  const node = document.getElementById("alerts");
  try {
    const r = await api(`/v1/alerts?customer_id=${encodeURIComponent(CUSTOMER_ID)}&limit=${ALERTS_SHOWN}`);
    node.replaceChildren(alertsCard(r.alerts));
  } catch (e) {
    node.replaceChildren(el("p", { class: "sub" }, "Alerts unavailable: " + e.message));
  }
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const id = encodeURIComponent(CUSTOMER_ID);
    const [s, h] = await Promise.all([api("/v1/customers/" + id), api(`/v1/customers/${id}/history?limit=${HISTORY_POINTS}`)]);
    document.getElementById("customer").replaceChildren(render(s, h.points));
    err.replaceChildren();
  } catch (e) {
    const msg = e.status === 404 ? `No scores for customer "${CUSTOMER_ID}" yet.` : "Cannot load this customer: " + e.message;
    err.replaceChildren(el("div", { class: "error" }, msg));
  }
  renderStatus(document.getElementById("status"));
  refreshAlerts();
}

refresh();
setInterval(refresh, REFRESH_MS);
