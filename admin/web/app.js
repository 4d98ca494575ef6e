// admin/web/app.js — the console page: polls /api/status, /api/participants and
// /api/invites every 2 s and draws them with DOM calls (never innerHTML: names come
// from other nodes); forms POST JSON with the token in a header (i18n.js: momedoApi).
"use strict";
const POLL_MS = 2000;
let last = { status: null, participants: null, invites: null };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "onclick") e.addEventListener("click", v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
}

function $(id) { return document.getElementById(id); }

function notice(text, bad) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = !text;
  n.classList.toggle("bad", !!bad);
}

function clear(id) { const b = $(id); b.replaceChildren(); return b; }

function drawStatus(s) {
  const h = $("health");
  if (!s) {
    h.textContent = momedoT("unreachable");
    h.className = "badge bad";
    return;
  }
  h.textContent = momedoT("healthy");
  h.className = "badge ok";
  $("node-name").textContent = s.name;
  $("node-sub").textContent = momedoT("listen", s.listen);
  $("uptime").textContent = momedoDuration(s.uptime_s);
  $("version").textContent = momedoT("version", s.version);
  $("clients").textContent = s.clients_connected;
  $("participants-count").textContent = momedoT("devices_n", s.participants, s.invites_active);
  $("objects-total").textContent = s.objects.total;
  $("objects-kinds").textContent = Object.entries(s.objects).filter(([k]) => k !== "total")
    .map(([k, v]) => v + " " + momedoT("k_" + k)).join(", ");
  $("disk").textContent = momedoBytes(s.disk_bytes);
  $("traffic").textContent = momedoT("traffic", momedoBytes(s.bytes_in), momedoBytes(s.bytes_out));
  $("fingerprint").textContent = s.fingerprint;
  drawNeighbors(s.neighbors);
}

function drawNeighbors(list) {
  const body = clear("neighbors-body");
  $("neighbors-empty").hidden = list.length > 0;
  const now = Date.now();
  for (const n of list) {
    const seen = Number(n.last_seen_ms);
    const state = el("span", { class: "state st-" + n.state, "data-test": "nb-state" },
      momedoT("st_" + n.state));
    const tags = [];
    if (n.partner) tags.push(el("span", { class: "tag" }, momedoT("partner_tag")));
    const note = n.last_error ? el("div", { class: "small err" }, n.last_error) : "";
    body.append(el("tr", { "data-test": "nb-row", "data-name": n.name },
      el("td", {}, el("strong", {}, n.name), " ", ...tags),
      el("td", {}, state, note),
      el("td", {}, el("code", {}, n.address)),
      el("td", {}, seen ? momedoT("ago", momedoDuration((now - seen) / 1000)) : momedoT("never")),
      el("td", { class: "num" }, momedoBytes(n.backlog)),
      el("td", { class: "num" }, momedoBytes(n.bytes_in) + " / " + momedoBytes(n.bytes_out)),
      el("td", { class: "num" }, n.objects_in + " / " + n.objects_out),
      el("td", {}, el("button", { type: "button", class: "danger", "data-test": "nb-remove",
        onclick: () => removeNeighbor(n.name) }, momedoT("remove")))));
  }
}

function drawParticipants(list) {
  const body = clear("participants-body");
  $("participants-empty").hidden = list.length > 0;
  const byUser = new Map();
  for (const p of list) {
    if (!byUser.has(p.user_id)) byUser.set(p.user_id, []);
    byUser.get(p.user_id).push(p);
  }
  for (const [user, devs] of byUser) {
    devs.forEach((d, i) => {
      const row = el("tr", { "data-test": "pt-row", "data-user": user });
      if (i === 0) row.append(el("td", { rowSpan: devs.length }, el("code", {}, user)));
      row.append(el("td", {}, el("code", { title: d.device_key }, d.device_key.slice(0, 16) + "…")),
        el("td", {}, momedoDate(d.registered_ms)),
        el("td", {}, el("span", { class: d.connected ? "dot on" : "dot" }),
          d.connected ? momedoT("yes") : momedoT("no")),
        el("td", {}, el("button", { type: "button", class: "danger", "data-test": "pt-remove",
          onclick: () => removeDevice(d.device_key) }, momedoT("remove"))));
      body.append(row);
    });
  }
}

