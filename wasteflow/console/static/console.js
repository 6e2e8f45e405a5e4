/* wasteflow · the regulator's console. Plain browser JavaScript, no libraries, nothing from the internet.
 * Every figure comes from the public API, called with the key the user typed (kept in sessionStorage). */
"use strict";

const KEY = "wasteflow.key";
const MOVES = {  // wasteflow/findings/workflow.py
  open: ["acknowledged", "investigating", "dismissed"],
  acknowledged: ["investigating", "resolved", "dismissed"],
  investigating: ["resolved", "dismissed"],
  resolved: ["investigating"], dismissed: ["investigating"], withdrawn: [],
};
const CODES = ["ROUTE_DEVIATION", "UNAUTHORIZED_STOP", "LOAD_DROP", "DIVERSION", "RESTRICTED_ZONE_ENTRY",
  "IMPOSSIBLE_JUMP", "OVERDUE", "GPS_GAP", "NO_TRACK", "NEVER_ARRIVED", "TONNAGE_SHORTFALL", "TONNAGE_SURPLUS",
  "DECLARATION_MISMATCH", "ACCEPTANCE_MISMATCH", "MISSING_TICKET", "PLATE_MISMATCH", "DUPLICATE_TICKET",
  "CAPACITY_EXCEEDED"];
const state = { me: null, names: null, tz: "Asia/Shanghai" };

// --- small helpers ------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const child of children.flat(Infinity)) if (child) el.append(child instanceof Node ? child : document.createTextNode(child));
  return el;
}

const view = () => document.getElementById("view");
const kg = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US") + " kg");
const tonnes = (v) => (v === null || v === undefined ? "—" : (v / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 }) + " t");

