"""`momedo bot`'s input, read with cJSON: every kind of malformed line gets one
{"type":"sent","ok":false,...} answer in order and is never sent (trailing text, not an
object, nested values, true/false/null, more than 8 fields, an empty or non-numeric
location, a \\u0000 escape that would cut the text, an overlong line), while escapes
(\\n, \\u00e9, a surrogate pair) arrive at the recipient exactly as written."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

BAD = [
    ('{"to":"alice","text":"x"} trailing', "not a JSON object"),
    ('["to","alice"]', "not a JSON object"),
    ('{"to":"alice","text":{"a":1}}', "not a JSON object"),
    ('{"to":"alice","text":"x","mime":null}', "not a JSON object"),
    ('{"to":"alice","text":"x","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}', "not a JSON object"),
    ('{"to":"alice","location":[]}', "not a JSON object"),
    ('{"to":"alice","location":["48","11"]}', "not a JSON object"),
    ('{"to":"alice","location":[48]}', '"location" must be'),
    ('{"to":"alice","text":"cut\\u0000here"}', "not a JSON object"),
    ('{"to":"alice","text":"x","bogus":1}', 'unknown field "bogus"'),
    ('{"to":"alice"}', "give exactly one of"),
    ('{"text":"x"}', 'give "to"'),
]
GOOD = ["line one\nline two", "caf\u00e9", "smile \U0001F600", 'quote " and \\ backslash']


class BotInputTest(T.ClusterTest, unittest.TestCase):
    def test_bad_lines_answered_good_ones_exact(self):
        a, b = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", a)
        bob = T.new_client(self.cluster, "bob", b)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        bot = bob.spawn("bot", stdin=True)
        lines = [line for line, _ in BAD] + [json.dumps({"to": "alice", "text": t}) for t in GOOD]
        lines.append('{"to":"alice","text":"' + "x" * (300 * 1024) + '"}')
        bot.stdin.write("\n".join(lines) + "\n")
        bot.stdin.flush()
        want = len(BAD) + len(GOOD) + 1
        out = T.JsonReader(bot, self.cluster).until(
            lambda ls: len([x for x in ls if x["type"] == "sent"]) >= want, "bot answers")
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        bot.stdout.close()
        bot.stderr.close()
        sent = [x for x in out if x["type"] == "sent"]
        for (line, words), ans in zip(BAD, sent):
            with self.subTest(line=line):
                self.assertFalse(ans["ok"], ans)
                self.assertEqual(ans["error"], "E_INVAL")
                self.assertIn(words, ans["message"])
        for ans in sent[len(BAD):len(BAD) + len(GOOD)]:
            self.assertTrue(ans["ok"], ans)
            self.assertEqual(ans["to"], "alice")
            self.assertEqual(ans["envelopes"], 1)
        self.assertEqual(sent[-1]["error"], "E_TOOBIG")
        self.assertIn("longer than", sent[-1]["message"])
        got = self.cluster.wait_for(lambda: (lambda t: t if len(t) >= len(GOOD) else None)(
            alice.texts()), "alice gets the texts")
        self.assertEqual(got, GOOD)


if __name__ == "__main__":
    unittest.main()
