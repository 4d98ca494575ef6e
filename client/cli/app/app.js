/* client/cli/app/app.js — the messenger window: unlock, the conversation list with
 * unread counts, a conversation, the composer (Enter sends), live updates from the
 * server-sent event stream. Everything the server sends is put in with textContent,
 * never as HTML. The token is an HttpOnly cookie this script never sees. */
"use strict";
(function () {
  const html = document.documentElement;
  const nav = (navigator.language || "").toLowerCase();
  const lang = html.lang === "de" || (html.lang !== "en" && nav.startsWith("de")) ? "de" : "en";
  html.lang = lang;
  const T = window.MOMEDO_I18N[lang];
  const t = (k, v) => (T[k] || k).replace(/\{(\w+)\}/g, (_, n) => (v && n in v ? v[n] : ""));
  const $ = (id) => document.getElementById(id);
  let current = null; /* {kind, key, name} */
  let loading = false, again = false;
  /* manage.js (setup, groups, safety numbers, devices) hooks in through MOMEDO_APP. */
  const hook = (name, ...args) => { const f = window.MOMEDO_APP[name]; return f && f(...args); };

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(path, body) {
    const opt = body === undefined ? {} : {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    opt.credentials = "same-origin";
    const r = await fetch(path, opt);
    let j = {};
    try { j = await r.json(); } catch (e) { j = {ok: false, error: String(r.status)}; }
    if (!r.ok) throw Object.assign(new Error(j.error || r.status), {status: r.status});
    return j;
  }

  function translate() {
    document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll("[data-i18n-label]").forEach((e) => {
      e.setAttribute("aria-label", t(e.dataset.i18nLabel));
      e.title = t(e.dataset.i18nLabel);
    });
    document.querySelectorAll("[data-i18n-ph]").forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
  }

  function when(ms) {
    const d = new Date(ms);
    return d.toLocaleString(lang === "de" ? "de-DE" : "en-GB",
                            {day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit"});
  }

  function replyText(m) {
    if (m.decision) return decisionText(m);
    return t((m.out ? "my_" : "") + (m.task_state === "done" ? "reply_done" : "reply_accept"));
  }

  function preview(m) {
    if (!m) return "";
    if (m.kind === "text") return m.text;
    if (m.kind === "file") return t(/^image\//.test(m.mime) ? "photo" : "file") + ": " + m.text;
    if (m.kind === "location") return t("location");
    if (m.kind === "task") return t("task") + ": " + m.text;
    if (m.kind === "task_reply") return replyText(m);
    return "";
  }

  async function loadList() {
    const j = await api("/api/conversations");
    const ul = $("convs");
    ul.textContent = "";
    const cs = j.conversations.slice().sort((a, b) =>
      ((b.last && b.last.sent_ms) || 0) - ((a.last && a.last.sent_ms) || 0));
    $("no-convs").hidden = cs.length > 0;
    for (const c of cs) {
      const li = el("li");
      const b = el("button", {type: "button", class: "conv", "data-test": "conversation",
                              "data-name": c.name, "data-kind": c.kind, "data-key": c.key});
      if (current && current.key === c.key) b.setAttribute("aria-current", "true");
      const top = el("span", {class: "conv-top"});
      top.appendChild(el("span", {class: "conv-name"}, c.name));
      top.appendChild(el("span", {class: "conv-kind"}, t(c.mode === "channel" ? "announce" : c.kind)));
      if (c.unread > 0) {
        top.appendChild(el("span", {class: "badge", "data-test": "unread",
                                    "aria-label": t("unread", {n: c.unread})},
                           c.unread > 99 ? "99+" : String(c.unread)));
      }
      b.appendChild(top);
      b.appendChild(el("span", {class: "conv-last"}, preview(c.last)));
      b.addEventListener("click", () => openConv({kind: c.kind, key: c.key, name: c.name}));
      li.appendChild(b);
      ul.appendChild(li);
    }
    hook("listed", j.conversations);
  }

  function size(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }

  /* "2026-12-11T23:59Z" (a date given without a time) as the date alone. */
  function dueText(d) {
    const day = /^(\d{4}-\d{2}-\d{2})T23:59Z$/.exec(d);
    return day ? new Date(day[1] + "T12:00:00Z").toLocaleDateString(lang === "de" ? "de-DE" : "en-GB")
               : d;
  }

  function osm(m) {
    const lat = m.lat.toFixed(6), lon = m.lon.toFixed(6);
    return "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=17/" + lat + "/" + lon;
  }

  function taskButtons(li, m) {
    if (m.approval) return approvalButtons(li, m);
    if (m.out || m.task_state === "done" || current.kind === "channel") return;
    const accept = m.task_state === "open";
    const b = el("button", {type: "button", class: "task-btn",
                            "data-test": accept ? "task-accept" : "task-done"},
                 t(accept ? "accept" : "mark_done"));
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await api("/api/task", {kind: current.kind, key: current.key, id: m.id,
                                action: accept ? "accept" : "done"});
      } catch (e) { showError(e); b.disabled = false; }
      refresh();
    });
    li.appendChild(b);
  }

  function body(li, m) {
    const p = el("div", {class: "body"});
    if (m.kind === "text") p.textContent = m.text;
    else if (m.kind === "file") {
      const url = "/api/file?kind=" + encodeURIComponent(current.kind) + "&key=" +
                  encodeURIComponent(current.key) + "&id=" + m.id;
      if (/^image\/(png|jpeg|gif|webp)$/.test(m.mime)) {
        const a = el("a", {href: url, target: "_blank", rel: "noopener", "data-test": "photo"});
        a.appendChild(el("img", {src: url, alt: t("photo") + ": " + m.text, class: "thumb",
                                 loading: "lazy"}));
        p.appendChild(a);
      } else {
        p.appendChild(el("span", {class: "tag"}, t("file") + " "));
      }
      p.appendChild(el("a", {href: url, download: m.text, class: "fname", "data-test": "file-link"},
                       m.text + " (" + size(m.size) + ")"));
      fileExtras(p, m);
    } else if (m.kind === "location") {
      p.appendChild(el("span", {class: "tag"}, t("location") + " "));
      const a = el("a", {href: osm(m), target: "_blank", rel: "noopener noreferrer"},
                   m.lat.toFixed(5) + ", " + m.lon.toFixed(5) + " (" + t("map") + ")");
      p.appendChild(a);
    } else if (m.kind === "task") {
      p.appendChild(el("span", {class: "tag"}, t("task") + " "));
      p.appendChild(el("strong", {}, m.text));
      if (m.due) p.appendChild(el("span", {class: "due"}, " " + t("due") + " " + dueText(m.due)));
      p.appendChild(el("span", {class: "task-state", "data-test": "task-state"},
                       " [" + t(m.task_state) + "]"));
      if (m.approval) approvalView(p, m, m.decisions, "decision");
      else if (m.actions) approvalView(p, m, m.actions, "action");
    } else if (m.kind === "task_reply") {
      p.textContent = replyText(m);
    }
    li.appendChild(p);
  }

  function renderMsg(m) {
    const li = el("li", {class: m.out ? "msg out" : "msg in", "data-test": "message",
                         "data-kind": m.kind, "data-state": m.state, "data-id": m.id});
    const meta = el("div", {class: "meta"});
    meta.appendChild(el("span", {class: "from"}, m.out ? t("me") : m.from));
    meta.appendChild(el("time", {datetime: new Date(m.sent_ms).toISOString()}, when(m.sent_ms)));
    if (m.out) {
      const ticks = m.state === "sent" ? "✓" : "✓✓";
      meta.appendChild(el("span", {class: "ticks " + m.state, "aria-label": t(m.state),
                                   title: t(m.state)}, ticks));
    }
    li.appendChild(meta);
    body(li, m);
    if (m.kind === "task") taskButtons(li, m);
    return li;
  }

  /* Bring the list to the messages given, keeping the element of every message that
   * did not change: a comment being typed, the focus and a loaded photo survive the
   * refresh that every change on the event stream triggers. */
  function patch(ol, messages) {
    const had = new Map();
    for (const li of ol.querySelectorAll("li[data-sig]")) had.set(li.dataset.id, li);
    const keep = new Set();
    let at = ol.firstChild;
    for (const m of messages) {
      const sig = JSON.stringify(m);
      let li = had.get(m.id);
      if (!li || li.dataset.sig !== sig || keep.has(li)) {
        li = renderMsg(m);
        li.dataset.sig = sig;
      }
      keep.add(li);
      if (li === at) at = at.nextSibling;
      else ol.insertBefore(li, at);
    }
    for (const li of Array.from(ol.children)) if (!keep.has(li)) li.remove();
    if (!messages.length) ol.appendChild(el("li", {class: "hint"}, t("no_msgs")));
  }

  async function loadConv() {
    if (!current) return;
    const q = "kind=" + encodeURIComponent(current.kind) + "&key=" + encodeURIComponent(current.key);
    const j = await api("/api/messages?" + q);
    const ol = $("msgs");
    const atEnd = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
    if (ol.dataset.shown !== current.key) ol.textContent = "";
    patch(ol, j.messages);
    if (atEnd || !ol.dataset.shown) ol.scrollTop = ol.scrollHeight;
    ol.dataset.shown = current.key;
    await api("/api/read", {kind: current.kind, key: current.key});
  }

  async function openConv(c) {
    current = c;
    $("view-h").textContent = c.name;
    $("composer-form").hidden = false;
    $("more").hidden = false;
    taskFormFor(c);
    $("msgs").dataset.shown = "";
    document.body.classList.add("in-conv");
    hook("opened", c);
    await refresh();
    $("composer").focus();
  }

  /* One refresh at a time; a change during one runs another after it. */
  async function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        await loadConv();
        await loadList();
      } while (again);
    } catch (e) {
      if (e.status === 423) showUnlock();
      else showError(e);
    } finally {
      loading = false;
      /* A refresh asked for during one that failed (say, the open conversation was just
       * left, and the one running still asked for it) runs now. */
      if (again) refresh();
    }
  }

  function showError(e) {
    $("link").textContent = t("send_failed", {e: e.message});
  }

  function showUnlock() {
    $("unlock").hidden = false;
    $("chat").hidden = true;
    $("pass").focus();
  }

  function showChat(st) {
    $("unlock").hidden = true;
    $("chat").hidden = false;
    $("me").textContent = st.user_id ? t("you_are", {id: st.alias || st.user_id}) : "";
    $("my-qr").hidden = false;
    hook("shown", st);
    live();
    refresh();
  }

  let es = null;
  function live() {
    if (es) return;
    es = new EventSource("/api/events");
    es.addEventListener("change", (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (e) { /* a ping */ }
      $("link").textContent = t(d.link ? "link_up" : "link_down");
      $("link").className = "link " + (d.link ? "up" : "down");
      refresh();
    });
  }

  $("unlock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = $("pass");
    $("unlock-error").textContent = "";
    try {
      const st = await api("/api/unlock", {passphrase: p.value});
      p.value = "";
      showChat(st);
    } catch (e) {
      p.value = "";
      $("unlock-error").textContent = e.status === 403 ? t("wrong_pass") : e.message;
      p.focus();
    }
  });

  async function send() {
    const box = $("composer"), text = box.value;
    if (!current || !text.trim()) return;
    box.disabled = true;
    try {
      await api("/api/send", {kind: current.kind, key: current.key, text: text});
      box.value = "";
    } catch (e) { showError(e); }
    box.disabled = false;
    box.focus();
    refresh();
  }

  /* The QR code of this user's ID card, drawn as SVG from the matrix the server sends. */
  async function showQr() {
    const box = $("qr-box"), btn = $("my-qr");
    if (!box.hidden) {
      box.hidden = true;
      btn.setAttribute("aria-expanded", "false");
      return;
    }
    const me = await api("/api/me");
    const ns = "http://www.w3.org/2000/svg", n = me.qr.length, q = 4;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + (n + 2 * q) + " " + (n + 2 * q));
    svg.setAttribute("shape-rendering", "crispEdges");
    const bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", n + 2 * q);
    bg.setAttribute("height", n + 2 * q);
    bg.setAttribute("fill", "#fff");
    svg.appendChild(bg);
    let d = "";
    me.qr.forEach((row, y) => {
      for (let x = 0; x < row.length; x++) if (row[x] === "1") d += "M" + (x + q) + " " + (y + q) + "h1v1h-1z";
    });
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    $("qr").textContent = "";
    $("qr").appendChild(svg);
    $("qr-uid").textContent = me.user_id + (me.alias ? " (" + me.alias + ")" : "");
    $("qr-safety").textContent = me.safety_number;
    box.hidden = false;
    btn.setAttribute("aria-expanded", "true");
  }

  $("my-qr").addEventListener("click", () => showQr().catch(showError));

  $("add-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = $("contact-id"), name = $("contact-name"), msg = $("add-msg");
    msg.textContent = "";
    try {
      const r = await api("/api/contact", {id: id.value.trim(), name: name.value.trim()});
      id.value = name.value = "";
      msg.textContent = t("added", {name: r.name, s: r.safety_number});
      await refresh();
    } catch (e) { msg.textContent = e.message; }
  });

  $("attach").addEventListener("change", () => {
    const f = $("attach").files[0];
    if (!f || !current) return;
    const rd = new FileReader();
    $("link").textContent = t("sending_file", {name: f.name});
    rd.onload = async () => {
      const data = String(rd.result).replace(/^data:[^,]*,/, "");
      try {
        await api("/api/send-file", Object.assign({kind: current.kind, key: current.key,
                                     name: f.name, mime: f.type || "application/octet-stream",
                                     data: data}, attachExtras(), captionOf()));
        $("link").textContent = "";
        $("composer").value = "";
      } catch (e) { showError(e); }
      $("attach").value = "";
      refresh();
    };
    rd.readAsDataURL(f);
  });

  async function sendBody(body, done) {
    try {
      await api("/api/send", Object.assign({kind: current.kind, key: current.key}, body));
      done();
      $("more").open = false;
    } catch (e) { showError(e); }
    refresh();
  }

  $("loc-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("loc").value.replace(/\s+/g, "");
    if (current) sendBody({location: v}, () => { $("loc").value = ""; });
  });
  $("loc-here").addEventListener("click", () => {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((p) => {
      $("loc").value = p.coords.latitude.toFixed(6) + "," + p.coords.longitude.toFixed(6);
    }, (e) => showError(e));
  });
  $("task-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {task: $("task-title").value};
    if ($("task-due").value) body.due = $("task-due").value;
    if ($("task-approval").checked) body.approval = true;
    if (current) sendBody(body, () => {
      $("task-title").value = $("task-due").value = "";
      taskFormFor(current);
    });
  });

  $("composer-form").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  $("composer").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  $("back").addEventListener("click", () => {
    document.body.classList.remove("in-conv");
    current = null;
    hook("opened", null);
    refresh();
  });

  /* ---- issue 13 part 4: a photo's place, approvals ---- */

  /* The place and caption of a file: in the same bubble as the photo. */
  function fileExtras(p, m) {
    if (typeof m.lat === "number") {
      const d = el("div", {class: "place", "data-test": "file-location"});
      d.appendChild(el("span", {class: "tag"}, t("location") + " "));
      d.appendChild(el("a", {href: osm(m), target: "_blank", rel: "noopener noreferrer"},
                       m.lat.toFixed(5) + ", " + m.lon.toFixed(5) + " (" + t("map") + ")"));
      p.appendChild(d);
    }
    if (m.caption) p.appendChild(el("div", {class: "caption", "data-test": "caption"}, m.caption));
  }

  /* The location field's value goes with the next photo or file when its box is ticked. */
  function attachExtras() {
    const box = $("loc-attach"), v = $("loc").value.replace(/\s+/g, "");
    if (!box || !box.checked || !v) return {};
    box.checked = false;
    return {location: v};
  }

  /* Text typed in the composer before choosing a photo or file is its caption (sent in
   * the same message); the composer is emptied only once the file went out. */
  function captionOf() {
    const v = $("composer").value.trim();
    return v ? {caption: v} : {};
  }

  /* A channel's readers cannot answer, so its admins get no task form. */
  function taskFormFor(c) {
    $("task-form").hidden = c.kind === "channel";
    $("task-approval").checked = false;
  }

  function decisionText(m) {
    const k = (m.out ? "my_" : "") + (m.decision === "approved" ? "reply_approved" : "reply_declined");
    return t(k) + (m.comment ? ": " + t("quoted", {c: m.comment}) : "");
  }

  /* Who decided, what and when, on an approval task (what "decision"); who accepted a
   * group's task and who marked it done (what "action"). */
  function approvalView(p, m, list, what) {
    const ul = el("ul", {class: "decisions", "data-test": what + "s"});
    if (!list.length) ul.appendChild(el("li", {class: "hint"}, t("no_decision")));
    for (const d of list) {
      const li = el("li", {"data-test": what, "data-decision": d.decision, "data-by": d.by},
                    t(d.decision + "_by", {name: d.me ? t("by_me") : d.name}) + " \u00b7 " +
                    when(d.at_ms));
      if (d.comment) li.appendChild(el("q", {}, d.comment));
      ul.appendChild(li);
    }
    p.appendChild(ul);
  }

  /* Approve / Decline with an optional comment, for a recipient who has not decided. */
  function approvalButtons(li, m) {
    if (m.out || m.decided || current.kind === "channel") return;
    const f = el("form", {class: "approve", "data-test": "approval"});
    const id = "cm-" + m.id;
    f.appendChild(el("label", {for: id, class: "sr"}, t("comment")));
    const cm = el("input", {id: id, "data-test": "task-comment", placeholder: t("comment"),
                            autocomplete: "off", maxlength: "1024"});
    f.appendChild(cm);
    for (const act of ["approve", "decline"]) {
      const b = el("button", {type: "button", class: "task-btn", "data-test": "task-" + act}, t(act));
      b.addEventListener("click", async () => {
        f.querySelectorAll("button").forEach((x) => { x.disabled = true; });
        try {
          await api("/api/task", {kind: current.kind, key: current.key, id: m.id, action: act,
                                  comment: cm.value});
        } catch (e) {
          showError(e);
          f.querySelectorAll("button").forEach((x) => { x.disabled = false; });
        }
        refresh();
      });
      f.appendChild(b);
    }
    li.appendChild(f);
  }

  window.MOMEDO_APP = {api, el, t, $, refresh, showChat, openConv, lang, current: () => current};
  translate();
  api("/api/state").then((st) => (st.unlocked ? showChat(st)
                                  : st.setup || st.linking ? hook("setup", st) : showUnlock()),
                         (e) => { $("link").textContent = e.message; });
})();
