#!/usr/bin/env python3
"""Copy a few real serf frames into tests/fixtures/hostile/frames.txt.

One-off: run by hand from the repository root, with the vectors directory
as argument (captured serf packets, *.messages.jsonl). Nothing runs it at build or test
time. The hostile sender (tests/e2e/hostile.lua) truncates and bit-flips
these frames and never sends one intact.

Each line: TRANSPORT FLAGS SOURCE HEX
  FLAGS: t = may be truncated, f = may be bit-flipped. A mutation must never
  yield a valid message that changes the target's member view (the test
  asserts it does not change):
  * flipping is allowed for CRC-wrapped and encrypted frames (the check
    rejects any flip), and for frames whose every part is harmless anyway
    (ping/ack/nack/user, suspect/dead about nodes the target does not know);
  * flipping is NOT allowed for plain frames that carry an alive or a
    push/pull outside a CRC: a flip elsewhere would leave a valid alive;
  * truncation is allowed for all of these: a truncated push/pull must not
    be merged, and a truncated compound loses its last part (the alive) first.
The sender also never flips a byte of an embedded 127.0.0.1 address, so a
mangled frame cannot make the target send to a non-loopback address.
"""
import json
import os
import sys
from collections import defaultdict

# (capture, record, flags): chosen by hand from the decoded captures.
PICKS = [
    ("serf-plain", 12, "tf"),    # udp ping
    ("serf-plain", 15, "tf"),    # udp ack with serf coordinate
    ("serf-plain", 13, "tf"),    # udp compress > ack
    ("serf-plain", 82, "tf"),    # udp user (serf)
    ("serf-plain", 160, "tf"),   # udp indirectPing
    ("serf-plain", 165, "tf"),   # udp nack
    ("serf-plain", 166, "tf"),   # udp crc > suspect
    ("serf-plain", 256, "tf"),   # udp crc > dead
    ("serf-plain", 18, "tf"),    # udp crc > alive
    ("serf-plain", 3, "tf"),     # udp crc > compound[alive, alive]
    ("serf-plain", 20, "tf"),    # udp crc > compound[alive x3, user]
    ("serf-plain", 176, "tf"),   # udp compound[ping, suspect]
    ("serf-plain", 286, "tf"),   # udp compound[ack, dead]
    ("serf-plain", 189, "t"),    # udp compound[ack, alive]: no flips
    ("serf-plain", 16, "t"),     # tcp pushPull (uncompressed): no flips
    ("serf-plain", 1, "t"),      # tcp compress > pushPull: no flips
    ("serf-plain", 162, "tf"),   # tcp compress > ping
    ("serf-plain", 182, "tf"),   # tcp ack (responder side, sent unasked)
    ("serf-encrypted", 12, "tf"),   # udp enc ping
    ("serf-encrypted", 18, "tf"),   # udp enc crc > alive
    ("serf-encrypted", 3, "tf"),    # udp enc crc > compound[alive, alive]
    ("serf-encrypted", 203, "tf"),  # udp enc compound[ack, alive]
    ("serf-encrypted", 86, "tf"),   # udp enc user
    ("serf-encrypted", 16, "tf"),   # tcp enc pushPull
    ("serf-encrypted", 1, "tf"),    # tcp enc compress > pushPull
    ("serf-encrypted", 166, "tf"),  # tcp enc compress > ping
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    vectors = sys.argv[1]
    records = {}
    for capture in sorted({p[0] for p in PICKS}):
        recs = defaultdict(list)
        with open(os.path.join(vectors, capture + ".messages.jsonl")) as f:
            for line in f:
                m = json.loads(line)
                recs[m["record"]].append(m)
        records[capture] = recs
    out = ["# Real serf frames for tests/e2e/hostile.lua (see tools/gen_hostile_fixtures.py).",
           "# TRANSPORT FLAGS SOURCE HEX"]
    for capture, record, flags in PICKS:
        ms = records[capture][record]
        first = ms[0]
        kinds = "+".join(m["type_name"] for m in ms)
        out.append("%s %s %s#%d:%s %s" % (first["transport"], flags, capture, record, kinds,
                                          first["wire_hex"]))
    os.makedirs("tests/fixtures/hostile", exist_ok=True)
    with open("tests/fixtures/hostile/frames.txt", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
