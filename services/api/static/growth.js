// Growth page: funnel with rates, LVR over time, fast vs old conversions, groups and their flows,
// AARRR and K-factor, experiment reports. Reads /v1/funnel, /v1/groups, /v1/growth, /v1/experiments.
"use strict";

const STAGES = ["visitor", "registered", "mql", "sql", "opportunity", "customer"];
const STAGE_NAMES = { visitor: "Lead (visitor)", registered: "Registered", mql: "MQL", sql: "SQL",
  opportunity: "Opportunity", customer: "Customer" };
const GROUPS = ["A", "B", "C", "D", "E"];
const GROUP_COLORS = { A: "#94a3b8", B: "#7aa2f7", C: "#2952cc", D: "#d99a00", E: "#1f9d55" };
const pct = (v) => v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %";

function query() {
  const p = new URLSearchParams();
  p.set("period", document.getElementById("f-period").value);
  const cohort = document.getElementById("f-cohort").value;
  if (cohort) p.set("cohort", cohort);
  return p;
}

function barChart(values, labels, opts = {}) {
  const w = opts.width || 620, h = opts.height || 170, pad = 34, n = values.length || 1;
  const finite = values.filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...finite.map(Math.abs));
  const hasNeg = finite.some((v) => v < 0);
  const zero = hasNeg ? pad + (h - 2 * pad) / 2 : h - pad;
  const scale = (hasNeg ? (h - 2 * pad) / 2 : h - 2 * pad) / max;
  const bw = Math.max(4, (w - pad - 10) / n - 6);
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%" });
  svg.append(el("svg:line", { x1: pad, x2: w, y1: zero, y2: zero, stroke: "#cbd5e1" }));
  values.forEach((v, i) => {
    const x = pad + i * ((w - pad - 10) / n) + 3;
    if (v !== null && v !== undefined) {
      const hgt = Math.abs(v) * scale;
      const cls = opts.signed ? (v < 0 ? "bar neg" : "bar pos") : "bar";
      svg.append(el("svg:rect", { x, y: v < 0 ? zero : zero - hgt, width: bw, height: Math.max(1, hgt), class: cls },
        el("svg:title", {}, `${labels[i]}: ${opts.fmt ? opts.fmt(v) : v}`)));
      svg.append(el("svg:text", { x: x + bw / 2, y: v < 0 ? zero + hgt + 12 : zero - hgt - 3, "text-anchor": "middle" },
        opts.fmt ? opts.fmt(v) : String(v)));
    }
    if (n <= 14 || i % Math.ceil(n / 12) === 0) {
      svg.append(el("svg:text", { x: x + bw / 2, y: h - 6, "text-anchor": "middle" }, labels[i]));
    }
  });
  return svg;
}

function stackedChart(rows, keys, colors, opts = {}) {
  const w = opts.width || 620, h = opts.height || 190, pad = 34, n = rows.length || 1;
  const totals = rows.map((r) => keys.reduce((s, k) => s + (r[k] || 0), 0));
  const max = Math.max(1, ...totals);
  const bw = Math.max(4, (w - pad - 10) / n - 6);
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%" });
  rows.forEach((r, i) => {
    let y = h - pad;
    const x = pad + i * ((w - pad - 10) / n) + 3;
    for (const k of keys) {
      const hgt = (r[k] || 0) / max * (h - 2 * pad);
      if (hgt > 0) {
        y -= hgt;
        svg.append(el("svg:rect", { x, y, width: bw, height: hgt, fill: colors[k] },
          el("svg:title", {}, `${opts.labels[i]} ${k}: ${r[k]}`)));
      }
    }
    if (n <= 14 || i % Math.ceil(n / 12) === 0) {
      svg.append(el("svg:text", { x: x + bw / 2, y: h - 6, "text-anchor": "middle" }, opts.labels[i]));
    }
  });
  return svg;
}

function legend(keys, colors, names) {
  return el("div", { class: "legend" }, keys.map((k) => el("span", { style: `--c:${colors[k]}` }, names ? names[k] : k)));
}

