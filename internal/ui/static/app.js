// sparkgate's web UI: each page renders itself from the REST API, with the browser's own
// credentials. Text from the server is only ever set as text (never as HTML).
"use strict";

const TERMINAL = ["success", "dead", "killed", "error"];
const STATEMENT_DONE = ["available", "error", "cancelled"];

// api calls the REST API as any client does; an error answer throws its Livy message.
async function api(method, path, body, headers) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", "X-Requested-By": "sparkgate-ui", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) throw new Error((data && data.msg) || `${method} ${path}: ${resp.status}`);
  return data;
}

// newRequestId is a random UUID (crypto.randomUUID needs a secure context; this does not).
function newRequestId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// el makes an element: el("td", {class: "x"}, "text", child, …).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function showError(err) {
  const box = document.getElementById("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// link is an anchor to an http(s) URL of the cluster's, or just the text for anything else.
const link = (url, text) => (/^https?:\/\//i.test(url || "") ? el("a", { href: url, rel: "noreferrer" }, text) : null);

const stateBadge = (s) => el("span", { class: `state state-${s}`, "data-state": s }, s);

function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

// every runs f now and then every ms (f may return a different interval), until the page goes.
function every(ms, f) {
  const tick = async () => {
    let next = ms;
    try { next = (await f()) || ms; } catch (e) { showError(e); }
    setTimeout(tick, next);
  };
  tick();
}

function setMain(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  return main;
}

// ---- lists ----------------------------------------------------------------------------

function listPage() {
  const pageSize = 20;
  const tables = {};
  const filters = { state: "", owner: "", name: "" };
  const form = el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); refresh(); } },
    el("label", {}, "State", el("select", { name: "state", onchange: (e) => { filters.state = e.target.value; reset(); } },
      ["", "starting", "running", "idle", "busy", "success", "dead", "killed", "error"].map((s) => el("option", { value: s }, s || "any")))),
    el("label", {}, "Owner", el("input", { name: "owner", placeholder: "user", oninput: (e) => { filters.owner = e.target.value.trim(); reset(); } })),
    el("label", {}, "Name", el("input", { name: "name", placeholder: "part of the name", oninput: (e) => { filters.name = e.target.value.trim(); reset(); } })));
  const sections = ["batches", "sessions"].map((kind) => {
    const t = { kind, from: 0, body: el("tbody", { id: `${kind}-rows` }), info: el("span", { class: "muted" }) };
    t.prev = el("button", { type: "button", onclick: () => { t.from = Math.max(0, t.from - pageSize); refresh(); } }, "‹ Previous");
    t.next = el("button", { type: "button", onclick: () => { t.from += pageSize; refresh(); } }, "Next ›");
    tables[kind] = t;
    const head = ["Id", "Name", "Owner", "Proxy user", "State", "Application", "Age", ""];
    if (kind === "sessions") head.splice(5, 0, "Kind");
    return el("section", { id: kind },
      el("h2", {}, kind === "batches" ? "Batches" : "Interactive sessions"),
      el("table", {}, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), t.body),
      el("div", { class: "pager" }, t.prev, t.next, t.info));
  });
  setMain(el("h1", {}, "Batches and sessions"), form, ...sections);

  function reset() { for (const t of Object.values(tables)) t.from = 0; refresh(); }
  async function refresh() {
    for (const t of Object.values(tables)) {
      const q = new URLSearchParams({ from: t.from, size: pageSize });
      for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
      const page = await api("GET", `/${t.kind}?${q}`);
      t.body.replaceChildren(...page.sessions.map((s) => row(t.kind, s)));
      if (!page.sessions.length) t.body.append(el("tr", {}, el("td", { colspan: 9, class: "muted" }, "None")));
      t.info.textContent = page.total ? `${t.from + 1}–${t.from + page.sessions.length} of ${page.total}` : "";
      t.prev.disabled = t.from === 0;
      t.next.disabled = t.from + page.sessions.length >= page.total;
    }
  }
  every(3000, refresh);
}

function row(kind, s) {
  const href = `/ui/${kind}/${s.id}`;
  const cells = [el("a", { href }, s.id), s.name || "", s.owner || "", s.proxyUser || "", stateBadge(s.state),
    (s.appInfo && link(s.appInfo.sparkUiUrl, s.appId || "Spark UI")) || s.appId || "",
    age(s.createdAt), deleteButton(kind, s)];
  if (kind === "sessions") cells.splice(5, 0, s.kind);
  return el("tr", { "data-id": s.id }, cells.map((c) => el("td", {}, c)));
}

function deleteButton(kind, s, after) {
  const noun = kind === "batches" ? "batch" : "session";
  const label = TERMINAL.includes(s.state) ? "Delete" : (kind === "batches" ? "Kill" : "Stop");
  return el("button", { type: "button", class: "danger", onclick: async (e) => {
    if (!confirm(`${label} ${noun} ${s.id}?`)) return;
    e.target.disabled = true;
    try { await api("DELETE", `/${kind}/${s.id}`); if (after) after(); else e.target.closest("tr").remove(); } catch (err) { showError(err); e.target.disabled = false; }
  } }, label);
}

