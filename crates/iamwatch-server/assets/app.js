// iamwatch dashboard: lists incidents from the API and keeps them live over the WebSocket.
// Plain DOM, no framework. Every value from an incident is attacker-influenced (CloudTrail
// carries user-chosen names), so text only ever goes in through textContent.
"use strict";

const TEXT = {
  en: {
    connecting: "Connecting…", connected: "Live", disconnected: "Disconnected — retrying",
    needToken: "Waiting for a token", refused: "Token refused",
    tokenPrompt: "API token", connect: "Connect", forgetToken: "Forget token", badToken: "That token was refused.",
    chartTitle: "Incidents over time", allSeverities: "All severities", allStatuses: "All statuses",
    searchPlaceholder: "Search title, resource, API, IP…", colTime: "Time", colSeverity: "Severity",
    colTitle: "Incident", colActor: "Actor", colIp: "IP", colStatus: "Status",
    empty: "No incidents yet. They appear here the moment they are detected.", loadMore: "Load older incidents",
    ack: "Acknowledge", resolve: "Resolve", falsePositive: "False positive",
    runbook: "First steps", history: "History", rawEvent: "Raw event", shown: (n) => `${n} shown`,
    fields: { event: "Event", api: "API", resource: "Resource", account: "Account", region: "Region",
      actor: "Actor", device: "Device", userAgent: "User agent", ip: "IP", accessKey: "Access key",
      rule: "Rules", reasons: "Why", tags: "ATT&CK", error: "Error", mfa: "MFA used", assignee: "Assignee",
      related: "Made of", notes: "Notes" },
    severity: { CRITICAL: "Critical", HIGH: "High", MEDIUM: "Medium", LOW: "Low" },
    status: { NEW: "New", ACKNOWLEDGED: "Acknowledged", RESOLVED: "Resolved", FALSE_POSITIVE: "False positive" },
    by: "by", yes: "yes", no: "no",
    postureTitle: "IAM posture", colRisk: "Risk", colPrincipal: "Principal", colFindings: "Findings",
    postureWhen: (time) => `scanned ${time}`, postureFailed: (error) => `The last scan failed: ${error}`,
    kind: { user: "user", role: "role", root: "root" },
  },
  ko: {
    connecting: "연결 중…", connected: "실시간", disconnected: "연결 끊김 — 재시도 중",
    needToken: "토큰 입력 대기", refused: "토큰 거부됨",
    tokenPrompt: "API 토큰", connect: "연결", forgetToken: "토큰 지우기", badToken: "토큰이 거부되었습니다.",
    chartTitle: "시간대별 인시던트", allSeverities: "모든 심각도", allStatuses: "모든 상태",
    searchPlaceholder: "제목, 리소스, API, IP 검색…", colTime: "시각", colSeverity: "심각도",
    colTitle: "인시던트", colActor: "수행자", colIp: "IP", colStatus: "상태",
    empty: "아직 인시던트가 없습니다. 탐지되는 즉시 여기에 표시됩니다.", loadMore: "이전 인시던트 더 보기",
    ack: "확인", resolve: "해결", falsePositive: "오탐",
    runbook: "초기 대응", history: "이력", rawEvent: "원본 이벤트", shown: (n) => `${n}건 표시`,
    fields: { event: "이벤트", api: "API", resource: "리소스", account: "계정", region: "리전",
      actor: "수행자", device: "기기", userAgent: "사용자 에이전트", ip: "IP", accessKey: "액세스 키",
      rule: "규칙", reasons: "근거", tags: "ATT&CK", error: "오류", mfa: "MFA 사용", assignee: "담당자",
      related: "구성 인시던트", notes: "참고" },
    severity: { CRITICAL: "심각", HIGH: "높음", MEDIUM: "보통", LOW: "낮음" },
    status: { NEW: "신규", ACKNOWLEDGED: "확인됨", RESOLVED: "해결됨", FALSE_POSITIVE: "오탐" },
    by: "수행자", yes: "예", no: "아니요",
    postureTitle: "IAM 보안 상태", colRisk: "위험도", colPrincipal: "주체", colFindings: "발견 사항",
    postureWhen: (time) => `${time} 점검`, postureFailed: (error) => `마지막 점검 실패: ${error}`,
    kind: { user: "사용자", role: "역할", root: "루트" },
  },
};
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
// Which status changes the lifecycle allows (mirrors IncidentStatus::transition).
const NEXT = {
  NEW: ["ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"],
  ACKNOWLEDGED: ["RESOLVED", "FALSE_POSITIVE"],
  RESOLVED: ["ACKNOWLEDGED"],
  FALSE_POSITIVE: ["ACKNOWLEDGED"],
};
const MAX_ROWS = 5000;
const PAGE_SIZE = 200;