function printUrl(id) {
  return "/print?id=" + encodeURIComponent(id) + "&lang=" + momedoLang + "&t=" + MOMEDO_TOKEN;
}

function drawInvites(list) {
  const body = clear("invites-body");
  $("invites-empty").hidden = list.length > 0;
  for (const v of list) {
    const print = v.printable ? el("a", { href: printUrl(v.id), target: "_blank", rel: "noopener" },
      momedoT("print")) : "";
    body.append(el("tr", { "data-test": "inv-row", "data-id": v.id },
      el("td", {}, el("code", {}, v.id)), el("td", { class: "num" }, v.uses_left),
      el("td", {}, momedoDate(v.expires_ms)),
      el("td", {}, print, " ", el("button", { type: "button", class: "danger",
        "data-test": "inv-revoke", onclick: () => revokeInvite(v.id) }, momedoT("revoke")))));
  }
}

function redraw() {
  momedoApplyStrings();
  drawStatus(last.status);
  if (last.participants) drawParticipants(last.participants);
  if (last.invites) drawInvites(last.invites);
}

async function refresh() {
  try {
    last.status = await momedoApi("/api/status");
    last.participants = (await momedoApi("/api/participants")).participants;
    last.invites = (await momedoApi("/api/invites")).invites;
  } catch (e) {
    last.status = null;
    notice(e.message, true);
    drawStatus(null);
    return;
  }
  if ($("notice").classList.contains("bad") && /running|reach/.test($("notice").textContent)) notice("");
  drawStatus(last.status);
  drawParticipants(last.participants);
  drawInvites(last.invites);
}

async function change(path, body, okText) {
  try {
    const r = await momedoApi(path, body);
    notice(okText || r.message || "", false);
    await refresh();
    return r;
  } catch (e) {
    notice(e.message, true);
    return null;
  }
}

async function removeNeighbor(name) {
  if (confirm(momedoT("confirm_remove_neighbor", name)))
    await change("/api/neighbors/remove", { name });
}

async function removeDevice(device) {
  if (confirm(momedoT("confirm_remove_device"))) await change("/api/participants/remove", { device });
}

async function revokeInvite(id) {
  if (confirm(momedoT("confirm_revoke", id))) await change("/api/invites/revoke", { id });
}

function showInvite(r) {
  $("new-invite").hidden = false;
  $("new-invite-qr").src = "/qr.svg?id=" + encodeURIComponent(r.id) + "&t=" + MOMEDO_TOKEN;
  $("new-invite-qr").alt = r.code;
  $("new-invite-code").textContent = r.code;
  $("new-invite-meta").textContent = momedoT("invite_made", r.uses, momedoDate(r.expires_ms));
  $("new-invite-print").href = printUrl(r.id);
}

function setup() {
  momedoPickLang();
  $("lang").value = momedoLang;
  $("lang").addEventListener("change", () => {
    momedoLang = $("lang").value;
    localStorage.setItem("momedo-lang", momedoLang);
    document.documentElement.lang = momedoLang;
    redraw();
  });
  $("neighbor-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const body = { name: f.name.value.trim(), address: f.address.value.trim(),
      fingerprint: f.fingerprint.value.trim(), partner: f.partner.checked };
    if (await change("/api/neighbors/add", body, momedoT("added", body.name))) f.reset();
  });
  $("invite-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const r = await change("/api/invites/create",
      { uses: Number(f.uses.value), expires_s: Number(f.expires.value) });
    if (r) showInvite(r);
  });
  momedoApplyStrings();
  refresh();
  setInterval(refresh, POLL_MS);
}

setup();