function renderFunnel(f) {
  const total = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const conv = {};
  for (const row of f.periods) {
    for (const s of STAGES) total[s] += row.entered[s];
    for (const [name, c] of Object.entries(row.conversion)) {
      conv[name] = conv[name] || { n: 0, k: 0 };
      conv[name].n += c.cohort_size; conv[name].k += c.converted;
    }
  }
  const rateOf = (name) => conv[name] && conv[name].n ? conv[name].k / conv[name].n : null;
  const note = { mql: `lead→MQL ${pct(rateOf("lead_mql"))}`, sql: `MQL→SQL ${pct(rateOf("mql_sql"))}`,
    opportunity: `MQL→opp. ${pct(rateOf("mql_opportunity"))}`, customer: `MQL→customer ${pct(rateOf("mql_customer"))}` };
  const top = Math.max(1, total.visitor);
  const box = document.getElementById("funnel");
  box.replaceChildren(...STAGES.map((s) => el("div", { class: "funnel-row" },
    el("span", {}, STAGE_NAMES[s]),
    el("span", { class: "track" }, el("i", { style: `width:${(100 * total[s] / top).toFixed(1)}%` })),
    el("span", { class: "num" }, num(total[s])),
    el("span", { class: "rate" }, note[s] || ""))));
  const tis = f.time_in_stage;
  box.append(el("p", { class: "sub" }, "Mean days in stage: ",
    STAGES.slice(0, -1).map((s) => `${STAGE_NAMES[s]} ${tis[s].mean_days === null ? "–" : tis[s].mean_days.toFixed(1)}`).join(" · ")));
  const rows = f.periods;
  document.getElementById("lvr").replaceChildren(
    barChart(rows.map(lvrOf), rows.map(periodName), { signed: true, fmt: (v) => v.toFixed(0) + "%" }),
    el("p", { class: "sub" }, "Qualified (MQL) per period: ", rows.map((r) => `${periodName(r)} ${r.qualified}`).join(" · "),
      rows.some((r) => r.partial) ? ". A period in progress shows its run rate (its pace so far, against the whole period before)." : ""));
  document.getElementById("fastold").replaceChildren(
    stackedChart(rows.map((r) => ({ fast: r.conversions_fast, old: r.conversions_old })), ["fast", "old"],
      { fast: "#7aa2f7", old: "#1f9d55" }, { labels: rows.map((r) => r.period), height: 150 }),
    legend(["fast", "old"], { fast: "#7aa2f7", old: "#1f9d55" }, { fast: "fast leads", old: "old (nurtured) leads" }));
  const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Period"),
    STAGES.map((s) => el("th", { class: "num" }, STAGE_NAMES[s])),
    el("th", { class: "num" }, "lead→MQL"), el("th", { class: "num" }, "MQL→SQL"),
    el("th", { class: "num" }, "MQL→cust."), el("th", { class: "num" }, "LVR"), el("th", { class: "num" }, "Cost/SQL"))),
    el("tbody", {}, rows.slice().reverse().map((r) => el("tr", {}, el("td", {}, periodName(r)),
      STAGES.map((s) => el("td", { class: "num" }, num(r.entered[s]))),
      el("td", { class: "num" }, pct(r.conversion.lead_mql.rate)),
      el("td", { class: "num" }, pct(r.conversion.mql_sql.rate)),
      el("td", { class: "num" }, pct(r.conversion.mql_customer.rate)),
      el("td", { class: "num" }, lvrOf(r) === null ? "–" : (r.partial ? "≈ " : "") + lvrOf(r).toFixed(0) + " %"),
      el("td", { class: "num" }, r.cost_per_sql === null ? "–" : money(r.cost_per_sql))))));
  document.getElementById("table").replaceChildren(table);
  const cur = f.current;
  document.getElementById("tiles").replaceChildren(
    ...["visitor", "mql", "sql", "opportunity", "customer"].map((s) =>
      el("div", { class: "tile" }, el("div", { class: "n" }, num(cur[s])), el("div", { class: "l" }, "now " + STAGE_NAMES[s]))));
}

// LVR compares whole periods; a period in progress (or cut by the filter) gets its run rate.
function lvrOf(r) {
  return r.partial ? r.lvr_run_rate_pct : r.lvr_pct;
}

function periodName(r) {
  return r.partial ? `${r.period} (${r.days_covered}/${r.days_in_period} d)` : r.period;
}