const state = {
  lang: localStorage.getItem("iamwatch.lang") || ((navigator.language || "en").startsWith("ko") ? "ko" : "en"),
  token: localStorage.getItem("iamwatch.token") || "",
  incidents: new Map(), // id → incident
  selected: null,
  linked: null, // an incident id from the address (`#incident=ID`), opened once loaded
  posture: null, // the latest IAM posture scan (GET /v1/posture), when serve runs them
  lastSeen: 0, // newest updated_at seen, for resync after a reconnect
  nextCursor: null, // where the next page of the current filter starts
  socket: null,
  retry: 0,
};

const $ = (id) => document.getElementById(id);
const t = () => TEXT[state.lang];
const pick = (localized) => (localized && (localized[state.lang] || localized.en)) || "";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// The incident's reasons in the reader's language: the Korean ones when the incident has them
// (one for each English reason; incidents stored before there were have English ones only).
function reasonsIn(meta, lang) {
  const english = meta.reasons || [];
  const korean = meta.reasons_ko || [];
  return lang === "ko" && korean.length === english.length ? korean : english;
}

// Times in the reader's zone; Korean readers get KST whatever the machine says.
function formatTime(ms) {
  const options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (state.lang === "ko") options.timeZone = "Asia/Seoul";
  const text = new Intl.DateTimeFormat(state.lang === "ko" ? "ko-KR" : undefined, options).format(new Date(ms));
  return state.lang === "ko" ? `${text} KST` : text;
}

// ---- API ------------------------------------------------------------------------------

async function api(path, options = {}) {
  const headers = Object.assign({ "content-type": "application/json" }, options.headers || {});
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    showTokenForm(!!state.token);
    throw new Error("unauthorized");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function filterQuery() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if ($("filter-severity").value) params.set("severity", $("filter-severity").value);
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-text").value.trim()) params.set("text", $("filter-text").value.trim());
  return params;
}

async function load() {
  const page = await api(`/v1/incidents?${filterQuery()}`);
  state.incidents.clear();
  for (const incident of page.incidents) remember(incident);
  state.nextCursor = page.next_cursor;
  $("token-form").hidden = true;
  $("app").hidden = false;
  render();
}

async function loadMore() {
  if (!state.nextCursor) return;
  const params = filterQuery();
  params.set("cursor", state.nextCursor);
  const page = await api(`/v1/incidents?${params}`);
  for (const incident of page.incidents) remember(incident);
  state.nextCursor = page.next_cursor;
  render();
}

// Whether an incident sorts after every loaded one (newest event first, ties by id, as the
// API pages them): it belongs to a page not loaded yet.
function beforeLoaded(incident) {
  for (const loaded of state.incidents.values()) {
    if (loaded.event_time_ms < incident.event_time_ms) return false;
    if (loaded.event_time_ms === incident.event_time_ms && loaded.incident_id <= incident.incident_id) return false;
  }
  return true;
}

function remember(incident) {
  state.incidents.set(incident.incident_id, incident);
  state.lastSeen = Math.max(state.lastSeen, incident.updated_at || 0, incident.created_at || 0);
}

// ---- Live stream ----------------------------------------------------------------------

function setConnection(status) {
  $("connection").dataset.state = status;
  $("connection-text").textContent = t()[status];
}

