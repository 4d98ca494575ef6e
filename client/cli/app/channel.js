/* client/cli/app/channel.js — passphrase channels in the messenger window: the join form
 * (name, passphrase, the name to post as; the passphrase field is emptied as soon as the
 * request is answered, whatever the answer) and a channel's box (what it protects, the
 * name you post as, Leave after a second click). A channel takes text and locations, so
 * its composer has no paper clip. Hooks into app.js through window.MOMEDO_APP; what the
 * server sends goes in with textContent. */
"use strict";
(function () {
  const A = window.MOMEDO_APP;
  const {el, t, $} = A;
  const bytes = (s) => new TextEncoder().encode(s).length;

  /* The page's words for the server's refusals. */
  function why(e) {
    const known = {400: "ch_bad", 409: "ch_exists", 429: "ch_busy"};
    return known[e.status] ? t(known[e.status]) : e.message;
  }

  $("channel-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("channel-name"), pass = $("channel-pass"), disp = $("channel-display");
    const msg = $("channel-msg"), btn = $("channel-form").querySelector("button");
    const body = {name: name.value, passphrase: pass.value};
    if (disp.value.trim()) body.display_name = disp.value.trim();
    if (bytes(body.name) > 128 || bytes(body.passphrase) > 1024 ||
        (body.display_name && bytes(body.display_name) > 64)) {
      pass.value = "";
      msg.textContent = t("ch_bad");
      return;
    }
    msg.textContent = t("ch_deriving");
    btn.disabled = true;
    try {
      const r = await A.api("/api/channel-join", body);
      name.value = disp.value = "";
      msg.textContent = t("ch_joined", {name: r.channel}) + " " + t(r.weak ? "ch_weak" : "ch_empty_hint");
      await A.openConv({kind: "channel", key: r.key, name: r.name});
    } catch (e) {
      msg.textContent = why(e);
      name.focus();
    } finally {
      pass.value = body.passphrase = "";
      btn.disabled = false;
    }
  });

  /* A channel takes text and locations: no paper clip, no place for the next file. */
  const opened = A.opened;
  A.opened = (c) => {
    if (opened) opened(c);
    const ch = !!c && c.kind === "channel";
    document.querySelector(".attach-btn").hidden = ch;
    $("attach").disabled = ch;
    $("loc-attach").closest("label").hidden = ch;
  };

  /* After leaving: no conversation open; the list no longer has the channel. */
  function closeView(name) {
    $("info-box").hidden = true;
    $("conv-info").setAttribute("aria-expanded", "false");
    $("back").click();
    $("view-h").textContent = t("pick");
    $("msgs").textContent = "";
    $("composer-form").hidden = $("more").hidden = true;
    $("channel-msg").textContent = t("ch_left", {name: name});
    $("channel-name").focus();
  }

  A.showChannel = async (conv) => {
    const c = await A.api("/api/channel?key=" + encodeURIComponent(conv.key));
    const now = A.current();
    if (!now || now.key !== conv.key) return; /* another conversation was chosen meanwhile */
    const body = $("info-body"), dl = el("dl");
    $("info-h").textContent = t("ch_box_title", {name: c.channel});
    body.textContent = "";
    dl.appendChild(el("dt", {}, t("ch_display_is")));
    dl.appendChild(el("dd", {"data-test": "channel-display-name"}, c.display_name));
    body.appendChild(dl);
    body.appendChild(el("p", {class: "hint"}, t("ch_box_hint")));
    const b = el("button", {type: "button", class: "task-btn", "data-test": "channel-leave"},
                 t("ch_leave"));
    b.addEventListener("click", async () => {
      if (b.dataset.test === "channel-leave") { /* a second click confirms */
        b.dataset.test = "channel-leave-confirm";
        b.textContent = t("ch_leave_confirm");
        return;
      }
      b.disabled = true;
      try {
        await A.api("/api/channel-leave", {key: conv.key});
        closeView(c.channel);
      } catch (e) {
        $("info-msg").textContent = e.message;
        b.disabled = false;
      }
    });
    body.appendChild(b);
  };
})();