function renderGroups(g) {
  const rows = g.periods;
  document.getElementById("groups").replaceChildren(
    stackedChart(rows.map((r) => r.sizes), GROUPS, GROUP_COLORS, { labels: rows.map((r) => r.period) }),
    legend(GROUPS, GROUP_COLORS, Object.fromEntries(GROUPS.map((k) => [k, `${k}: ${num(g.current[k])} now`]))),
    el("p", { class: "sub" }, `High price ≥ ${money(g.thresholds.unit_price)} per order; high frequency ≥ ${g.thresholds.orders_in_window} orders in ${g.thresholds.window_days} days.`),
    g.fitted === null ? "" : el("p", { class: "sub", id: "fitted" }, `Customers buying now (${g.fitted.buyers}), ${ordinal(g.fitted.quantile)}: ${money(g.fitted.unit_price)}+ per order, ${g.fitted.orders_in_window} order${g.fitted.orders_in_window === 1 ? "" : "s"} in the window (set price_threshold and frequency_threshold in VITALS_GROWTH_CONFIG).`));
  const recent = rows.slice(-4);
  const moves = [...new Set(recent.flatMap((r) => Object.keys(r.flows)))].filter((m) => m[0] !== "-").sort();
  document.getElementById("flows").replaceChildren(moves.length ? el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "From → to"), recent.map((r) => el("th", { class: "num" }, r.period)))),
    el("tbody", {}, moves.map((m) => el("tr", {}, el("td", {}, `${m[0]} → ${m[1]}`),
      recent.map((r) => el("td", { class: "num" }, num(r.flows[m] || 0))))))) : el("div", { class: "empty" }, "No moves yet"));
}

function renderGrowth(gr) {
  document.getElementById("actnote").textContent = `activation = first "${gr.activation_event}"`;
  const rows = gr.periods.slice(-8);
  document.getElementById("aarrr").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Period"),
      [["Acq.", "accounts first seen in the period"], ["Act.", "accounts that activated in the period (any cohort)"],
       ["Ret.", "accounts retained in the period"], ["Rev.", "accounts with a first payment in the period"],
       ["Ref.", "accounts that sent a first invite in the period"]].map(([h, t]) => el("th", { class: "num", title: t }, h)),
      el("th", { class: "num", title: "of the accounts acquired in the period, the share that activated (ever)" }, "Act. rate"),
      el("th", { class: "num", title: "customers who arrived through a referral in the period ÷ the customers who referred them" }, "K-factor"),
      el("th", { class: "num", title: "mean days from a referrer's arrival to its referral's arrival" }, "Cycle (days)"))),
    el("tbody", {}, rows.slice().reverse().map((r) => el("tr", {}, el("td", {}, periodName(r)),
      ["acquisition", "activation", "retention", "revenue", "referral"].map((s) => el("td", { class: "num" }, num(r.aarrr[s]))),
      el("td", { class: "num" }, pct(r.activation_rate)),
      el("td", { class: "num" }, r.k_factor === null ? "–" : `${r.k_factor.toFixed(2)} (${r.referred_customers}/${r.referrers})`),
      el("td", { class: "num" }, r.cycle_days === null ? "–" : r.cycle_days.toFixed(0)))))));
}

function intervalChart(history, arm) {
  const pts = history.filter((h) => h.arm === arm && h.lower !== null && h.upper !== null);
  const w = 1300, h = 220, pad = 44;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", class: "chart" });
  if (!pts.length) return svg;
  // Scale to the later four fifths of the looks: the first intervals are very wide and would
  // flatten the rest; what is cut off is clipped at the frame.
  const tail = pts.slice(Math.floor(pts.length / 5));
  const lo = Math.min(0, ...tail.map((p) => p.lower)), hi = Math.max(0, ...tail.map((p) => p.upper));
  const clip = (v) => Math.max(lo, Math.min(hi, v));
  const y = (v) => pad / 2 + (hi - clip(v)) / (hi - lo || 1) * (h - pad);
  const x = (i) => pad + i / Math.max(1, pts.length - 1) * (w - pad - 10);
  svg.append(el("svg:path", { d: pts.map((p, i) => `${i ? "L" : "M"}${x(i)},${y(p.upper)}`).join("") +
    pts.slice().reverse().map((p, i) => `L${x(pts.length - 1 - i)},${y(p.lower)}`).join("") + "Z",
    style: "fill:#dbe4ff;stroke:none" }));
  svg.append(el("svg:path", { d: pts.map((p, i) => `${i ? "L" : "M"}${x(i)},${y(p.effect)}`).join(""), stroke: "#2952cc" }));
  svg.append(el("svg:line", { x1: pad, x2: w - 10, y1: y(0), y2: y(0), stroke: "#c62828", "stroke-dasharray": "4 3" }));
  svg.append(el("svg:text", { x: 2, y: y(hi) + 4 }, (100 * hi).toFixed(1)));
  svg.append(el("svg:text", { x: 2, y: y(lo) }, (100 * lo).toFixed(1)));
  svg.append(el("svg:text", { x: pad, y: h - 2 }, pts[0].day));
  svg.append(el("svg:text", { x: w - 80, y: h - 2 }, pts[pts.length - 1].day));
  svg.append(el("svg:text", { x: 2, y: y(0) + 4 }, "0"));
  return svg;
}

