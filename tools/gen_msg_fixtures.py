#!/usr/bin/env python3
"""Convert captured memberlist test vectors into message-body fixtures.

Run by hand (never at build or test time):

    python3 tools/gen_msg_fixtures.py VECTORS_DIR tests/fixtures/messages \
        [fuzz/corpus/fuzz_msg]

The optional third argument also writes a small seed corpus for the
fuzz_msg target: a few distinct messages of every type, as binary files.

Sources:
  * <name>.messages.jsonl (serf captures, vectorgen 0.2.2 runs): every
    message with its recorded fields ([key, msgpack format, value]) and, for
    push/pull, node states. Our own small msgpack reader decodes each
    message too, and the script stops if it disagrees with the recording,
    so the fixture is checked by two independent decoders.
  * vectorgen-0.5.1-{plain,label}.frames.json (no messages.jsonl): frames
    are split here (label, CRC, compound; these runs have no compression or
    encryption) and the fields come from our reader. 0.5.1 writes Go int
    fields in go-msgpack v2 style.

Output: one <source>.tsv per source plus index.txt listing them. Each line:

    source  style  transport  type  count  hex  fields

  style     v0 (go-msgpack 0.5, memberlist <= 0.5.0) or v2 (>= 0.5.1)
  transport udp or tcp (user messages differ: tcp has a UserMsgLen header)
  count     how many times this exact message occurred in the source
            (identical messages are written once)
  hex       the message from its type byte (push/pull: header, node states
            and user state; tcp user: header and payload)
  fields    space-separated Key=value in wire order; push/pull node states
            as ns<i>.Key=value; trailing raw data (push/pull user state,
            user payload) as user=value. Values: decimal integer, true,
            false, nil, or x:<hex> for strings and byte slices.
"""
import json
import os
import sys