function when(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (isNaN(d)) return value;
  return new Intl.DateTimeFormat("sv-SE", { timeZone: state.tz, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" }).format(d);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 3600) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

function chip(kind, value) { return h("span", { class: `chip ${kind}-${value}` }, value.replace("_", " ")); }

function toast(message, bad) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = "toast" + (bad ? " bad" : "");
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

class ApiError extends Error {
  constructor(status, body) { super((body && (body.detail || body.title)) || `HTTP ${status}`); this.status = status; }
}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY);
  const headers = Object.assign({ Authorization: `Bearer ${key}` }, options.body ? { "Content-Type": "application/json" } : {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { logout("Your key was not accepted: log in again."); throw new ApiError(401); }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

async function download(path, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` } });
  if (!response.ok) { toast(`Export failed (HTTP ${response.status})`, true); return; }
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, download: filename });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const text = q.toString();
  return text ? "?" + text : "";
}

function hashParams() {
  const [, search] = location.hash.split("?");
  return Object.fromEntries(new URLSearchParams(search || ""));
}

// Every item of a cursor-paginated list, page after page.
async function everyItem(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path + query({ cursor, limit: 500 }));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

async function names() {
  if (!state.names) {
    const [enterprises, sites] = await Promise.all([everyItem("/v1/enterprises"), everyItem("/v1/sites")]);
    state.names = { enterprise: Object.fromEntries(enterprises.map((e) => [e.id, e.name])),
                    site: Object.fromEntries(sites.map((x) => [x.id, x.name])) };
  }
  return state.names;
}

// --- log in -------------------------------------------------------------------------------------

function logout(message) {
  sessionStorage.removeItem(KEY);
  state.me = null; state.names = null;
  location.hash = "#/login";
  if (message) toast(message, true);
}

function renderLogin() {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", placeholder: "wf_…", required: true, size: 48 });
  const error = h("p", { class: "error", id: "login-error" });
  const form = h("form", { class: "card login", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    const response = await fetch("/console/me", { headers: { Authorization: `Bearer ${input.value.trim()}` } });
    if (!response.ok) { error.textContent = "That key was not accepted."; return; }
    const me = await response.json();
    if (!me.oversight) { error.textContent = "This console is for regulators: an enterprise key cannot use it."; return; }
    sessionStorage.setItem(KEY, input.value.trim());
    state.me = me; state.tz = me.timezone;
    location.hash = "#/findings";
  } },
  h("h1", {}, "Log in"),
  h("p", { class: "muted" }, "Paste your API key. It stays in this browser tab only and is forgotten when the tab closes."),
  h("label", { for: "key" }, "API key"), input, error,
  h("button", { type: "submit", id: "login" }, "Log in"));
  view().replaceChildren(form);
  input.focus();
}

// --- findings queue -----------------------------------------------------------------------------

async function renderFindings() {
  const p = hashParams();
  const select = (name, values, label) => h("label", {}, label,
    h("select", { name, id: `filter-${name}` }, h("option", { value: "" }, "any"),
      values.map((v) => h("option", { value: v, selected: p[name] === v }, v))));
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = "#/findings" + query(data);
  } },
  select("code", CODES, "Code"), select("severity", ["critical", "warning", "info"], "Severity"),
  select("status", ["open", "acknowledged", "investigating", "resolved", "dismissed", "withdrawn"], "Status"),
  h("label", {}, "Manifest", h("input", { name: "manifest_no", value: p.manifest_no || "", placeholder: "WF-…", size: 26 })),
  h("button", { type: "submit", id: "apply" }, "Apply"));
  const body = h("tbody");
  const table = h("table", { class: "grid", id: "findings" },
    h("thead", {}, h("tr", {}, ["#", "Code", "Severity", "Status", "Manifest", "Plate", "When", "Region"].map((t) => h("th", {}, t)))),
    body);
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  view().replaceChildren(h("section", {}, h("div", { class: "head" }, h("h1", {}, "Findings"),
    h("p", { class: "muted" }, "The queue, newest first. Open a finding to see its trip and work it.")), form, table, more));
  let cursor = null;
  const load = async () => {
    const page = await api("/v1/findings" + query(Object.assign({}, p, { cursor, limit: 50 })));
    for (const f of page.items) {
      const open = () => { location.hash = `#/finding/${f.id}`; };
      body.append(h("tr", { class: "clickable", "data-finding": f.id, onclick: open },
        h("td", {}, h("a", { href: `#/finding/${f.id}` }, f.id)), h("td", { class: "code" }, f.code),
        h("td", {}, chip("sev", f.severity)), h("td", {}, chip("st", f.status)),
        h("td", { class: "mono" }, f.manifest_no || (f.site_id ? `site ${f.site_id}` : "—")),
        h("td", {}, f.plate || "—"), h("td", {}, when(f.window.start)), h("td", {}, f.region_code)));
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No findings match.")));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", load);
  await load();
}

// --- one finding --------------------------------------------------------------------------------

function evidenceList(evidence) {
  const entries = Object.entries(evidence || {});
  if (!entries.length) return h("p", { class: "muted" }, "No evidence recorded.");
  const show = (v) => {
    if (v === null || typeof v !== "object") return String(v);
    if (Array.isArray(v) && v.length > 3) return `${v.length} items`;
    const text = JSON.stringify(v);
    return text.length > 90 ? text.slice(0, 87) + "…" : text;
  };
  return h("dl", { class: "facts evidence" }, entries.map(([k, v]) => [h("dt", {}, k.replaceAll("_", " ")), h("dd", { class: "mono" }, show(v))]));
}

function historyTable(history) {
  return h("table", { class: "grid compact", id: "history" },
    h("thead", {}, h("tr", {}, ["When", "Who", "Move", "Note"].map((t) => h("th", {}, t)))),
    h("tbody", {}, history.map((e) => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, e.by),
      h("td", {}, e.from ? `${e.from} → ${e.status}` : e.status), h("td", {}, e.note)))));
}

async function renderFinding(id) {
  const f = await api(`/v1/findings/${encodeURIComponent(id)}`);
  const moves = MOVES[f.status] || [];
  const note = h("textarea", { id: "note", rows: 3, placeholder: "Why (required): what you checked, whom you called…" });
  const buttons = moves.map((target) => h("button", { type: "button", "data-move": target, class: `move move-${target}`,
    onclick: async () => {
      if (!note.value.trim()) { toast("Write a note: every move carries one.", true); note.focus(); return; }
      try {
        await api(`/v1/findings/${f.id}`, { method: "PATCH", body: JSON.stringify({ status: target, note: note.value.trim() }) });
        toast(`Finding ${f.id} is now ${target}.`);
        await renderFinding(id);
      } catch (err) { toast(err.message, true); }
    } }, target));
  const left = h("div", { class: "col" },
    h("div", { class: "card" },
      h("div", { class: "title-row" }, h("h1", {}, f.code.replaceAll("_", " ")), chip("sev", f.severity),
        h("span", { id: "finding-status" }, chip("st", f.status))),
      h("dl", { class: "facts" },
        h("dt", {}, "Finding"), h("dd", {}, `#${f.id}`),
        h("dt", {}, "Manifest"), h("dd", {}, f.manifest_no ? h("a", { href: `#/manifest/${f.manifest_no}`, class: "mono" }, f.manifest_no) : "—"),
        h("dt", {}, "Plate"), h("dd", {}, f.plate || "—"),
        h("dt", {}, "Window"), h("dd", {}, `${when(f.window.start)} → ${when(f.window.end)}`),
        h("dt", {}, "Region"), h("dd", {}, f.region_code),
        h("dt", {}, "Verified"), h("dd", {}, f.verified ? "yes — signed devices only" : "no")),
      h("h2", {}, "Evidence"), evidenceList(f.evidence)),
    h("div", { class: "card" }, h("h2", {}, "Work it"),
      moves.length ? [note, h("div", { class: "moves" }, buttons)]
        : h("p", { class: "muted" }, f.status === "withdrawn" ? "Withdrawn by the system: nothing to do." : "No move is open.")),
    h("div", { class: "card" }, h("h2", {}, "History"), historyTable(f.history)));
  const right = h("div", { class: "col wide" });
  view().replaceChildren(h("p", {}, h("a", { href: "#/findings" }, "← Findings")), h("div", { class: "split" }, left, right));
  if (f.manifest_no) {
    right.append(h("div", { class: "card" }, h("h2", {}, "The trip"), h("p", { class: "muted" }, "Loading the track…")));
    const track = await api(`/v1/manifests/${encodeURIComponent(f.manifest_no)}/track`);
    right.replaceChildren(h("div", { class: "card" }, h("h2", {}, "The trip"), trackPicture(track, f.id), legend()));
  }
}

// --- a manifest ---------------------------------------------------------------------------------

async function renderManifest(no) {
  const enc = encodeURIComponent(no);
  const [m, track, ledger, n, revisions, versions] = await Promise.all([api(`/v1/manifests/${enc}`),
    api(`/v1/manifests/${enc}/track`), api(`/v1/manifests/${enc}/ledger`), names(),
    api(`/v1/revisions?manifest_no=${enc}&limit=100`), api(`/v1/manifests/${enc}/versions`)]);
  const dep = m.departure_ticket, arr = m.arrival_ticket;
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Status"), h("dd", {}, chip("ms", m.status)),
    h("dt", {}, "Waste"), h("dd", {}, m.waste_code),
    h("dt", {}, "Generator"), h("dd", {}, n.enterprise[m.generator_id] || `#${m.generator_id}`),
    h("dt", {}, "Vehicle"), h("dd", {}, m.vehicle_plate),
    h("dt", {}, "Receiver"), h("dd", {}, `${n.enterprise[m.receiver_id] || "#" + m.receiver_id} · ${n.site[m.receiver_site_id] || "site " + m.receiver_site_id}`),
    h("dt", {}, "Dispatched"), h("dd", {}, when(m.dispatched_at)),
    h("dt", {}, "Received"), h("dd", {}, when(m.received_at || m.rejected_at)),
    h("dt", {}, "Version"), h("dd", {}, `v${m.version}`),
    ...(m.parent_manifest_no ? [h("dt", {}, "Follow-up of"), h("dd", { id: "parent" }, `${m.kind} of `,
      h("a", { href: `#/manifest/${m.parent_manifest_no}`, class: "mono" }, m.parent_manifest_no))] : []));
  const weights = h("table", { class: "grid compact weights" },
    h("thead", {}, h("tr", {}, ["Declared", "Departed", "Received", "Accepted", "Refused"].map((t) => h("th", {}, t)))),
    h("tbody", {}, h("tr", {}, [m.declared_kg, dep && dep.net_kg, arr && arr.net_kg, m.accepted_kg, m.refused_kg].map((v) => h("td", { class: "num" }, kg(v))))));
  const findings = h("ul", { class: "findings" }, m.findings.length ? m.findings.map((f) => h("li", {},
    h("a", { href: `#/finding/${f.id}` }, `#${f.id} ${f.code}`), " ", chip("sev", f.severity), " ", chip("st", f.status)))
    : h("li", { class: "muted" }, "No findings."));
  const entries = h("table", { class: "grid compact", id: "ledger" },
    h("thead", {}, h("tr", {}, ["#", "Event time", "Kind", "By", "What", "Hash"].map((t) => h("th", {}, t)))),
    h("tbody", {}, ledger.entries.map((e) => h("tr", {}, h("td", { class: "num" }, e.seq), h("td", {}, when(e.at)),
      h("td", { class: "mono" }, e.kind), h("td", {}, e.body.by || "system"), h("td", {}, ledgerWhat(e)),
      h("td", { class: "mono hash", title: e.hash }, e.hash.slice(0, 12) + "…")))));
  view().replaceChildren(
    h("p", {}, h("a", { href: "#/findings" }, "← Findings")),
    h("div", { class: "title-row" }, h("h1", { class: "mono" }, m.manifest_no)),
    h("div", { class: "split" },
      h("div", { class: "col" }, h("div", { class: "card" }, h("h2", {}, "Manifest"), facts, weights),
        legsCard(m, n), refusalCard(m),
        h("div", { class: "card" }, h("h2", {}, "Findings"), findings)),
      h("div", { class: "col wide" }, h("div", { class: "card" }, h("h2", {}, "The trip"), trackPicture(track, null), legend()))),
    revisionsCard(revisions.items, versions, n),
    h("div", { class: "card" }, h("h2", {}, "Ledger history"),
      h("p", { class: "muted" }, "Every entry naming this manifest, in chain order; check them offline against a full export (python -m wasteflow.ledger_verify)."),
      entries));
}

