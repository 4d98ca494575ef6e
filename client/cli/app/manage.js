/* client/cli/app/manage.js — the account pages of the messenger window: the first run
 * (a new passphrase and an invite or link code), a new group or announcement channel
 * of contacts, a conversation's safety number (verify) or members (add), and the
 * account's devices (remove one). Hooks into app.js through window.MOMEDO_APP; like
 * app.js it puts everything the server sends in with textContent. */
"use strict";
(function () {
  const A = window.MOMEDO_APP;
  const {el, t, $} = A;
  const MIN_PASS = 8;
  let conv = null;          /* the open conversation {kind, key, name} */
  let contacts = [];        /* [{key, name}] from the conversation list */
  const picked = new Set(); /* contact keys ticked in the new-group form */

  /* POST or GET; resolves to the answer, rejects with {message, code} (E_... status). */
  async function call(path, body) {
    const opt = {credentials: "same-origin"};
    if (body !== undefined) {
      opt.method = "POST";
      opt.headers = {"Content-Type": "application/json"};
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    let j = {};
    try { j = await r.json(); } catch (e) { j = {error: String(r.status)}; }
    if (!r.ok) throw Object.assign(new Error(j.error || r.status), {code: j.status, http: r.status});
    return Object.assign(j, {http: r.status});
  }

  /* A server error in the page's language where there is a word for it. */
  function why(e) {
    const known = {E_CHECKSUM: "code_typo", E_EXPIRED: "code_expired", E_EXISTS: "has_identity",
                   E_KEYCHANGED: "safety_moved"};
    if (e.code === "E_PROTO") return t("code_bad");
    return known[e.code] && A.lang === "de" ? t(known[e.code]) : e.message;
  }

  /* ---- first run ---------------------------------------------------------------- */

  let polling = null;
  function showSetup(st) {
    $("unlock").hidden = true;
    $("chat").hidden = true;
    $("setup").hidden = false;
    if (st && st.linking) waitLink(st);
    else $("setup-pass").focus();
  }

  function setupBusy(busy) {
    for (const id of ["setup-pass", "setup-repeat", "setup-code"]) $(id).disabled = busy;
    $("setup-form").querySelector("button").disabled = busy;
  }

  /* A link code: the first device must confirm; show the code to compare meanwhile. */
  function waitLink(st) {
    setupBusy(true);
    const w = $("setup-wait");
    w.hidden = false;
    w.textContent = st.linking_safety ? t("link_compare", {s: st.linking_safety}) : t("link_asking");
    if (polling) return;
    polling = setInterval(async () => {
      let s;
      try { s = await call("/api/state"); } catch (e) { return; }
      if (s.unlocked) return done(s);
      if (s.linking) {
        w.textContent = s.linking_safety ? t("link_compare", {s: s.linking_safety}) : t("link_asking");
        w.dataset.safety = s.linking_safety || "";
        return;
      }
      clearInterval(polling);
      polling = null;
      w.hidden = true;
      setupBusy(false);
      $("setup-error").textContent = s.linking_error || t("link_failed");
    }, 1000);
  }

  function done(st) {
    if (polling) clearInterval(polling);
    polling = null;
    $("setup-pass").value = $("setup-repeat").value = $("setup-code").value = "";
    $("setup").hidden = true;
    A.showChat(st);
  }

  $("setup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = $("setup-pass").value, r = $("setup-repeat").value, code = $("setup-code").value.trim();
    const err = $("setup-error");
    err.textContent = "";
    if (p.length < MIN_PASS) { err.textContent = t("pass_short", {n: MIN_PASS}); return $("setup-pass").focus(); }
    if (p !== r) { err.textContent = t("pass_differ"); return $("setup-repeat").focus(); }
    setupBusy(true);
    try {
      const st = await call("/api/setup", {passphrase: p, repeat: r, code: code});
      if (st.http === 202) return waitLink(st);
      done(st);
    } catch (e) {
      setupBusy(false);
      err.textContent = why(e);
      $("setup-code").focus();
    }
  });

  /* ---- new group or channel ----------------------------------------------------- */

  /* Checkboxes of contacts (keys in skip left out) into box; ticks kept in set. */
  function memberBoxes(box, skip, set, test) {
    box.querySelectorAll("label").forEach((l) => l.remove());
    for (const c of contacts) {
      if (skip.has(c.key)) continue;
      const cb = el("input", {type: "checkbox", value: c.key, "data-test": test, "data-name": c.name});
      cb.checked = set.has(c.key);
      cb.addEventListener("change", () => (cb.checked ? set.add(c.key) : set.delete(c.key)));
      const l = el("label", {class: "check"});
      l.appendChild(cb);
      l.appendChild(el("span", {}, c.name));
      box.appendChild(l);
    }
    const any = !!box.querySelector("label");
    if (!any) box.appendChild(el("label", {class: "hint"}, t(skip.size ? "all_members" : "no_contacts")));
    return any;
  }

  let listedKeys = "";
  A.listed = (convs) => {
    const cs = convs.filter((c) => c.kind === "contact").map((c) => ({key: c.key, name: c.name}))
      .sort((a, b) => a.name.localeCompare(b.name));
    const keys = cs.map((c) => c.key + c.name).join();
    if (keys === listedKeys) return; /* unchanged: keep focus and ticks as they are */
    listedKeys = keys;
    contacts = cs;
    memberBoxes($("group-members"), new Set(), picked, "group-member");
  };

  $("group-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = $("group-msg"), name = $("group-name").value.trim();
    msg.textContent = "";
    try {
      const g = await call("/api/group", {name: name, channel: $("group-channel").checked,
                                          members: Array.from(picked)});
      $("group-name").value = "";
      $("group-channel").checked = false;
      picked.clear();
      listedKeys = "";
      msg.textContent = t(g.mode === "channel" ? "channel_made" : "group_made", {name: g.name});
      await A.openConv({kind: "group", key: g.key, name: g.name});
    } catch (e) { msg.textContent = why(e); }
  });

  /* ---- a conversation's safety number or members --------------------------------- */

  A.opened = (c) => {
    conv = c;
    const b = $("conv-info");
    closeInfo();
    b.hidden = !c;
    if (c) b.textContent = t(c.kind === "contact" ? "safety_btn" : c.kind === "channel"
                                                                ? "ch_btn" : "members_btn");
  };

  function closeInfo() {
    $("info-box").hidden = true;
    $("info-h").textContent = ""; /* nothing of the last conversation shows in the next */
    $("info-body").textContent = "";
    $("conv-info").setAttribute("aria-expanded", "false");
  }

  function row(dl, term, value, test) {
    dl.appendChild(el("dt", {}, term));
    dl.appendChild(el("dd", test ? {"data-test": test} : {}, value));
  }

  /* The box shows the conversation it was opened for: an answer that comes back after
   * another conversation was chosen is dropped, and every button acts on the key the box
   * was drawn for, never on whatever conversation is open when it is clicked. */
  const stale = (key) => !conv || conv.key !== key;

  async function showContact() {
    const key = conv.key;
    const k = await call("/api/contact?key=" + encodeURIComponent(key));
    if (stale(key)) return;
    const body = $("info-body"), dl = el("dl");
    $("info-h").textContent = t("safety_title", {name: k.name});
    body.textContent = "";
    const number = k.key_changed && k.offered_safety_number ? k.offered_safety_number : k.safety_number;
    if (k.key_changed) body.appendChild(el("p", {class: "error", "data-test": "key-changed"}, t("key_changed")));
    row(dl, t("user_id"), k.user_id);
    row(dl, t("safety"), number, "safety-number");
    row(dl, t("state"), t(k.verified && !k.key_changed ? "verified" : "not_verified"), "verified-state");
    body.appendChild(dl);
    body.appendChild(el("p", {class: "hint"}, t("safety_hint")));
    if (!k.verified || k.key_changed) {
      const b = el("button", {type: "button", "data-test": "verify"}, t("verify"));
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          await call("/api/verify", {key, safety_number: number});
          $("info-msg").textContent = t("verified_now", {name: k.name});
        } catch (e) { $("info-msg").textContent = why(e); }
        showContact().catch((e) => { $("info-msg").textContent = why(e); });
      });
      body.appendChild(b);
    }
  }

  /* A button that asks once more ("… for good?") before it does what it says; then
   * shows what it did (or why not) and the group as it is now. */
  function confirmButton(test, label, confirm, act, key) {
    const b = el("button", {type: "button", class: "task-btn", "data-test": test}, label);
    if (key) b.dataset.key = key;
    b.addEventListener("click", async () => {
      if (b.dataset.test === test) {
        b.dataset.test = test + "-confirm";
        b.textContent = confirm;
        return;
      }
      b.disabled = true;
      try { $("info-msg").textContent = await act(); } catch (e) { $("info-msg").textContent = why(e); }
      A.refresh();
      showGroup().catch((e) => { $("info-msg").textContent = why(e); });
    });
    return b;
  }

  /* An admin's buttons on another member: remove, and make admin / take the role back. */
  function memberButtons(li, m, key) {
    li.appendChild(document.createTextNode(" "));
    li.appendChild(confirmButton("member-remove", t("remove"), t("remove_confirm"), async () => {
      await call("/api/group-remove", {key, members: [m.key]});
      return t("member_removed", {name: m.name});
    }, m.key));
    li.appendChild(confirmButton("member-role", t(m.admin ? "unmake_admin" : "make_admin"),
                                 t("role_confirm"), async () => {
      await call("/api/group-role", {key, members: [m.key],
                                     role: m.admin ? "member" : "admin"});
      return t("role_changed", {name: m.name});
    }, m.key));
  }

  const adding = new Set();
  async function showGroup() {
    const key = conv.key;
    const g = await call("/api/group?key=" + encodeURIComponent(key));
    if (stale(key)) return;
    const body = $("info-body");
    $("info-h").textContent = t(g.mode === "channel" ? "channel_members" : "group_members_of", {name: g.name});
    body.textContent = "";
    if (g.mode === "channel") body.appendChild(el("p", {class: "hint"}, t(g.admin ? "channel_admin" : "channel_reader")));
    const ul = el("ul", {class: "plain", "data-test": "member-list"});
    const members = new Set();
    for (const m of g.members) {
      members.add(m.key);
      const li = el("li", {"data-test": "member", "data-name": m.me ? "" : m.name},
                    (m.me ? t("me") : m.name) + (m.admin ? " (" + t("admin") + ")" : ""));
      if (g.admin && !m.me) memberButtons(li, m, key);
      ul.appendChild(li);
    }
    body.appendChild(ul);
    if (!g.removed) body.appendChild(confirmButton("group-leave", t("leave_group"),
                                                   t("leave_confirm"), async () => {
      const r = await call("/api/group-leave", {key});
      return t(r.by_request ? "leave_asked" : "left_group");
    }));
    if (!g.admin) return;
    const fs = el("fieldset", {class: "members"});
    fs.appendChild(el("legend", {}, t("add_members")));
    adding.clear();
    const any = memberBoxes(fs, members, adding, "add-member");
    body.appendChild(fs);
    if (!any) return;
    const b = el("button", {type: "button", "data-test": "group-add"}, t("add"));
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await call("/api/group-add", {key, members: Array.from(adding)});
        $("info-msg").textContent = t("members_added");
      } catch (e) { $("info-msg").textContent = why(e); }
      showGroup().catch((e) => { $("info-msg").textContent = why(e); });
    });
    body.appendChild(b);
  }

  $("conv-info").addEventListener("click", () => {
    if (!$("info-box").hidden || !conv) return closeInfo();
    $("info-msg").textContent = "";
    $("info-box").hidden = false;
    $("conv-info").setAttribute("aria-expanded", "true");
    (conv.kind === "contact" ? showContact() : conv.kind === "channel" ? A.showChannel(conv)
                                                                       : showGroup())
      .catch((e) => { $("info-msg").textContent = why(e); });
  });

  /* ---- devices -------------------------------------------------------------------- */

  async function showDevices() {
    const d = await call("/api/devices");
    const ul = $("devices");
    ul.textContent = "";
    for (const v of d.devices) {
      const li = el("li", {"data-test": "device", "data-key": v.device_key});
      li.appendChild(el("code", {}, v.device_key.slice(0, 16)));
      if (v.this) li.appendChild(el("span", {class: "tag"}, " " + t("this_device")));
      if (d.can_remove && !v.this) {
        const b = el("button", {type: "button", class: "task-btn", "data-test": "device-remove",
                                "data-key": v.device_key}, t("remove"));
        b.addEventListener("click", async () => {
          if (b.dataset.test === "device-remove") { /* a second click confirms */
            b.dataset.test = "device-remove-confirm";
            b.textContent = t("remove_confirm");
            return;
          }
          b.disabled = true;
          try {
            await call("/api/device-remove", {device: v.device_key});
            $("devices-msg").textContent = t("device_removed");
          } catch (e) { $("devices-msg").textContent = why(e); }
          showDevices().catch((e) => { $("devices-msg").textContent = why(e); });
        });
        li.appendChild(b);
      }
      ul.appendChild(li);
    }
    if (!d.can_remove) ul.appendChild(el("li", {class: "hint"}, t("remove_on_first")));
  }

  A.shown = () => { $("devices-open").hidden = false; };
  $("devices-open").addEventListener("click", () => {
    const box = $("devices-box"), b = $("devices-open");
    if (!box.hidden) {
      box.hidden = true;
      return b.setAttribute("aria-expanded", "false");
    }
    $("devices-msg").textContent = "";
    box.hidden = false;
    b.setAttribute("aria-expanded", "true");
    showDevices().catch((e) => { $("devices-msg").textContent = why(e); });
  });

  /* ---- the passphrase (the current one is asked again) ---------------------------- */

  $("pass-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [cur, p, r] = ["pass-cur", "pass-new", "pass-rep"].map($);
    const msg = $("pass-msg");
    msg.textContent = "";
    if (p.value.length < MIN_PASS) { msg.textContent = t("pass_short", {n: MIN_PASS}); return p.focus(); }
    if (p.value !== r.value) { msg.textContent = t("pass_differ"); return r.focus(); }
    try {
      await call("/api/passphrase", {current: cur.value, passphrase: p.value, repeat: r.value});
      msg.textContent = t("pass_changed");
    } catch (e) {
      msg.textContent = e.http === 403 ? t("pass_cur_wrong") : e.http === 409 ? t("pass_busy") : why(e);
    } finally {
      [cur, p, r].forEach((x) => { x.value = ""; });
    }
  });

  A.setup = showSetup;
})();
