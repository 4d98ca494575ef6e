/* client/cli/app/i18n.js — every string of the page, one catalogue per language. */
"use strict";
window.MOMEDO_I18N = {
  en: {
    unlock_title: "Unlock", passphrase: "Passphrase", unlock: "Unlock",
    unlock_hint: "Your passphrase opens the keys on this computer; they never leave the momedo program.",
    wrong_pass: "Wrong passphrase.", conversations: "Conversations", no_convs: "No conversations yet.",
    back: "Back to the conversations", pick: "Pick a conversation", messages: "Messages",
    message: "Message", type: "Write a message (Enter sends, Shift+Enter: new line)", send: "Send",
    unread: "{n} unread", me: "me", sent: "sent", delivered: "delivered", read: "read",
    file: "File", photo: "Photo", location: "Location", map: "map", task: "Task", due: "due",
    open: "open", accepted: "accepted", done: "done", accept: "Accept", mark_done: "Done",
    reply_accept: "accepted the task", reply_done: "finished the task",
    my_reply_accept: "You accepted the task", my_reply_done: "You finished the task",
    link_up: "connected", link_down: "offline, reconnecting…",
    contact: "contact", group: "group", channel: "channel", no_msgs: "No messages yet.",
    send_failed: "Could not send: {e}", you_are: "You are {id}",
    my_qr: "My QR code", my_qr_title: "Show this code to be added", user_id: "User ID",
    safety: "Safety number", add_title: "Add a contact", contact_id: "User ID, alias or code",
    contact_name: "Name (optional)", add: "Add", added: "Added {name}. Compare the safety number {s} in person.",
    attach: "Attach a photo or file", sending_file: "Sending {name}…",
    more: "Location or task", loc_label: "Location (latitude, longitude)", here: "Here",
    send_loc: "Send location", task_label: "Task", due_label: "Due (optional)", send_task: "Send task"
  },
  de: {
    unlock_title: "Entsperren", passphrase: "Passphrase", unlock: "Entsperren",
    unlock_hint: "Deine Passphrase öffnet die Schlüssel auf diesem Rechner; sie verlassen das momedo-Programm nie.",
    wrong_pass: "Falsche Passphrase.", conversations: "Unterhaltungen", no_convs: "Noch keine Unterhaltungen.",
    back: "Zurück zu den Unterhaltungen", pick: "Wähle eine Unterhaltung", messages: "Nachrichten",
    message: "Nachricht", type: "Nachricht schreiben (Enter sendet, Umschalt+Enter: neue Zeile)", send: "Senden",
    unread: "{n} ungelesen", me: "ich", sent: "gesendet", delivered: "zugestellt", read: "gelesen",
    file: "Datei", photo: "Foto", location: "Standort", map: "Karte", task: "Aufgabe", due: "fällig",
    open: "offen", accepted: "angenommen", done: "erledigt", accept: "Annehmen", mark_done: "Erledigt",
    reply_accept: "hat die Aufgabe angenommen", reply_done: "hat die Aufgabe erledigt",
    my_reply_accept: "Du hast die Aufgabe angenommen", my_reply_done: "Du hast die Aufgabe erledigt",
    link_up: "verbunden", link_down: "offline, verbinde neu…",
    contact: "Kontakt", group: "Gruppe", channel: "Kanal", no_msgs: "Noch keine Nachrichten.",
    send_failed: "Senden fehlgeschlagen: {e}", you_are: "Du bist {id}",
    my_qr: "Mein QR-Code", my_qr_title: "Zeig diesen Code, um hinzugefügt zu werden", user_id: "Benutzer-ID",
    safety: "Sicherheitsnummer", add_title: "Kontakt hinzufügen", contact_id: "Benutzer-ID, Alias oder Code",
    contact_name: "Name (freiwillig)", add: "Hinzufügen", added: "{name} hinzugefügt. Vergleicht die Sicherheitsnummer {s} persönlich.",
    attach: "Foto oder Datei anhängen", sending_file: "Sende {name}…",
    more: "Standort oder Aufgabe", loc_label: "Standort (Breite, Länge)", here: "Hier",
    send_loc: "Standort senden", task_label: "Aufgabe", due_label: "Fällig (freiwillig)", send_task: "Aufgabe senden"
  }
};