function fieldsTable(pairs) {
  return el("table", { class: "fields" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
}

function appLinks(s) {
  const info = s.appInfo || {};
  return [link(info.sparkUiUrl, "Spark UI"), " ", link(info.driverLogUrl, "Driver log")];
}

// ---- a batch and its log ----------------------------------------------------------------

function batchPage(id) {
  const logSize = 200;
  const fields = el("div", { class: "card" });
  const log = el("pre", { class: "log", id: "log" });
  const info = el("span", { class: "muted" });
  let from = null; // null: follow the end (the live tail)
  let total = 0;
  const prev = el("button", { type: "button", onclick: () => { from = Math.max(0, (from === null ? Math.max(0, total - logSize) : from) - logSize); loadLog(); } }, "‹ Earlier");
  const next = el("button", { type: "button", onclick: () => { from = from === null ? null : from + logSize; if (from !== null && from + logSize >= total) from = null; loadLog(); } }, "Later ›");
  const tail = el("label", {}, el("input", { type: "checkbox", id: "tail", checked: true, onchange: (e) => { from = e.target.checked ? null : Math.max(0, total - logSize); loadLog(); } }), " live tail");
  setMain(el("h1", {}, `Batch ${id}`), fields, el("h2", {}, "Log"), el("div", { class: "pager" }, prev, next, tail, info), log);

  async function loadLog() {
    const q = from === null ? `size=${logSize}` : `from=${from}&size=${logSize}`;
    const page = await api("GET", `/batches/${id}/log?${q}`);
    total = page.total;
    log.textContent = page.log.join("\n");
    info.textContent = page.total ? `lines ${page.from + 1}–${page.from + page.log.length} of ${page.total}` : "no lines yet";
    document.getElementById("tail").checked = from === null;
    if (from === null) log.scrollTop = log.scrollHeight;
  }
  every(2000, async () => {
    const b = await api("GET", `/batches/${id}`);
    fields.replaceChildren(fieldsTable([["State", stateBadge(b.state)], ["Name", b.name], ["Owner", b.owner], ["Proxy user", b.proxyUser],
      ["Application", b.appId], ["Links", el("span", {}, appLinks(b))], ["Created", b.createdAt && new Date(b.createdAt).toLocaleString()]]),
    el("p", {}, deleteButton("batches", b, () => { location.href = "/ui/"; })));
    await loadLog();
    return TERMINAL.includes(b.state) ? 10000 : 2000;
  });
}

// ---- a session: a small notebook --------------------------------------------------------

const KINDS = { spark: "Scala", pyspark: "Python", sparkr: "R", sql: "SQL" };

function sessionPage(id) {
  const fields = el("div", { class: "card" });
  const list = el("div", { id: "statements" });
  const code = el("textarea", { id: "code", placeholder: "spark.range(5).show()   (Ctrl+Enter runs)", spellcheck: "false" });
  const kind = el("select", { id: "kind" });
  const run = el("button", { type: "button", class: "primary", id: "run", onclick: () => submit() }, "Run");
  code.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); } });
  setMain(el("h1", {}, `Session ${id}`), fields, el("h2", {}, "Statements"), list,
    el("div", { class: "card runbox" }, code, el("div", { class: "actions" }, run, kind, el("span", { class: "muted" }, "Ctrl+Enter"))));
  const shown = new Map(); // statement id → its element and last state
  let session = null;

  // The code sent last and its key, until it is known to have arrived: sending the same code
  // again after an error (a lost answer) reuses the key, so that it runs once.
  let pending = null;
  async function submit() {
    if (!code.value.trim() || run.disabled) return;
    run.disabled = true;
    const body = { code: code.value, kind: kind.value || null };
    if (!pending || pending.code !== body.code || pending.kind !== body.kind) pending = { ...body, key: newRequestId() };
    try {
      await api("PUT", `/sessions/${id}/statements`, body, { requestId: pending.key });
      pending = null;
      code.value = "";
      await refresh();
    } catch (e) { showError(e); } finally { run.disabled = false; }
  }
  async function refresh() {
    session = await api("GET", `/sessions/${id}`);
    fields.replaceChildren(fieldsTable([["State", stateBadge(session.state)], ["Kind", session.kind], ["Name", session.name], ["Owner", session.owner],
      ["Proxy user", session.proxyUser], ["Application", session.appId], ["Links", el("span", {}, appLinks(session))],
      ["Created", session.createdAt && new Date(session.createdAt).toLocaleString()]]),
    el("p", {}, deleteButton("sessions", session, () => { location.href = "/ui/"; })));
    const kinds = session.kind === "shared" ? Object.keys(KINDS) : [session.kind];
    if (kind.options.length !== kinds.length) kind.replaceChildren(...kinds.map((k) => el("option", { value: session.kind === "shared" ? k : "" }, KINDS[k] || k)));
    run.disabled = TERMINAL.includes(session.state);
    const page = await api("GET", `/sessions/${id}/statements?order=desc&size=100`);
    for (const st of page.statements.slice().reverse()) {
      const seen = shown.get(st.id);
      const key = `${st.state}|${st.progress}`;
      if (seen && seen.key === key) continue;
      const node = statement(st);
      if (seen) seen.node.replaceWith(node); else list.append(node);
      shown.set(st.id, { node, key });
    }
    return page.statements.some((s) => !STATEMENT_DONE.includes(s.state)) || !["idle", ...TERMINAL].includes(session.state) ? 1000 : 3000;
  }
  function statement(st) {
    const running = !STATEMENT_DONE.includes(st.state);
    return el("div", { class: "statement", "data-statement": st.id, "data-state": st.state },
      el("div", { class: "head" }, el("span", {}, `[${st.id}] `, stateBadge(st.state)),
        running ? el("button", { type: "button", class: "danger", onclick: async (e) => {
          e.target.disabled = true;
          try { await api("POST", `/sessions/${id}/statements/${st.id}/cancel`); await refresh(); } catch (err) { showError(err); }
        } }, "Cancel") : el("span", { class: "muted" }, st.completed ? `${((st.completed - st.started) / 1000).toFixed(1)} s` : "")),
      el("div", { class: "code" }, el("pre", {}, st.code)),
      running ? el("div", { class: "progress" }, el("div", { style: `width: ${Math.round((st.progress || 0) * 100)}%` })) : null,
      st.output ? el("div", { class: "output" }, renderOutput(st.output)) : null);
  }
  every(1000, refresh);
}

