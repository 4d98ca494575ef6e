#!/usr/bin/env python3
"""docs/bot-example.py — a small bot for a parking office, on top of `momedo bot`.

Staff (or citizens with a momedo account) send the office a photo of a wrongly parked
car and their location. Every photo that arrives with a location from the same sender
within 10 minutes becomes a case: a line in cases.csv (case number, sender's user ID,
time, latitude, longitude, path of the photo), and the sender gets the case number
back. Nothing here sees plaintext on a server: momedo decrypts on this machine only.

Run it with the bot account's home and passphrase, for example:

    export MOMEDO_PASSPHRASE_FILE=/etc/parking-bot/passphrase
    python3 bot-example.py --home /var/lib/parking-bot/momedo --cases /var/lib/parking-bot/cases.csv

Only the Python standard library is used. The bot's contacts must include the senders
(`momedo contact add ID`); messages from unknown senders are pinned on first use and
answered by their user ID.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

PAIR_WINDOW_S = 600


def main():
    ap = argparse.ArgumentParser(description="parking office bot on momedo")
    ap.add_argument("--home", required=True, help="the bot account's momedo home")
    ap.add_argument("--cases", default="cases.csv", help="CSV file of cases (appended)")
    ap.add_argument("--momedo", default="momedo", help="path of the momedo binary")
    args = ap.parse_args()

    cmd = [args.momedo, "bot", "--home", args.home]
    pf = os.environ.get("MOMEDO_PASSPHRASE_FILE")
    if pf:
        cmd += ["--passphrase-file", pf]
    bot = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           bufsize=1)
    pending = {}          # sender -> {"photo": msg, "location": msg, "t": time}
    next_case = count_cases(args.cases) + 1

    def reply(to, text):
        bot.stdin.write(json.dumps({"to": to, "text": text}) + "\n")
        bot.stdin.flush()

    for line in bot.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("type") == "sent":
            if not ev.get("ok"):
                print("could not answer: %s" % ev.get("message"), file=sys.stderr)
            continue
        if ev.get("type") != "message" or ev.get("outgoing"):
            continue
        sender = ev["from"]
        slot = pending.setdefault(sender, {"t": time.time()})
        if time.time() - slot["t"] > PAIR_WINDOW_S:
            slot.clear()
        slot["t"] = time.time()
        if ev["kind"] == "file" and (ev["file"].get("mime") or "").startswith("image/"):
            slot["photo"] = ev
        elif ev["kind"] == "location":
            slot["location"] = ev
        elif ev["kind"] == "text":
            reply(sender, "Parking office: please send a photo and your location.")
            continue
        else:
            continue
        if "photo" in slot and "location" in slot:
            loc = slot["location"]["location"]
            row = [next_case, sender, time.strftime("%Y-%m-%d %H:%M:%S"), loc["lat"],
                   loc["lon"], slot["photo"]["file"]["path"]]
            with open(args.cases, "a", newline="") as f:
                csv.writer(f).writerow(row)
            reply(sender, "Thank you. Case %d opened (%.5f, %.5f)." % (
                next_case, loc["lat"], loc["lon"]))
            next_case += 1
            pending.pop(sender, None)
    return bot.wait()


def count_cases(path):
    try:
        with open(path, newline="") as f:
            return sum(1 for _ in csv.reader(f))
    except FileNotFoundError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