function legsCard(m, n) {
  const rows = m.legs.map((l) => h("tr", { class: l.status },
    h("td", { class: "num" }, l.leg), h("td", {}, n.enterprise[l.transporter_id] || `#${l.transporter_id}`),
    h("td", { class: "mono" }, l.vehicle_plate), h("td", {}, when(l.started_at)),
    h("td", {}, l.handover_site_id ? (n.site[l.handover_site_id] || `site ${l.handover_site_id}`) : "—"),
    h("td", {}, l.handover_ticket_no || "—"), h("td", {}, l.status)));
  return h("div", { class: "card", id: "legs" }, h("h2", {}, m.legs.length > 1 ? `Transport: ${m.legs.length} legs` : "Transport"),
    h("table", { class: "grid compact" },
      h("thead", {}, h("tr", {}, ["Leg", "Transporter", "Vehicle", "Since", "Handed over at", "Ticket", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

function refusalCard(m) {
  if (!m.refused_kg && m.status !== "rejected" && !m.follow_ups.length) return h("div", { hidden: true });
  const what = m.status === "rejected" ? `Rejected whole: ${m.reject_reason || ""}`
    : `Refused ${kg(m.refused_kg)}: ${m.refusal_reason || ""}`;
  const list = m.follow_ups.length ? h("ul", {}, m.follow_ups.map((f) => h("li", {},
    h("a", { href: `#/manifest/${f.manifest_no}`, class: "mono" }, f.manifest_no), ` ${f.kind} · ${kg(f.declared_kg)} · `,
    chip("ms", f.status)))) : h("p", { class: "muted" }, "No follow-up manifest yet.");
  return h("div", { class: "card", id: "refusal" }, h("h2", {}, "Refusal and follow-ups"), h("p", {}, what), list);
}

function revisionsCard(items, versions, n) {
  const rows = items.map((r) => h("tr", {},
    h("td", { class: "num" }, `#${r.id}`), h("td", {}, when(r.proposed_at)),
    h("td", {}, n.enterprise[r.proposed_by] || `#${r.proposed_by}`),
    h("td", {}, Object.keys(r.changes).map((k) => `${k}: ${r.previous[k] ?? "—"} → ${r.changes[k]}`).join("; ")),
    h("td", {}, r.reason), h("td", {}, chip("st", r.status)),
    h("td", {}, r.approvals.map((a) => `${n.enterprise[a.enterprise_id] || "#" + a.enterprise_id}: ${a.decision}`).join(", "))));
  const old = versions.items.map((v) => h("li", {}, `v${v.version} (replaced ${when(v.replaced_at)} by #${v.revision_id}): `,
    Object.entries(v.values).filter(([k]) => !["version", "status"].includes(k)).map(([k, val]) => `${k} ${val ?? "—"}`).join(", ")));
  return h("div", { class: "card", id: "revisions" }, h("h2", {}, "Revisions"),
    rows.length ? h("table", { class: "grid compact" },
      h("thead", {}, h("tr", {}, ["", "Proposed", "By", "Change (old → new)", "Reason", "Status", "Approvals"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)) : h("p", { class: "muted" }, "No revisions."),
    old.length ? h("div", {}, h("h3", {}, "Earlier versions"), h("ul", {}, old)) : h("div", { hidden: true }));
}

function ledgerWhat(e) {
  const b = e.body || {};
  const parts = [];
  if (b.finding_id) parts.push(`finding #${b.finding_id} ${b.code || ""}`.trim());
  if (b.accepted_kg !== undefined) parts.push(`accepted ${kg(b.accepted_kg)}`);
  if (b.refused_kg) parts.push(`refused ${kg(b.refused_kg)}`);
  if (b.leg) parts.push(`leg ${b.leg}${b.vehicle_plate ? " " + b.vehicle_plate : ""}`);
  if (b.revision_id) parts.push(`revision #${b.revision_id}${b.version ? " → v" + b.version : ""}`);
  if (b.declared_kg !== undefined) parts.push(`declared ${kg(b.declared_kg)}`);
  for (const k of ["departure_ticket_no", "arrival_ticket_no", "ticket_no"]) if (b[k]) parts.push(`ticket ${b[k]}`);
  if (b.reason) parts.push(b.reason);
  if (b.note && b.note !== "raised") parts.push(`“${b.note}”`);
  if (Array.isArray(b.findings)) parts.push(b.findings.length ? b.findings.join(", ") : "no findings");
  return parts.join(" · ") || "—";
}

// --- the track, drawn -------------------------------------------------------------------------

const W = 760, HGT = 460, PAD = 28, PADX = 80;

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates[0]];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => p[0]);
  return [];
}

function trackPicture(collection, highlight) {
  const features = collection.features || [];
  const pts = [];
  for (const f of features) {
    const g = f.geometry;
    if (!g) continue;
    if (g.type === "Point") pts.push(g.coordinates);
    else if (g.type === "LineString") pts.push(...g.coordinates);
    else rings(g).forEach((r) => pts.push(...r));
  }
  const svg = s("svg", { viewBox: `0 0 ${W} ${HGT}`, class: "track", id: "track-svg", role: "img",
    "aria-label": `Track of ${collection.manifest_no}` });
  svg.append(s("rect", { x: 0, y: 0, width: W, height: HGT, class: "bg" }));
  if (!pts.length) { svg.append(s("text", { x: W / 2, y: HGT / 2, class: "empty", "text-anchor": "middle" }, "Nothing to draw")); return svg; }
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of pts) { minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon); minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat); }
  const cos = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * cos, 1e-4), spanY = Math.max(maxLat - minLat, 1e-4);
  const k = Math.min((W - 2 * PADX) / spanX, (HGT - 2 * PAD - 20) / spanY);
  const ox = (W - spanX * k) / 2, oy = (HGT - 20 - spanY * k) / 2;
  const x = (lon) => (ox + (lon - minLon) * cos * k).toFixed(1);
  const y = (lat) => (oy + (maxLat - lat) * k).toFixed(1);
  const path = (coords) => coords.map(([lon, lat], i) => `${i ? "L" : "M"}${x(lon)} ${y(lat)}`).join(" ");
  const metresPerPx = 111320 / k;
  const layer = (name) => { const g = s("g", { class: name }); svg.append(g); return g; };
  const areas = layer("areas"), corridor = layer("corridor"), line = layer("line"), marks = layer("marks"), labels = layer("labels");

  for (const f of features.filter((f) => f.properties.kind === "site" || f.properties.kind === "zone")) {
    const role = f.properties.role;
    for (const ring of rings(f.geometry)) {
      areas.append(s("path", { d: path(ring) + " Z", class: `area ${f.properties.kind} role-${role}` },
        s("title", {}, `${f.properties.name} (${role.replace("_", " ")})`)));
      const cx = ring.reduce((a, p) => a + p[0], 0) / ring.length, cy = ring.reduce((a, p) => a + p[1], 0) / ring.length;
      labels.append(s("text", { x: x(cx), y: (Number(y(Math.max(...ring.map((p) => p[1])))) - 6).toFixed(1), class: `label role-${role}`, "text-anchor": "middle" }, f.properties.name));
      void cy;
    }
  }
  for (const f of features.filter((f) => f.properties.kind === "route")) {
    const width = Math.max(2 * (f.properties.corridor_m || 500) / metresPerPx, 3);
    corridor.append(s("path", { d: path(f.geometry.coordinates), class: "corridor", "stroke-width": width.toFixed(1) },
      s("title", {}, `Planned route, corridor ±${f.properties.corridor_m} m`)));
    corridor.append(s("path", { d: path(f.geometry.coordinates), class: "route" }));
  }
  const fixes = features.filter((f) => f.properties.kind === "fix");
  if (fixes.length > 1) {
    line.append(s("polyline", { id: "track-line", class: "trackline",
      points: fixes.map((f) => `${x(f.geometry.coordinates[0])},${y(f.geometry.coordinates[1])}`).join(" ") },
      s("title", {}, `${fixes.length} fixes, ${when(fixes[0].properties.ts)} → ${when(fixes[fixes.length - 1].properties.ts)}`)));
  }
  for (const f of fixes) {
    line.append(s("circle", { cx: x(f.geometry.coordinates[0]), cy: y(f.geometry.coordinates[1]), r: 2.2,
      class: f.properties.verified ? "fix" : "fix unverified" }, s("title", {}, `${when(f.properties.ts)} · ${f.properties.speed_kmh ?? "?"} km/h`)));
  }
  if (fixes.length) {
    const [a, b] = [fixes[0], fixes[fixes.length - 1]];
    marks.append(s("circle", { cx: x(a.geometry.coordinates[0]), cy: y(a.geometry.coordinates[1]), r: 5, class: "start" }, s("title", {}, "first fix")));
    marks.append(s("circle", { cx: x(b.geometry.coordinates[0]), cy: y(b.geometry.coordinates[1]), r: 5, class: "end" }, s("title", {}, "last fix")));
  }
  for (const f of features.filter((f) => f.properties.kind === "stop")) {
    const [lon, lat] = f.geometry.coordinates;
    marks.append(s("circle", { cx: x(lon), cy: y(lat), r: 12, class: "stop" },
      s("title", {}, `Stop ${Math.round(f.properties.duration_s / 60)} min, ${when(f.properties.start)}`)));
  }
  const placed = [];  // label boxes already drawn, so findings at one place do not overprint each other
  const findingFeatures = features.filter((f) => f.properties.kind === "finding")
    .sort((a, b) => (a.properties.id === highlight) - (b.properties.id === highlight));
  for (const f of findingFeatures) {
    const [lon, lat] = f.geometry.coordinates;
    const cx = Number(x(lon)), r = f.properties.id === highlight ? 11 : 8;
    let cy = Number(y(lat));
    const labelWidth = f.properties.code.length * 7;
    let ly = cy + 4;
    while (placed.some((b) => Math.abs(b.y - ly) < 14 && cx + r + 3 < b.x + b.w && b.x < cx + r + 3 + labelWidth)) ly += 15;
    placed.push({ x: cx + r + 3, y: ly, w: labelWidth });
    const g = s("g", { class: `finding sev-${f.properties.severity}${f.properties.id === highlight ? " current" : ""}`, "data-finding": f.properties.id });
    g.append(s("path", { d: `M${cx} ${cy - r} L${cx + r} ${cy + r * 0.8} L${cx - r} ${cy + r * 0.8} Z` },
      s("title", {}, `#${f.properties.id} ${f.properties.code} (${f.properties.status})`)));
    g.append(s("text", { x: cx + r + 3, y: ly, class: "flabel" }, f.properties.code.replaceAll("_", " ")));
    marks.append(g);
  }
  // scale bar: a round number of metres near 120 px
  const target = metresPerPx * 120, pow = Math.pow(10, Math.floor(Math.log10(target)));
  const metres = [1, 2, 5, 10].map((m) => m * pow).filter((m) => m <= target).pop() || pow;
  const px = metres / metresPerPx;
  const sb = s("g", { class: "scale", transform: `translate(${PAD},${HGT - 14})` },
    s("path", { d: `M0 -6 V0 H${px.toFixed(1)} V-6` }),
    s("text", { x: (px + 6).toFixed(1), y: 0 }, metres >= 1000 ? `${metres / 1000} km` : `${metres} m`));
  svg.append(sb);
  svg.append(s("g", { class: "north", transform: `translate(${W - 24},${HGT - 40})` },
    s("path", { d: "M0 -14 L6 4 L0 0 L-6 4 Z" }), s("text", { x: 0, y: 18, "text-anchor": "middle" }, "N")));
  return svg;
}

function legend() {
  const item = (cls, text) => h("span", { class: "key" }, h("i", { class: cls }), text);
  return h("div", { class: "legend" }, item("k-generator", "generator site"), item("k-receiver", "receiving site"),
    item("k-other", "other site / zone"), item("k-corridor", "planned route & corridor"), item("k-track", "track (GPS fixes)"),
    item("k-stop", "stop"), item("k-finding", "finding"));
}

// --- flows and balances -------------------------------------------------------------------------

function defaultRange() {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth(), 1);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return { from: iso(first), to: iso(now) };
}