function connect() {
  if (state.socket) state.socket.close();
  setConnection("connecting");
  const params = new URLSearchParams();
  if (state.token) params.set("token", state.token);
  if (state.lastSeen) params.set("since", String(state.lastSeen));
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/stream?${params}`);
  state.socket = socket;
  socket.onopen = () => { state.retry = 0; setConnection("connected"); };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "incident.created" || message.type === "incident.updated") {
      const known = state.incidents.has(message.incident.incident_id);
      // A change to an incident older than the loaded pages belongs to a page not shown yet
      // ("load older" fetches it then); a resync after reconnecting sends many of those.
      if (message.type === "incident.updated" && !known && state.nextCursor && beforeLoaded(message.incident)) return;
      const fresh = message.type === "incident.created" && !known;
      remember(message.incident);
      scheduleRender(fresh ? message.incident.incident_id : null);
      if (state.selected === message.incident.incident_id) showDetail(state.selected);
    }
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    // The token was revoked (the server's tokens replaced): ask for the new one, do not retry.
    if (event.code === 4401) {
      showTokenForm(true);
      return;
    }
    setConnection("disconnected");
    // Back off up to 10 s; the reconnect asks for everything since the newest change seen.
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
}

// ---- Rendering ------------------------------------------------------------------------

function matchesFilters(incident) {
  const severity = $("filter-severity").value;
  const status = $("filter-status").value;
  const text = $("filter-text").value.trim().toLowerCase();
  if (severity && incident.severity !== severity) return false;
  if (status && incident.status !== status) return false;
  if (text) {
    const haystack = [incident.title.en, incident.title.ko, incident.resource, incident.event_name, incident.meta.ip, incident.meta.actor && incident.meta.actor.name].join(" ").toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

function sorted() {
  return [...state.incidents.values()]
    .filter(matchesFilters)
    .sort((a, b) => b.event_time_ms - a.event_time_ms || (a.incident_id < b.incident_id ? 1 : -1))
    .slice(0, MAX_ROWS);
}

// A commit or a resync delivers incidents in bursts: render once per frame, not per message.
let pendingFresh = null;
function scheduleRender(freshId) {
  if (pendingFresh === null) {
    pendingFresh = new Set();
    requestAnimationFrame(() => {
      const fresh = pendingFresh;
      pendingFresh = null;
      render(fresh);
    });
  }
  if (freshId) pendingFresh.add(freshId);
}

function render(fresh) {
  const rows = $("rows");
  const list = sorted();
  const fragment = document.createDocumentFragment();
  for (const incident of list) fragment.appendChild(row(incident, !!fresh && fresh.has(incident.incident_id)));
  rows.replaceChildren(fragment);
  $("empty").hidden = list.length > 0;
  $("load-more").hidden = !state.nextCursor;
  $("shown").textContent = t().shown(list.length);
  renderCounts();
  renderChart(list);
}

function row(incident, fresh) {
  const tr = el("tr", fresh ? "fresh" : "");
  tr.dataset.id = incident.incident_id;
  tr.dataset.eventId = incident.event_id;
  if (incident.incident_id === state.selected) tr.classList.add("selected");
  tr.appendChild(el("td", "time", formatTime(incident.event_time_ms)));
  const severity = el("td");
  severity.appendChild(el("span", `badge ${incident.severity}`, t().severity[incident.severity]));
  tr.appendChild(severity);
  const title = el("td");
  title.appendChild(el("div", "", pick(incident.title)));
  title.appendChild(el("div", "resource", `${incident.source} · ${incident.resource}`));
  tr.appendChild(title);
  tr.appendChild(el("td", "", (incident.meta.actor && incident.meta.actor.name) || ""));
  tr.appendChild(el("td", "", incident.meta.ip || ""));
  const status = el("td", `status ${incident.status}`, t().status[incident.status]);
  status.dataset.status = incident.status;
  tr.appendChild(status);
  tr.addEventListener("click", () => showDetail(incident.incident_id));
  return tr;
}

function renderCounts() {
  const open = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const incident of state.incidents.values()) {
    if (incident.status === "NEW" || incident.status === "ACKNOWLEDGED") open[incident.severity] += 1;
  }
  for (const severity of SEVERITIES) document.querySelector(`[data-count="${severity}"]`).textContent = open[severity];
}

// Stacked bars: the span of the incidents shown, in 24 buckets, by severity.
function renderChart(list) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  $("chart-axis").replaceChildren();
  if (!list.length) return;
  const times = list.map((incident) => incident.event_time_ms);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const buckets = 24;
  const width = Math.max(1, (last - first) / buckets);
  const counts = Array.from({ length: buckets }, () => ({ CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 }));
  for (const incident of list) {
    const index = Math.min(buckets - 1, Math.floor((incident.event_time_ms - first) / width));
    counts[index][incident.severity] += 1;
  }
  const tallest = Math.max(1, ...counts.map((bucket) => SEVERITIES.reduce((sum, s) => sum + bucket[s], 0)));
  const barWidth = 720 / buckets;
  counts.forEach((bucket, index) => {
    let y = 160;
    for (const severity of ["LOW", "MEDIUM", "HIGH", "CRITICAL"]) {
      if (!bucket[severity]) continue;
      // At least 2 px, so that a single incident beside hundreds stays visible.
      const height = Math.max(2, (bucket[severity] / tallest) * 150);
      y -= height;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(index * barWidth + 2));
      rect.setAttribute("y", String(y));
      rect.setAttribute("width", String(barWidth - 4));
      rect.setAttribute("height", String(height));
      rect.setAttribute("class", severity);
      const tip = document.createElementNS(ns, "title");
      tip.textContent = `${t().severity[severity]}: ${bucket[severity]}`;
      rect.appendChild(tip);
      svg.appendChild(rect);
    }
  });
  $("chart-axis").append(el("span", "", formatTime(first)), el("span", "", formatTime(last)));
}

// ---- Detail ---------------------------------------------------------------------------

async function showDetail(id) {
  state.selected = id;
  for (const tr of $("rows").children) tr.classList.toggle("selected", tr.dataset.id === id);
  let incident;
  try {
    incident = await api(`/v1/incidents/${encodeURIComponent(id)}`);
  } catch (error) {
    return;
  }
  if (state.selected !== id) return;
  const text = t();
  $("detail").hidden = false;
  $("detail").dataset.id = id;
  $("detail-title").textContent = pick(incident.title);
  $("detail-severity").className = `badge ${incident.severity}`;
  $("detail-severity").textContent = text.severity[incident.severity];
  $("detail-status").className = `status ${incident.status}`;
  $("detail-status").dataset.status = incident.status;
  $("detail-status").textContent = text.status[incident.status];
  for (const button of document.querySelectorAll("[data-action]")) {
    button.disabled = !(NEXT[incident.status] || []).includes(button.dataset.action);
  }
  const meta = incident.meta || {};
  const fields = [
    [text.fields.event, `${pick(incident.event_type)} (${formatTime(incident.event_time_ms)})`],
    [text.fields.api, `${incident.source} · ${incident.event_name}`],
    [text.fields.resource, incident.resource],
    [text.fields.account, incident.account],
    [text.fields.region, incident.region],
    [text.fields.actor, meta.actor ? `${meta.actor.name} (${meta.actor.type}) ${meta.actor.arn || ""}` : ""],
    [text.fields.device, meta.device && meta.device.summary],
    [text.fields.userAgent, meta.device && meta.device.ua],
    [text.fields.ip, meta.ip ? `${meta.ip} (${[meta.ip_class, meta.country].filter(Boolean).join(", ")})` : ""],
    [text.fields.accessKey, meta.accessKey ? `${meta.accessKey.access_key_id} · ${meta.accessKey.owner} · ${meta.accessKey.status}` : ""],
    [text.fields.mfa, meta.mfa_used === undefined || meta.mfa_used === null ? "" : meta.mfa_used ? text.yes : text.no],
    [text.fields.error, meta.error ? `${meta.error.code}: ${meta.error.message || ""}` : ""],
    [text.fields.rule, (meta.rules || []).join(", ")],
    [text.fields.reasons, reasonsIn(meta, state.lang).join("; ")],
    [text.fields.tags, (meta.tags || []).join(", ")],
    [text.fields.assignee, incident.assignee || ""],
  ];
  // A stateful detection's incident lists the incidents that made it ("incidents: a, b"):
  // each opens on a click. Other notes are shown as written; the event ids are in the raw view.
  const notes = meta.notes || [];
  const related = notes.filter((note) => note.startsWith("incidents: "))
    .flatMap((note) => note.slice("incidents: ".length).split(", ").filter(Boolean));
  fields.push([text.fields.notes, notes.filter((note) => !/^(incidents|events): /.test(note)).join("; ")]);
  const list = $("detail-fields");
  list.replaceChildren();
  for (const [name, value] of fields) {
    if (!value) continue;
    list.append(el("dt", "", name), el("dd", "", value));
  }
  if (related.length) {
    const links = el("dd", "related");
    for (const relatedId of related) {
      const link = el("button", "link", relatedId);
      link.type = "button";
      link.dataset.incident = relatedId;
      link.addEventListener("click", () => showDetail(relatedId));
      links.append(link);
    }
    list.append(el("dt", "", text.fields.related), links);
  }
  const runbook = (meta.runbook && (meta.runbook[state.lang] || meta.runbook.en)) || [];
  $("detail-runbook").replaceChildren(...runbook.map((step) => el("li", "", step)));
  $("detail-history").replaceChildren(...(incident.history || []).map((entry) => {
    const move = entry.to_status ? `${entry.from_status ? text.status[entry.from_status] : ""} → ${text.status[entry.to_status]}` : "";
    const parts = [formatTime(entry.at_ms), entry.actor, move, entry.assignee ? `@${entry.assignee}` : "", entry.note || ""];
    return el("li", "", parts.filter(Boolean).join(" · "));
  }));
  let raw = incident.raw || "";
  try { raw = JSON.stringify(JSON.parse(raw), null, 2); } catch (error) { /* shown as stored */ }
  $("detail-raw").textContent = raw;
  $("action-error").hidden = true;
}

async function changeStatus(status) {
  const id = state.selected;
  if (!id) return;
  try {
    const incident = await api(`/v1/incidents/${encodeURIComponent(id)}`, {
      method: "PATCH",
      body: JSON.stringify({ status, actor: "dashboard" }),
    });
    delete incident.history;
    remember(incident);
    render();
    showDetail(id);
  } catch (error) {
    $("action-error").textContent = error.message;
    $("action-error").hidden = false;
  }
}

// ---- Language, token, wiring ----------------------------------------------------------

function applyLanguage() {
  const text = t();
  document.documentElement.lang = state.lang;
  $("lang").textContent = state.lang === "ko" ? "English" : "한국어";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = text[node.dataset.i18n];
    if (typeof value === "string") node.textContent = value;
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = text[node.dataset.i18nPlaceholder];
  for (const node of document.querySelectorAll("[data-sev]")) node.textContent = text.severity[node.dataset.sev];
  for (const node of document.querySelectorAll("option[data-status]")) node.textContent = text.status[node.dataset.status];
  setConnection($("connection").dataset.state);
  render();
  renderPosture();
  if (state.selected) showDetail(state.selected);
}

// ---- Posture ----------------------------------------------------------------------------

// The latest posture scan, when serve runs them (404: off, the panel stays hidden; 503: not
// finished yet, asked again shortly). Asked again every five minutes.
async function loadPosture() {
  let retry = 5 * 60 * 1000;
  try {
    state.posture = await api("/v1/posture");
  } catch (error) {
    if (error.message === "unauthorized") return;
    if (/posture scans are off/.test(error.message)) return;
    retry = 5000;
  }
  renderPosture();
  setTimeout(() => loadPosture().catch(() => {}), retry);
}

function renderPosture() {
  const posture = state.posture;
  $("posture").hidden = !posture;
  if (!posture) return;
  const text = t();
  $("posture-when").textContent = text.postureWhen(formatTime(posture.generated_at));
  $("posture-error").hidden = !posture.error;
  $("posture-error").textContent = posture.error ? text.postureFailed(posture.error) : "";
  $("posture-rows").replaceChildren(...posture.principals.map((principal) => {
    const row = el("tr");
    row.dataset.principal = principal.name;
    row.append(el("td", "risk", String(principal.risk)));
    row.append(el("td", "", `${text.kind[principal.kind] || principal.kind} ${principal.name}`));
    const list = el("ul");
    for (const finding of principal.findings) {
      const item = el("li");
      item.append(el("span", `badge ${finding.severity}`, text.severity[finding.severity]), " ", pick(finding.reason));
      list.append(item);
    }
    const cell = el("td");
    cell.append(list);
    row.append(cell);
    return row;
  }));
}

function showTokenForm(refused) {
  // Nothing is retried while the form waits: the header says why, not "retrying".
  setConnection(refused ? "refused" : "needToken");
  $("app").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = t().badToken;
  $("token-error").hidden = !refused;
  if (state.socket) { const socket = state.socket; state.socket = null; socket.close(); }
}

async function start() {
  try {
    await load();
    connect();
    loadPosture().catch(() => {});
    // A notification's link (`#incident=ID`) opens that incident once the page is in.
    if (state.linked) {
      const id = state.linked;
      state.linked = null;
      showDetail(id);
    }
  } catch (error) {
    if (error.message !== "unauthorized") setConnection("disconnected");
  }
}

