#!/usr/bin/env python3
"""Extract serf's own messages from captured vectors into fixtures.

Run by hand (never at build or test time):

    python3 tools/gen_serf_fixtures.py VECTORS_DIR OUT_DIR [EXTRA.hex ...] \
        [--corpus CORPUS_DIR]

VECTORS_DIR holds serf-plain.messages.jsonl and serf-encrypted.messages.jsonl
(real serf 0.9.4 agents captured on loopback). From every memberlist user
message (type 8) the payload is serf's message; from every push/pull the
last UserStateLen bytes are serf's push/pull state. Each EXTRA.hex file has
lines "name<TAB>hex" (comments start with #) of serf messages made some
other way; they are rendered the same way into OUT_DIR/<EXTRA's stem>.tsv.
With --corpus, one binary seed per distinct message is written there for
the fuzz_serf target, prefixed with the selector byte that target reads.

Output: OUT_DIR/<source>.tsv, one line per distinct serf message:

    source  where  type  count  hex  fields

  where   user (a user message's payload), state (a push/pull's user
          state) or the name given in EXTRA.hex (a name that starts with
          "filter" is a query filter, not a message)
  type    serf's type byte, decimal
  count   how many times these exact bytes occurred in the source
  hex     the serf message from its type byte
  fields  what our own small msgpack reader finds after the type byte:
          the top-level map as space-separated Key=value in wire order (a
          top-level nil is the single word nil); a relay's inner message
          (the bytes after its header) as inner=x:<hex>. Values: decimal
          integer, true, false, nil, x:<hex> for strings and byte slices,
          [a,b] for arrays with a run of k equal items written item*k,
          {k=v,k=v} for maps. A map key is written as it is when it is
          made of letters, digits, '_', '.' and '-', else as x:<hex>.
"""
import json
import os
import sys

SOURCES = ["serf-plain", "serf-encrypted"]


def fuzz_selector(where, msg):
    """fuzz_serf's first byte: the message type, or 10 for a query
    filter (whose own type bytes 0 and 1 are not message types); see
    fuzz/fuzz_serf.c."""
    return 10 if where.startswith("filter") else msg[0]


class Reader:
    def __init__(self, b, off=0):
        self.b = b
        self.i = off

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def be(self, n):
        return int.from_bytes(self.take(n), "big")

    def value(self):
        c = self.take(1)[0]
        if c <= 0x7f:
            return c
        if c >= 0xe0:
            return c - 256
        if 0xa0 <= c <= 0xbf:
            return bytes(self.take(c & 0x1f))
        if 0x80 <= c <= 0x8f:
            return self.map_body(c & 0x0f)
        if 0x90 <= c <= 0x9f:
            return [self.value() for _ in range(c & 0x0f)]
        if c == 0xc0:
            return None
        if c in (0xc2, 0xc3):
            return c == 0xc3
        uints = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
        if c in uints:
            return self.be(uints[c])
        ints = {0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}
        if c in ints:
            n = ints[c]
            v = self.be(n)
            return v - (1 << (8 * n)) if v >= 1 << (8 * n - 1) else v
        raws = {0xd9: 1, 0xda: 2, 0xdb: 4, 0xc4: 1, 0xc5: 2, 0xc6: 4}
        if c in raws:
            return bytes(self.take(self.be(raws[c])))
        if c in (0xde, 0xdf):
            return self.map_body(self.be(2 if c == 0xde else 4))
        if c in (0xdc, 0xdd):
            return [self.value() for _ in range(self.be(2 if c == 0xdc else 4))]
        raise ValueError("unsupported msgpack byte %02x" % c)

    def map_body(self, n):
        return Map((self.value(), self.value()) for _ in range(n))


class Map(list):
    """A msgpack map: (key, value) pairs in wire order."""


def key(k):
    ok = isinstance(k, bytes) and k and all(
        chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_.-") for c in k)
    return k.decode() if ok else render(k)


def render(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return "x:" + v.hex()
    if isinstance(v, Map):
        return "{" + ",".join("%s=%s" % (key(k), render(x)) for k, x in v) + "}"
    if isinstance(v, list):
        items = [render(x) for x in v]
        out = []
        i = 0
        while i < len(items):
            j = i
            while j < len(items) and items[j] == items[i]:
                j += 1
            out.append(items[i] if j - i == 1 else "%s*%d" % (items[i], j - i))
            i = j
        return "[" + ",".join(out) + "]"
    raise ValueError("cannot render %r" % (v,))


def fields(msg):
    """The rendering of a serf message after its type byte."""
    r = Reader(msg, 1)
    body = r.value()
    if body is None:
        toks = ["nil"]
    elif isinstance(body, Map):
        toks = ["%s=%s" % (key(k), render(v)) for k, v in body]
    elif isinstance(body, list):
        toks = [render(body)]   # a node filter: a bare []string
    else:
        raise ValueError("serf message body is not a map, an array or nil")
    if msg[0] == 9:
        toks.append("inner=x:" + msg[r.i:].hex())
    elif r.i != len(msg):
        raise ValueError("%d bytes after a type %d message" % (len(msg) - r.i, msg[0]))
    return " ".join(toks)


def from_capture(path):
    """(where, serf message) for every serf message in a capture."""
    out = []
    for text in open(path):
        o = json.loads(text)
        msg = bytes.fromhex(o["hex"])
        if o["type"] == 8:
            if o["transport"] != "udp":
                sys.exit("%s record %s: a TCP user message, not handled" % (path, o["record"]))
            out.append(("user", msg[1:]))
        elif o["type"] == 6:
            n = [v for k, _f, v in o["fields"] if k == "UserStateLen"][0]
            if n:
                out.append(("state", msg[len(msg) - n:]))
    return out


def from_hex(path):
    out = []
    for text in open(path):
        text = text.strip()
        if text and not text.startswith("#"):
            name, hx = text.split("\t")
            out.append((name, bytes.fromhex(hx)))
    return out


def write(out_dir, source, items, corpus, seen):
    rows = {}
    for where, msg in items:
        k = (where, msg)
        rows.setdefault(k, 0)
        rows[k] += 1
    path = os.path.join(out_dir, source + ".tsv")
    with open(path, "w") as f:
        for (where, msg), count in rows.items():
            f.write("\t".join([source, where, str(msg[0]), str(count), msg.hex(), fields(msg)]) + "\n")
            if corpus is not None and msg not in seen:
                seen.add(msg)
                name = "%s-%d-%s.bin" % (source, len(seen), where)
                with open(os.path.join(corpus, name), "wb") as c:
                    c.write(bytes([fuzz_selector(where, msg)]) + msg)
    print("%s: %d distinct of %d" % (path, len(rows), len(items)))


def main(argv):
    corpus = None
    if "--corpus" in argv:
        i = argv.index("--corpus")
        corpus = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
        os.makedirs(corpus, exist_ok=True)
    if len(argv) < 3:
        sys.exit(__doc__)
    vectors, out_dir, extras = argv[1], argv[2], argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    seen = set()
    for source in SOURCES:
        write(out_dir, source, from_capture(os.path.join(vectors, source + ".messages.jsonl")), corpus, seen)
    for extra in extras:
        stem = os.path.splitext(os.path.basename(extra))[0]
        write(out_dir, stem, from_hex(extra), corpus, seen)


if __name__ == "__main__":
    main(sys.argv)