async function renderFlows() {
  const p = Object.assign({ period: "day" }, defaultRange(), hashParams());
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    location.hash = "#/flows" + query(Object.fromEntries(new FormData(form)));
  } },
  h("label", {}, "Period", h("select", { name: "period", id: "period" }, ["day", "month", "year"].map((v) => h("option", { value: v, selected: p.period === v }, v)))),
  h("label", {}, "From", h("input", { type: "date", name: "from", value: p.from || "" })),
  h("label", {}, "To", h("input", { type: "date", name: "to", value: p.to || "" })),
  h("label", {}, "Region", h("input", { name: "region", value: p.region || "", placeholder: "e.g. 1502", size: 8 })),
  h("button", { type: "submit" }, "Show"));
  const params = { period: p.period, from: p.from, to: p.to, region: p.region };
  const year = (p.to || p.from || "").slice(0, 4) || String(new Date().getFullYear());
  const [flows, capacity, n] = await Promise.all([api("/v1/flows" + query(params)),
    api("/v1/flows/capacity" + query({ year, region: p.region })), names()]);
  const total = flows.items.reduce((a, i) => ({ m: a.m + i.manifests, acc: a.acc + i.accepted_kg, dep: a.dep + i.departed_kg }), { m: 0, acc: 0, dep: 0 });
  const card = (label, value, note, cls) => h("div", { class: `stat ${cls || ""}` }, h("div", { class: "v" }, value), h("div", { class: "l" }, label), h("div", { class: "n" }, note));
  const rows = flows.items.map((i) => h("tr", {}, h("td", {}, i.period), h("td", {}, n.enterprise[i.generator_id] || `#${i.generator_id}`),
    h("td", {}, `${n.enterprise[i.receiver_id] || "#" + i.receiver_id} · ${n.site[i.receiver_site_id] || "site " + i.receiver_site_id}`),
    h("td", {}, i.waste_code), h("td", { class: "num" }, i.manifests), h("td", { class: "num" }, tonnes(i.departed_kg)),
    h("td", { class: "num" }, tonnes(i.received_kg)), h("td", { class: "num" }, tonnes(i.accepted_kg)),
    h("td", { class: "num" }, kg(i.accepted_kg - i.departed_kg))));
  const caps = capacity.items.map((c) => {
    const share = c.share_used === null ? null : Math.min(c.share_used, 1);
    return h("tr", {}, h("td", {}, c.site_name), h("td", {}, c.receiver_name), h("td", { class: "num" }, tonnes(c.accepted_kg)),
      h("td", { class: "num" }, tonnes(c.annual_capacity_kg)),
      h("td", {}, share === null ? "no permit figure" : h("div", { class: "meter" + (c.exceeded ? " over" : "") },
        h("b", { style: null, "data-share": share }), h("span", {}, `${(c.share_used * 100).toFixed(c.share_used < 0.01 ? 2 : 1)} %`))));
  });
  const exportQuery = query(params);
  view().replaceChildren(h("section", {},
    h("div", { class: "head" }, h("h1", {}, "Flows"), h("p", { class: "muted" },
      `Reconciled manifests only, by the receipt's local ${p.period} (${flows.timezone}).`)), form,
    h("div", { class: "stats" },
      card("accepted", tonnes(total.acc), `${total.m} reconciled manifest${total.m === 1 ? "" : "s"}`),
      card("departed", tonnes(total.dep), "departure weighbridge net"),
      card("in transit", tonnes(flows.in_transit_kg), `${flows.in_transit_manifests} manifest${flows.in_transit_manifests === 1 ? "" : "s"} under way`, "warn"),
      card("disputed", tonnes(flows.disputed_kg), `${flows.disputed_manifests} rejected or with an open tonnage finding`, "bad")),
    h("table", { class: "grid", id: "flows" }, h("thead", {}, h("tr", {}, ["Period", "Generator", "Receiver · site", "Waste", "Manifests", "Departed", "Received", "Accepted", "Accepted − departed"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No reconciled manifest in this window.")))),
    h("div", { class: "exports" }, h("span", { class: "muted" }, "Export: "),
      h("button", { type: "button", class: "secondary", onclick: () => download("/v1/exports/flows.csv" + exportQuery, "flows.csv") }, "flows.csv"),
      h("button", { type: "button", class: "secondary", onclick: () => download("/v1/exports/manifests.csv" + query({ from: p.from, to: p.to, region: p.region }), "manifests.csv") }, "manifests.csv"),
      h("button", { type: "button", class: "secondary", onclick: () => download("/v1/exports/manifests.geojson" + query({ from: p.from, to: p.to, region: p.region }), "manifests.geojson") }, "manifests.geojson"),
      h("button", { type: "button", class: "secondary", onclick: () => download("/v1/exports/tracks.geojson" + query({ from: p.from, to: p.to, region: p.region }), "tracks.geojson") }, "tracks.geojson")),
    h("h2", {}, `Receiving sites: ${capacity.year} intake against permitted capacity`),
    h("table", { class: "grid", id: "capacity" }, h("thead", {}, h("tr", {}, ["Site", "Receiver", "Accepted", "Capacity", "Used"].map((t) => h("th", {}, t)))),
      h("tbody", {}, caps.length ? caps : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No receiving site."))))));
  for (const bar of document.querySelectorAll(".meter b")) bar.style.width = `${Number(bar.dataset.share) * 100}%`;
}

// --- case figures -------------------------------------------------------------------------------

async function renderCases() {
  const p = Object.assign({ period: "month" }, hashParams());
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    location.hash = "#/cases" + query(Object.fromEntries(new FormData(form)));
  } },
  h("label", {}, "Period", h("select", { name: "period" }, ["day", "month", "year"].map((v) => h("option", { value: v, selected: p.period === v }, v)))),
  h("label", {}, "From", h("input", { type: "date", name: "from", value: p.from || "" })),
  h("label", {}, "To", h("input", { type: "date", name: "to", value: p.to || "" })),
  h("label", {}, "Region", h("input", { name: "region", value: p.region || "", size: 8 })),
  h("button", { type: "submit" }, "Show"));
  const stats = await api("/v1/findings/stats" + query(p));
  view().replaceChildren(h("section", {}, h("div", { class: "head" }, h("h1", {}, "Case figures"),
    h("p", { class: "muted" }, "Findings raised per period and region (withdrawn ones never count), and how they were worked.")), form,
    h("table", { class: "grid", id: "cases" }, h("thead", {}, h("tr", {}, ["Period", "Region", "Raised", "Acknowledged", "Resolved", "Dismissed", "Still open", "Share closed", "Median time to close"].map((t) => h("th", {}, t)))),
      h("tbody", {}, stats.items.length ? stats.items.map((i) => h("tr", {}, h("td", {}, i.period), h("td", {}, i.region_code),
        [i.raised, i.acknowledged, i.resolved, i.dismissed, i.open].map((v) => h("td", { class: "num" }, v)),
        h("td", { class: "num" }, i.share_closed === null ? "—" : `${(i.share_closed * 100).toFixed(0)} %`),
        h("td", { class: "num" }, duration(i.median_time_to_close_s)))) : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No findings in this window."))))));
}

// --- routing ------------------------------------------------------------------------------------

async function route() {
  const key = sessionStorage.getItem(KEY);
  const [path] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  document.getElementById("nav").hidden = !key;
  if (!key || parts[0] === "login") { renderLogin(); return; }
  if (!state.me) {
    try { state.me = await api("/console/me"); state.tz = state.me.timezone; } catch (err) { return; }
  }
  document.getElementById("who").textContent = `${state.me.name}${state.me.regions.length ? " · " + state.me.regions.join(", ") : ""}`;
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === (parts[0] || "findings"));
  view().replaceChildren(h("p", { class: "muted loading" }, "Loading…"));
  delete document.body.dataset.loaded;
  try {
    if (parts[0] === "finding" && parts[1]) await renderFinding(parts[1]);
    else if (parts[0] === "manifest" && parts[1]) await renderManifest(decodeURIComponent(parts[1]));
    else if (parts[0] === "flows") await renderFlows();
    else if (parts[0] === "cases") await renderCases();
    else await renderFindings();
    document.body.dataset.loaded = location.hash;  // lets tests (and people) tell a finished page
  } catch (err) {
    if (err.status !== 401) view().replaceChildren(h("div", { class: "card" }, h("h1", {}, "Could not load this page"), h("p", { class: "error" }, err.message)));
  }
}

document.getElementById("logout").addEventListener("click", () => logout());
window.addEventListener("hashchange", route);
route();
