// admin/web/print.js — the printable invite page: a big QR code with the code and the
// steps, and cut-out cards with the same code for a class. ?id= names the invite.
"use strict";
(async function () {
  momedoPickLang();
  momedoApplyStrings();
  document.getElementById("print-btn").addEventListener("click", () => window.print());
  const id = new URLSearchParams(location.search).get("id") || "";
  let inv, st;
  try {
    inv = await momedoApi("/api/invite?id=" + encodeURIComponent(id));
    st = await momedoApi("/api/status");
  } catch (e) {
    const n = document.getElementById("notice");
    n.textContent = e.message;
    n.hidden = false;
    return;
  }
  const qr = "/qr.svg?id=" + encodeURIComponent(id) + "&t=" + MOMEDO_TOKEN;
  document.getElementById("print-node").textContent = momedoT("print_node", st.name);
  document.getElementById("print-qr").src = qr;
  document.getElementById("print-qr").alt = inv.code;
  document.getElementById("print-code").textContent = inv.code;
  document.getElementById("print-meta").textContent =
    momedoT("print_meta", inv.uses, momedoDate(inv.expires_ms));
  const cut = document.getElementById("cutouts");
  for (let i = 0; i < 6; i++) {
    const card = document.createElement("div");
    card.className = "cutout";
    const img = document.createElement("img");
    img.src = qr;
    img.alt = "";
    const t = document.createElement("p");
    t.textContent = momedoT("cut_here") + " · " + st.name;
    const c = document.createElement("code");
    c.textContent = inv.code;
    card.append(img, t, c);
    cut.append(card);
  }
})();
