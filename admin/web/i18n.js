// admin/web/i18n.js — the console's strings, one catalogue per language (de, en).
// Static text carries data-i18n="key"; scripts use momedoT(key). No other strings.
"use strict";
const MOMEDO_STRINGS = {
  en: {
    title: "momedo node", language: "Language", overview: "Overview", uptime: "Uptime",
    clients: "Clients connected", objects: "Objects stored", disk: "Disk use",
    neighbors: "Neighbor nodes", own_fp: "This node's fingerprint (give it to neighbors):",
    name: "Name", state: "State", address: "Address", last_contact: "Last contact",
    backlog: "Backlog", traffic_io: "In / out", objects_io: "Objects in / out",
    no_neighbors: "No neighbors yet. Add the nodes of neighboring cities or schools below.",
    add_neighbor: "Add a neighbor", address_hint: "Address (host:port)",
    fingerprint: "Fingerprint", partner: "Partner (also a home of this node's users)",
    add: "Add", invites: "Invites", uses: "Registrations", expires: "Valid for",
    "1h": "1 hour", "1d": "1 day", "7d": "7 days", "30d": "30 days",
    create_invite: "Create invite", scan_hint: "Scan it with the momedo app, or type the code:",
    print: "Printable page for a class", uses_left: "Registrations left", expires_at: "Expires",
    no_invites: "No open invites.", participants: "Participants", user: "User",
    device: "Device", registered: "Registered", connected: "Connected",
    no_participants: "No devices registered yet. Create an invite above.",
    footer: "This page talks to the node through its admin socket. Anyone with its URL can " +
      "manage the node while momedo-admin web runs; stop it with Ctrl-C when you are done.",
    healthy: "running", unreachable: "node not reachable", remove: "Remove", revoke: "Revoke",
    yes: "yes", no: "no", never: "never", ago: "{0} ago", version: "version {0}",
    devices_n: "{0} registered devices, {1} open invites", traffic: "traffic {0} in, {1} out",
    listen: "clients connect to {0}", partner_tag: "partner", inbound: "inbound",
    st_up: "up", st_connecting: "connecting", st_down: "down", st_refused: "refused",
    confirm_remove_neighbor: "Remove the neighbor {0}? The link closes at once.",
    confirm_remove_device: "Remove this device? It can no longer fetch its messages here.",
    confirm_revoke: "End the invite {0}? Nobody can register with it any more.",
    added: "Neighbor {0} added.", invite_made: "Invite created: {0} registrations until {1}.",
    k_key_bundle: "key bundles", k_ozone_item: "messages waiting", k_tombstone: "receipts",
    k_chunk: "attachment chunks", k_alias: "aliases",
    print_now: "Print", print_title: "Join momedo",
    print_node: "Your messenger at {0}",
    step1: "Install the momedo app (or the momedo command line).",
    step2: "Scan this code with the app, or type it in:",
    print_meta: "Valid for {0} registrations until {1}. Keep this page in class: the code " +
      "is only for its members.",
    cut_here: "momedo invite",
  },
  de: {
    title: "momedo-Knoten", language: "Sprache", overview: "Überblick", uptime: "Laufzeit",
    clients: "Verbundene Geräte", objects: "Gespeicherte Objekte", disk: "Speicherplatz",
    neighbors: "Nachbarknoten", own_fp: "Fingerabdruck dieses Knotens (für die Nachbarn):",
    name: "Name", state: "Zustand", address: "Adresse", last_contact: "Letzter Kontakt",
    backlog: "Rückstau", traffic_io: "Ein / aus", objects_io: "Objekte ein / aus",
    no_neighbors: "Noch keine Nachbarn. Tragen Sie unten die Knoten benachbarter Städte " +
      "oder Schulen ein.",
    add_neighbor: "Nachbarn hinzufügen", address_hint: "Adresse (Host:Port)",
    fingerprint: "Fingerabdruck", partner: "Partner (auch Heimat der Nutzer dieses Knotens)",
    add: "Hinzufügen", invites: "Einladungen", uses: "Anmeldungen", expires: "Gültig für",
    "1h": "1 Stunde", "1d": "1 Tag", "7d": "7 Tage", "30d": "30 Tage",
    create_invite: "Einladung erstellen",
    scan_hint: "Mit der momedo-App scannen oder den Code eintippen:",
    print: "Druckseite für eine Klasse", uses_left: "Anmeldungen übrig", expires_at: "Läuft ab",
    no_invites: "Keine offenen Einladungen.", participants: "Teilnehmende", user: "Nutzer",
    device: "Gerät", registered: "Angemeldet", connected: "Verbunden",
    no_participants: "Noch keine Geräte angemeldet. Erstellen Sie oben eine Einladung.",
    footer: "Diese Seite spricht über den Admin-Socket mit dem Knoten. Wer ihre URL kennt, " +
      "kann den Knoten verwalten, solange momedo-admin web läuft; beenden Sie es danach " +
      "mit Strg-C.",
    healthy: "läuft", unreachable: "Knoten nicht erreichbar", remove: "Entfernen",
    revoke: "Widerrufen", yes: "ja", no: "nein", never: "nie", ago: "vor {0}",
    version: "Version {0}", devices_n: "{0} angemeldete Geräte, {1} offene Einladungen",
    traffic: "Verkehr {0} ein, {1} aus", listen: "Geräte verbinden sich mit {0}",
    partner_tag: "Partner", inbound: "eingehend",
    st_up: "verbunden", st_connecting: "verbindet", st_down: "getrennt",
    st_refused: "abgelehnt",
    confirm_remove_neighbor: "Nachbarn {0} entfernen? Die Verbindung wird sofort getrennt.",
    confirm_remove_device: "Dieses Gerät entfernen? Es kann hier keine Nachrichten mehr " +
      "abholen.",
    confirm_revoke: "Einladung {0} beenden? Niemand kann sich mehr damit anmelden.",
    added: "Nachbar {0} hinzugefügt.",
    invite_made: "Einladung erstellt: {0} Anmeldungen bis {1}.",
    k_key_bundle: "Schlüsselbündel", k_ozone_item: "wartende Nachrichten",
    k_tombstone: "Empfangsbestätigungen", k_chunk: "Anhangteile", k_alias: "Aliasse",
    print_now: "Drucken", print_title: "Willkommen bei momedo",
    print_node: "Ihr Messenger bei {0}",
    step1: "Installieren Sie die momedo-App (oder das Kommandozeilenprogramm momedo).",
    step2: "Scannen Sie diesen Code mit der App oder tippen Sie ihn ein:",
    print_meta: "Gültig für {0} Anmeldungen bis {1}. Bitte nur in der Klasse weitergeben.",
    cut_here: "momedo-Einladung",
  },
};

