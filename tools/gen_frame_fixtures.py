#!/usr/bin/env python3
"""Convert captured memberlist vectors into line-based framing fixtures.

    tools/gen_frame_fixtures.py VECTORS_DIR [OUT_DIR] [CORPUS_DIR]

VECTORS_DIR holds packets captured from serf and memberlist with the test
keys (*.jsonl). Defaults: -> tests/fixtures/frames, and the fuzz seed
corpora fuzz/corpus/fuzz_packet/ and fuzz/corpus/fuzz_stream/. Run by hand when the
vectors change; the output is committed and the C tests read only it.

Every UDP datagram and TCP direction of every vector goes through a small
reference receive path written here (label, AES-GCM, CRC, compound, LZW);
where the vectors carry their own decoding (*.messages.jsonl), the result
is checked against it, so the expected messages in the fixtures are the
recorded ones. Output files:

  <vector>.txt   key <hex> / label <hex> lines, then per frame:
                   frame udp|tcp-i|tcp-r <seq>
                   wire <hex>
                   msg <path or -> <hex>      (one per contained message)
                   end
  lzw.txt        lzw <plain hex> <compressed hex>   (every compress payload)
  crypt.txt      seal <version> <key hex> <nonce hex> <aad hex or -> <plain hex> <envelope hex>
"""
import base64
import json
import os
import sys
import zlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if len(sys.argv) < 2:
    sys.exit(__doc__)
VEC = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "frames")
CORPUS = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus")

SERF_KEY = base64.b64decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")

lzw_pairs = {}
seals = []


def lzw_decode(buf):
    out = bytearray()
    bits = nbits = 0
    width, hi, overflow, last = 9, 257, 512, None
    prefix, suffix = [0] * 4096, [0] * 4096
    pos = 0
    while True:
        while nbits < width:
            if pos == len(buf):
                raise ValueError("lzw: no EOF")
            bits |= buf[pos] << nbits
            pos += 1
            nbits += 8
        code = bits & ((1 << width) - 1)
        bits >>= width
        nbits -= width
        if code == 256:
            width, hi, overflow, last = 9, 257, 512, None
            continue
        if code == 257:
            return bytes(out)
        if code > hi:
            raise ValueError("lzw: bad code")
        if code < 256:
            exp = bytes([code])
        else:
            c = code if not (code == hi and last is not None) else last
            chain = bytearray()
            while c >= 256:
                chain.append(suffix[c])
                c = prefix[c]
            chain.append(c)
            exp = bytes(reversed(chain))
            if code == hi and last is not None:
                exp = exp + exp[:1]
        out += exp
        if last is not None:
            suffix[hi], prefix[hi] = exp[0], last
        last, hi = code, hi + 1
        if hi >= overflow:
            if width == 12:
                last, hi = None, hi - 1
            else:
                width, overflow = width + 1, overflow << 1


def lzw_encode(data):
    """Greedy LZW with Go's rules: Clear first, Clear at 4095, EOF last."""
    out = bytearray()
    st = {"bits": 0, "nbits": 0, "width": 9}

    def put(c):
        st["bits"] |= c << st["nbits"]
        st["nbits"] += st["width"]
        while st["nbits"] >= 8:
            out.append(st["bits"] & 0xFF)
            st["bits"] >>= 8
            st["nbits"] -= 8

    table, hi, overflow = {}, 257, 512

    def inc():
        nonlocal hi, overflow, table
        hi += 1
        if hi == overflow:
            st["width"] += 1
            overflow <<= 1
        if hi == 4095:
            put(256)
            st["width"], hi, overflow, table = 9, 257, 512, {}
            return True
        return False

    put(256)
    code = None
    if data:
        code = data[0]
        for x in data[1:]:
            k = (code, x)
            if k in table:
                code = table[k]
                continue
            put(code)
            code = x
            if inc():
                continue
            table[k] = hi
    if code is not None:
        put(code)
        inc()
    put(257)
    if st["nbits"] > 0:
        out.append(st["bits"] & 0xFF)
    return bytes(out)