function renderExperiments(ex) {
  const box = document.getElementById("experiments");
  if (!ex.experiments.length) { box.replaceChildren(el("div", { class: "empty" }, "No experiment yet")); return; }
  box.replaceChildren(...ex.experiments.map((r) => el("div", { class: "exp" },
    el("h3", {}, r.experiment, " ", el("small", { class: "sub" }, `${r.description} — goal: ${r.goal} within ${r.horizon_days} days; as of ${r.as_of}`)),
    el("div", { class: "kv" }, Object.entries(r.arms).map(([arm, a]) => el("span", {}, `${arm}: `,
      el("b", {}, `${num(a.units)} units, ${r.goal === "revenue" ? money(a.goal_mean) : pct(a.goal_mean)}`)))),
    Object.entries(r.effects).map(([arm, e]) => el("div", {},
      el("div", { class: "kv" },
        el("span", {}, "Effect ", el("b", {}, r.goal === "revenue" ? money(e.effect) : ((100 * e.effect).toFixed(1) + " pts")),
          e.relative === null ? "" : ` (${(100 * e.relative).toFixed(0)} % relative)`),
        el("span", {}, "Always-valid 95 %: ", el("b", {}, fmtInterval(e.always_valid_interval, r.goal))),
        el("span", {}, "Fixed-horizon 95 % (one look only): ", fmtInterval(e.fixed_horizon_95, r.goal)),
        el("span", {}, "p (always valid) ", el("b", {}, e.p_value_always_valid.toFixed(3))),
        el("span", { class: "decision " + (e.decision.includes("treatment") ? "win" : e.decision.includes("control") ? "lose" : "wait") },
          e.decision + (e.decided_on ? ` on ${e.decided_on}` : ""))),
      intervalChart(r.history, arm),
      el("p", { class: "sub" }, `${arm} − ${r.control}: effect (line) and its always-valid interval (band), one look per day; the test decides when the band leaves 0.`))),
    el("p", { class: "sub" }, `Assigned but not yet at the horizon: ${Object.entries(r.assigned_not_matured).map(([a, n]) => `${a} ${n}`).join(", ")}`))));
}

function ordinal(quantile) {
  return quantile === 0.5 ? "median" : `${Math.round(100 * quantile)}th percentile`;
}

function fmtInterval(iv, goal) {
  const f = (v) => v === null ? "∞" : goal === "revenue" ? money(v) : (100 * v).toFixed(1);
  return `[${f(iv[0])}, ${f(iv[1])}]${goal === "revenue" ? "" : " pts"}`;
}

async function refresh() {
  const q = query();
  const budget = document.getElementById("f-budget").value;
  const fq = new URLSearchParams(q); if (budget) fq.set("budget", budget);
  try {
    const [f, g, gr, ex] = await Promise.all([api("/v1/funnel?" + fq), api("/v1/groups?" + q),
      api("/v1/growth?" + q), api("/v1/experiments")]);
    renderFunnel(f); renderGroups(g); renderGrowth(gr); renderExperiments(ex);
    const cohorts = document.getElementById("f-cohort");
    if (cohorts.options.length === 1) {
      const all = await api("/v1/funnel?period=month");
      for (const r of all.periods) if (r.entered.visitor) cohorts.append(el("option", { value: r.period }, r.period));
    }
    document.getElementById("error").replaceChildren();
  } catch (err) {
    document.getElementById("error").replaceChildren(el("div", { class: "error" }, String(err.message || err)));
  }
}

for (const id of ["f-period", "f-cohort", "f-budget"]) document.getElementById(id).addEventListener("change", refresh);
refresh();
setInterval(refresh, REFRESH_MS * 6);