let momedoLang = "en";

// The language: ?lang=, else what the user chose before, else the page's (the server
// picked it from Accept-Language).
function momedoPickLang() {
  const q = new URLSearchParams(location.search).get("lang");
  let l = q || localStorage.getItem("momedo-lang") || document.documentElement.lang;
  if (!(l in MOMEDO_STRINGS)) l = "en";
  momedoLang = l;
  document.documentElement.lang = l;
  return l;
}

function momedoT(key, ...args) {
  const s = MOMEDO_STRINGS[momedoLang][key] ?? MOMEDO_STRINGS.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
}

function momedoApplyStrings() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = momedoT(el.dataset.i18n);
}

function momedoLocale() { return momedoLang === "de" ? "de-DE" : "en-GB"; }

function momedoDate(ms) {
  if (!ms) return momedoT("never");
  return new Date(Number(ms)).toLocaleString(momedoLocale(),
    { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function momedoBytes(n) {
  n = Number(n);
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toLocaleString(momedoLocale(), { maximumFractionDigits: 1 }) : n) + " " + u[i];
}

function momedoDuration(s) {
  s = Math.max(0, Math.floor(Number(s)));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + " d " + h + " h";
  if (h) return h + " h " + m + " min";
  if (m) return m + " min";
  return s + " s";
}

const MOMEDO_TOKEN = document.querySelector('meta[name="momedo-token"]').content;

// One API call: GET without body, POST with a JSON body; the token always in the header.
async function momedoApi(path, body) {
  const init = { method: body ? "POST" : "GET", cache: "no-store", credentials: "omit",
    headers: { "X-Momedo-Token": MOMEDO_TOKEN } };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok || !j || !j.ok) throw new Error(j && j.error ? j.error : "HTTP " + r.status);
  return j;
}