// renderOutput shows a statement's output as a person wants to see it: a table as a table,
// an image as an image, an error with its traceback, text as text.
function renderOutput(out) {
  if (out.status === "error") {
    return el("div", { class: "error-output" }, el("pre", {}, `${out.ename}: ${out.evalue}`), el("pre", {}, (out.traceback || []).join("")));
  }
  const data = out.data || {};
  if (data["application/vnd.livy.table.v1+json"]) {
    const t = data["application/vnd.livy.table.v1+json"];
    return table(t.headers.map((h) => h.name), t.data);
  }
  if (data["image/png"]) return el("img", { alt: "plot", src: `data:image/png;base64,${data["image/png"]}` });
  if (data["application/json"] !== undefined) {
    const v = data["application/json"];
    if (Array.isArray(v) && v.length && v.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
      const cols = [...new Set(v.flatMap(Object.keys))];
      return table(cols, v.map((r) => cols.map((c) => r[c])));
    }
    return el("pre", {}, JSON.stringify(v, null, 2));
  }
  return el("pre", {}, data["text/plain"] === undefined ? "" : data["text/plain"]);
}

function table(headers, rows) {
  const cell = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v === null ? "null" : String(v));
  return el("table", { class: "result" }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((v) => el("td", {}, cell(v)))))));
}

// ---- the server's status, and the API's reference ---------------------------------------

function statusPage() {
  every(3000, async () => {
    const s = await api("GET", "/ui/api/status");
    setMain(el("h1", {}, "Status"),
      el("div", { class: "card" }, fieldsTable([["Version", s.version], ["Store", s.store], ["This instance", s.instance],
        ["Launch queue", `${s.launchQueue} waiting`], ["Unfinished batches", s.activeBatches], ["Unfinished sessions", s.activeSessions]])),
      el("h2", {}, "Instances"),
      el("table", { id: "instances" }, el("thead", {}, el("tr", {}, ["Instance", "Address", "Lease until", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, s.instances.map((i) => el("tr", {}, el("td", {}, i.id), el("td", {}, i.addr), el("td", {}, new Date(i.leaseUntil).toLocaleString()),
          el("td", {}, el("span", { class: `state state-${i.alive ? "idle" : "dead"}` }, i.alive ? "alive" : "lease ended")))))));
  });
}

async function apiPage() {
  const doc = await api("GET", "/openapi.json");
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ["get", "post", "put", "delete"]) if (item[method]) ops.push({ path, method, op: item[method] });
  }
  const byTag = new Map();
  for (const o of ops) {
    const tag = (o.op.tags || ["other"])[0];
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag).push(o);
  }
  const order = (doc.tags || []).map((t) => t.name);
  const rank = (tag) => (order.includes(tag) ? order.indexOf(tag) : order.length);
  setMain(el("h1", {}, doc.info.title, " API ", el("span", { class: "muted" }, doc.info.version)),
    el("p", {}, doc.info.summary, " — ", el("a", { href: "/openapi.json" }, "openapi.json")),
    ...[...byTag].sort(([a], [b]) => rank(a) - rank(b)).map(([tag, list]) => el("section", { class: "card" }, el("h2", {}, tag),
      list.map((o) => el("div", { class: "op" }, el("span", { class: `method method-${o.method}` }, o.method.toUpperCase()), el("code", { class: "path" }, o.path),
        el("span", {}, o.op.summary || ""), o.op.description ? el("p", { class: "muted" }, o.op.description) : null)))));
}

const pages = { list: listPage, batch: batchPage, session: sessionPage, status: statusPage, api: apiPage };
document.addEventListener("DOMContentLoaded", () => {
  const page = pages[document.body.dataset.page];
  Promise.resolve(page && page(document.body.dataset.id)).catch(showError);
});