def mp_read(b, i):
    """Minimal msgpack reader for the compress map: returns (value, next)."""
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if 0x80 <= t <= 0x8F:
        m = {}
        i += 1
        for _ in range(t & 0x0F):
            k, i = mp_read(b, i)
            v, i = mp_read(b, i)
            m[bytes(k).decode()] = v
        return m, i
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[i + 1:i + 1 + n], i + 1 + n
    sizes = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
    if t in sizes:
        w = sizes[t]
        n = int.from_bytes(b[i + 1:i + 1 + w], "big")
        return b[i + 1 + w:i + 1 + w + n], i + 1 + w + n
    ints = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
    if t in ints:
        w = ints[t]
        return int.from_bytes(b[i + 1:i + 1 + w], "big", signed=t >= 0xD0), i + 1 + w
    raise ValueError("msgpack type %02x" % t)


def inflate(msg):
    assert msg[0] == 9
    m, end = mp_read(msg, 1)
    assert end == len(msg), "bytes after compress map"
    assert m["Algo"] == 0
    plain = lzw_decode(bytes(m["Buf"]))
    comp = bytes(m["Buf"])
    assert lzw_encode(plain) == comp, "reference encoder differs from Go"
    lzw_pairs[plain.hex()] = comp.hex()
    return plain


def decrypt(keys, env, aad):
    for k in keys:
        try:
            pt = AESGCM(k).decrypt(env[1:13], env[13:], aad)
        except Exception:
            continue
        if env[0] == 0:
            pt = pt[:-pt[-1]]
        else:
            assert env[0] == 1
            # our encryption of pt with the same nonce must give the same envelope
            assert b"\x01" + env[1:13] + AESGCM(k).encrypt(env[1:13], pt, aad) == env
            seals.append((1, k.hex(), env[1:13].hex(), aad.hex() if aad else "-", pt.hex(), env.hex()))
        return pt
    raise ValueError("no key decrypts")


def dispatch(msg, path, out):
    if msg[0] == 7:
        n = msg[1]
        lens = [int.from_bytes(msg[2 + 2 * i:4 + 2 * i], "big") for i in range(n)]
        off = 2 + 2 * n
        for i, ln in enumerate(lens):
            assert off + ln <= len(msg), "truncated compound in a vector"
            dispatch(msg[off:off + ln], path + "compound[%d/%d]>" % (i, n), out)
            off += ln
        assert off == len(msg)
    elif msg[0] == 9:
        dispatch(inflate(msg), path + "compress>", out)
    else:
        out.append((path, msg))


def udp_rx(wire, keys, label):
    out = []
    if wire[0] == 0xF4:
        ln = wire[1]
        assert wire[2:2 + ln] == label
        wire = wire[2 + ln:]
    if keys:
        wire = decrypt(keys, wire, label)
    path = ""
    if wire[0] == 0x0C:
        assert zlib.crc32(wire[5:]) == int.from_bytes(wire[1:5], "big")
        wire, path = wire[5:], "hasCrc>"
    dispatch(wire, path, out)
    return out


def tcp_rx(wire, keys, label, initiator):
    path = ""
    if initiator and wire[0] == 0xF4:
        ln = wire[1]
        assert wire[2:2 + ln] == label
        wire = wire[2 + ln:]
    if wire[0] == 0x0A:
        ln = int.from_bytes(wire[1:5], "big")
        assert 5 + ln == len(wire)
        wire, path = decrypt(keys, wire[5:], wire[:5] + label), "encrypt>"
    if wire[0] == 0x09:
        wire, path = inflate(wire), path + "compress>"
    return [(path, wire)]


def write_corpus(name, keys, label, frames):
    """Seeds for fuzz/fuzz_packet.c and fuzz/fuzz_stream.c: a selector byte
    (bit 0 label "vectorgen", bit 1 keyring; stream: bit 3 from initiator,
    then a chunking seed byte) and the frame; one frame per kind of content."""
    seen = set()
    for kind, ident, wire, msgs in frames:
        sig = (kind, tuple(p for p, _ in msgs), tuple(m[0] for _, m in msgs))
        if sig in seen or len(wire) > 4000:
            continue
        seen.add(sig)
        sel = (1 if label else 0) | (2 if keys else 0)
        if kind == "udp":
            path, data = os.path.join(CORPUS, "fuzz_packet"), bytes([sel]) + wire
        else:
            sel |= 8 if kind == "tcp-i" else 0
            path, data = os.path.join(CORPUS, "fuzz_stream"), bytes([sel, int(ident) & 0xFF]) + wire
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "%s-%s" % (name, ident)), "wb") as f:
            f.write(data)