class Reader:
    def __init__(self, b, off=0):
        self.b = b
        self.i = off

    def byte(self):
        c = self.b[self.i]
        self.i += 1
        return c

    def be(self, n):
        v = int.from_bytes(self.b[self.i:self.i + n], "big")
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        self.i += n
        return v

    def raw(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def value(self):
        """(format name as the vectors spell it, python value)."""
        c = self.byte()
        if c <= 0x7f:
            return "posfixint", c
        if c >= 0xe0:
            return "negfixint", c - 256
        if 0xa0 <= c <= 0xbf:
            return "fixstr", self.raw(c & 0x1f)
        if 0x80 <= c <= 0x8f:
            return "fixmap", self.map_body(c & 0x0f)
        if 0x90 <= c <= 0x9f:
            return "fixarray", [self.value()[1] for _ in range(c & 0x0f)]
        simple = {0xc0: ("nil", None), 0xc2: ("false", False), 0xc3: ("true", True)}
        if c in simple:
            return simple[c]
        uints = {0xcc: ("uint8", 1), 0xcd: ("uint16", 2), 0xce: ("uint32", 4), 0xcf: ("uint64", 8)}
        if c in uints:
            name, n = uints[c]
            return name, self.be(n)
        ints = {0xd0: ("int8", 1), 0xd1: ("int16", 2), 0xd2: ("int32", 4), 0xd3: ("int64", 8)}
        if c in ints:
            name, n = ints[c]
            v = self.be(n)
            if v >= 1 << (8 * n - 1):
                v -= 1 << (8 * n)
            return name, v
        raws = {0xd9: ("str8", 1), 0xda: ("str16", 2), 0xdb: ("str32", 4),
                0xc4: ("bin8", 1), 0xc5: ("bin16", 2), 0xc6: ("bin32", 4)}
        if c in raws:
            name, n = raws[c]
            return name, self.raw(self.be(n))
        if c in (0xde, 0xdf):
            return "map", self.map_body(self.be(2 if c == 0xde else 4))
        if c in (0xdc, 0xdd):
            n = self.be(2 if c == 0xdc else 4)
            return "array", [self.value()[1] for _ in range(n)]
        raise ValueError("unsupported msgpack byte %02x" % c)

    def map_body(self, n):
        out = []
        for _ in range(n):
            kf, k = self.value()
            vf, v = self.value()
            out.append([k.decode(), vf, v])
        return out

    def fields(self):
        """A top-level struct map as [[key, format, value], ...]."""
        c = self.b[self.i]
        if not 0x80 <= c <= 0x8f:
            raise ValueError("body is not a fixmap: %02x" % c)
        return self.value()[1]


def canon(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return "x:" + bytes(v).hex()
    if isinstance(v, str):
        if v.startswith("hex:"):
            return "x:" + v[4:]
        if v.startswith("text:"):
            return "x:" + v[5:].encode().hex()
    raise ValueError("cannot flatten %r" % (v,))


def flat(fields, prefix=""):
    return ["%s%s=%s" % (prefix, k, canon(v)) for k, _fmt, v in fields]


def decode_message(msg, transport):
    """Fields, node states and trailing raw bytes, from our own reader."""
    t = msg[0]
    if t == 8 and transport == "udp":
        return [], [], msg[1:]
    r = Reader(msg, 1)
    fields = r.fields()
    states = []
    trailer = None
    if t == 6:
        d = {k: v for k, _f, v in fields}
        for _ in range(d.get("Nodes", 0)):
            states.append(r.fields())
        trailer = r.raw(d.get("UserStateLen", 0))
    elif t == 8:
        d = {k: v for k, _f, v in fields}
        trailer = r.raw(d.get("UserMsgLen", 0))
    if r.i != len(msg):
        raise ValueError("%d trailing bytes after a type %d message" % (len(msg) - r.i, t))
    return fields, states, trailer


def same_fields(ours, recorded):
    if len(ours) != len(recorded):
        return False
    for (k1, f1, v1), (k2, f2, v2) in zip(ours, recorded):
        if k1 != k2 or f1 != f2 or canon(v1) != canon(v2):
            return False
    return True


def line(source, style, transport, msg):
    fields, states, trailer = decode_message(msg, transport)
    toks = flat(fields)
    for i, ns in enumerate(states):
        toks += flat(ns, "ns%d." % i)
    if trailer is not None:
        toks.append("user=" + canon(trailer))
    return (source, style, transport, str(msg[0]), msg.hex(), " ".join(toks))


def from_jsonl(path, source, style):
    out = []
    for text in open(path):
        o = json.loads(text)
        msg = bytes.fromhex(o["hex"])
        fields, states, _trailer = decode_message(msg, o["transport"])
        rec = o.get("fields") or []
        if not same_fields(fields, rec):
            sys.exit("%s record %s: our decoder disagrees: %r vs %r" % (path, o["record"], fields, rec))
        for ours, theirs in zip(states, o.get("node_states") or []):
            if not same_fields(ours, theirs):
                sys.exit("%s record %s: node state disagrees" % (path, o["record"]))
        if len(states) != len(o.get("node_states") or []):
            sys.exit("%s record %s: node state count" % (path, o["record"]))
        if "raw_trailer_hex" in o and bytes.fromhex(o["raw_trailer_hex"]) != _trailer:
            sys.exit("%s record %s: trailer disagrees" % (path, o["record"]))
        out.append(line(source, style, o["transport"], msg))
    return out


def split_udp(b):
    """Messages inside one datagram (plain: label, CRC, compound only)."""
    if b[0] == 0xF4:
        b = b[2 + b[1]:]
    if b[0] == 12:
        b = b[5:]
    if b[0] == 7:
        n = b[1]
        lens = [int.from_bytes(b[2 + 2 * i:4 + 2 * i], "big") for i in range(n)]
        off = 2 + 2 * n
        parts = []
        for ln in lens:
            parts += split_udp(b[off:off + ln])
            off += ln
        return parts
    if b[0] in (9, 10):
        raise ValueError("compressed or encrypted frame in a plain run")
    return [b]


def from_frames(path, source, style):
    d = json.load(open(path))
    out = []
    for f in d["frames"]:
        b = bytes.fromhex(f["hex"])
        if f["transport"] == "tcp":
            if b[0] == 0xF4:
                b = b[2 + b[1]:]
            msgs = [b]
        else:
            msgs = split_udp(b)
        for m in msgs:
            out.append(line(source, style, f["transport"], m))
    return out


# Hand-made seeds for what the captures never show: other raw formats,
# another key order, Vsn as an array, an unknown nested key, err, signed
# ints, map16.
HAND_SEEDS = {
    "hand-ping-d9-bin": "0084a44e6f6465d9026e32a55365714e6fd10005aa536f7572636541646472c4047f000001"
                        "aa536f757263654e6f6465db000000026e31",
    "hand-alive-vsn-array": "0486a3566e73960105020205 05a4506f7274cd461aa44e6f6465a26e31a44d657461c0"
                            "ab496e6361726e6174696f6e07a441646472a47f000001",
    "hand-nack-unknown": "0b82a545787472618291c0a1619301c3cb3ff0000000000000a55365714e6f11",
    "hand-err": "0d81a54572726f72bd72656d6f7465207374617465206973206e6f7420656e63727970746564",
    "hand-pushpull-v2-neg": "0683a44a6f696ec2a54e6f646573ffac5573657253746174654c656ed3000000000000000a",
    "hand-user-tcp-map16": "08de0001aa557365724d73674c656e0378797a",
}

SOURCES = [
    ("serf-plain", "v0", "messages.jsonl"),
    ("serf-encrypted", "v0", "messages.jsonl"),
    ("vectorgen-0.2.2-plain", "v0", "messages.jsonl"),
    ("vectorgen-0.2.2-encrypted", "v0", "messages.jsonl"),
    ("vectorgen-0.5.1-plain", "v2", "frames.json"),
    ("vectorgen-0.5.1-label", "v2", "frames.json"),
]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: gen_msg_fixtures.py VECTORS_DIR OUT_DIR [CORPUS_DIR]")
    vec, outdir = sys.argv[1], sys.argv[2]
    corpus = sys.argv[3] if len(sys.argv) == 4 else None
    seeds = {}
    os.makedirs(outdir, exist_ok=True)
    names = []
    for source, style, kind in SOURCES:
        path = os.path.join(vec, "%s.%s" % (source, kind))
        rows = from_jsonl(path, source, style) if kind.endswith("jsonl") else from_frames(path, source, style)
        counts = {}
        order = []
        for r in rows:
            if r not in counts:
                counts[r] = 0
                order.append(r)
            counts[r] += 1
        name = source + ".tsv"
        with open(os.path.join(outdir, name), "w") as fh:
            for r in order:
                s, st, tr, ty, hx, fl = r
                fh.write("\t".join([s, st, tr, ty, str(counts[r]), hx, fl]) + "\n")
        names.append(name)
        for r in order:
            s_, st, tr, ty, hx, _fl = r
            key = (ty, tr, st)
            # Three per kind, smallest first, keeps the corpus small but
            # covers every type, transport and int style.
            seeds.setdefault(key, set()).add(hx)
        print("%s: %d messages, %d distinct" % (source, len(rows), len(order)))
    with open(os.path.join(outdir, "index.txt"), "w") as fh:
        fh.write("".join(n + "\n" for n in names))
    if corpus:
        os.makedirs(corpus, exist_ok=True)
        count = 0
        for (ty, tr, st), hexes in sorted(seeds.items()):
            picked = sorted(hexes, key=lambda h: (len(h), h))
            picked = picked[:2] + picked[-1:] if len(picked) > 3 else picked
            for i, hx in enumerate(picked):
                fn = "vec-%s-%s-%s-%d" % (ty, tr, st, i)
                with open(os.path.join(corpus, fn), "wb") as fh:
                    fh.write(bytes.fromhex(hx))
                count += 1
        for fn, hx in HAND_SEEDS.items():
            with open(os.path.join(corpus, fn), "wb") as fh:
                fh.write(bytes.fromhex(hx.replace(" ", "")))
            count += 1
        print("corpus: %d seeds" % count)


if __name__ == "__main__":
    main()