function init() {
  // A token may come in the URL fragment (never sent to the server); keep it, then hide it.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    state.token = fragment.get("token");
    localStorage.setItem("iamwatch.token", state.token);
  }
  state.linked = fragment.get("incident");
  if (fragment.get("token") || state.linked) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  window.addEventListener("hashchange", () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("incident");
    if (id && state.token) {
      history.replaceState(null, "", location.pathname + location.search);
      showDetail(id);
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    localStorage.setItem("iamwatch.token", state.token);
    start();
  });
  $("forget-token").addEventListener("click", () => {
    localStorage.removeItem("iamwatch.token");
    state.token = "";
    showTokenForm(false);
  });
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "ko" ? "en" : "ko";
    localStorage.setItem("iamwatch.lang", state.lang);
    applyLanguage();
  });
  let debounce;
  const reload = () => { clearTimeout(debounce); debounce = setTimeout(() => load().catch(() => {}), 250); };
  $("filter-severity").addEventListener("change", reload);
  $("filter-status").addEventListener("change", reload);
  $("filter-text").addEventListener("input", reload);
  $("load-more").addEventListener("click", () => loadMore().catch(() => {}));
  $("detail-close").addEventListener("click", () => {
    state.selected = null;
    $("detail").hidden = true;
    render();
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => changeStatus(button.dataset.action));
  }
  applyLanguage();
  start();
}

document.addEventListener("DOMContentLoaded", init);