def write_vector(name, keys, label, frames):
    write_corpus(name, keys, label, frames)
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("# generated by tools/gen_frame_fixtures.py from %s; do not edit\n" % name)
        for k in keys:
            f.write("key %s\n" % k.hex())
        if label:
            f.write("label %s\n" % label.hex())
        for kind, ident, wire, msgs in frames:
            f.write("frame %s %s\nwire %s\n" % (kind, ident, wire.hex()))
            for path, m in msgs:
                f.write("msg %s %s\n" % (path or "-", m.hex()))
            f.write("end\n")


def recorded(jsonl, key):
    """messages.jsonl -> {record key: [(path, hex)] of non-container messages}"""
    rec = {}
    for line in open(jsonl):
        r = json.loads(line)
        rec.setdefault(r[key], {"r": r, "msgs": []})
        if r["type"] not in (7, 9):
            rec[r[key]]["msgs"].append((r["path"], r["hex"]))
    return rec


def main():
    os.makedirs(OUT, exist_ok=True)
    total = checked = 0
    for mode in ("plain", "encrypted"):
        keys = [SERF_KEY] if mode == "encrypted" else []
        frames = []
        for recno, g in sorted(recorded(os.path.join(VEC, "serf-%s.messages.jsonl" % mode), "record").items()):
            r = g["r"]
            wire = bytes.fromhex(r["wire_hex"])
            if r["transport"] == "udp":
                kind, msgs = "udp", udp_rx(wire, keys, b"")
            else:
                init = r["tcp_role"] == "initiator"
                kind, msgs = "tcp-i" if init else "tcp-r", tcp_rx(wire, keys, b"", init)
            assert [(p, m.hex()) for p, m in msgs] == g["msgs"], (mode, recno)
            checked += 1
            frames.append((kind, str(recno), wire, msgs))
        total += len(frames)
        write_vector("serf-" + mode, keys, b"", frames)

    for name in ("vectorgen-0.2.2-plain", "vectorgen-0.2.2-compressed", "vectorgen-0.2.2-encrypted",
                 "vectorgen-0.5.1-plain", "vectorgen-0.5.1-label", "vectorgen-0.5.1-label-encrypted"):
        d = json.load(open(os.path.join(VEC, name + ".frames.json")))
        keys = [bytes.fromhex(d["key_hex"])] if d["key_hex"] else []
        label = d["label"].encode()
        jl = os.path.join(VEC, name + ".messages.jsonl")
        rec = recorded(jl, "seq") if os.path.exists(jl) else None
        frames = []
        for fr in d["frames"]:
            wire = bytes.fromhex(fr["hex"])
            if not wire:
                continue
            if fr["transport"] == "udp":
                kind, msgs = "udp", udp_rx(wire, keys, label)
            else:
                init = fr["tcp_role"] == "initiator"
                kind, msgs = "tcp-i" if init else "tcp-r", tcp_rx(wire, keys, label, init)
            if rec is not None:
                assert [(p, m.hex()) for p, m in msgs] == rec[fr["seq"]]["msgs"], (name, fr["seq"])
                checked += 1
            frames.append((kind, str(fr["seq"]), wire, msgs))
        total += len(frames)
        write_vector(name, keys, label, frames)

    with open(os.path.join(OUT, "lzw.txt"), "w") as f:
        f.write("# generated by tools/gen_frame_fixtures.py: every LZW payload in the vectors\n")
        for plain, comp in sorted(lzw_pairs.items()):
            f.write("lzw %s %s\n" % (plain or "-", comp))
    with open(os.path.join(OUT, "crypt.txt"), "w") as f:
        f.write("# generated by tools/gen_frame_fixtures.py: every encryption envelope in the vectors\n")
        # version 0 (PKCS#7 padded) envelopes are not in the captures: make a
        # few here from the first version 1 ones, for the decoder tests
        for ver, key, nonce, aad, pt, env in seals[:8]:
            raw = bytes.fromhex(pt)
            pad = 16 - len(raw) % 16
            k, n = bytes.fromhex(key), bytes.fromhex(nonce)
            a = bytes.fromhex(aad) if aad != "-" else b""
            env0 = b"\x00" + n + AESGCM(k).encrypt(n, raw + bytes([pad]) * pad, a)
            seals.append((0, key, nonce, aad, pt, env0.hex()))
        seen = set()
        for s in seals:
            if s not in seen:
                seen.add(s)
                f.write("seal %d %s %s %s %s %s\n" % s)
    print("%d frames (%d checked against messages.jsonl), %d lzw payloads, %d envelopes"
          % (total, checked, len(lzw_pairs), len(seen)))


if __name__ == "__main__":
    main()
