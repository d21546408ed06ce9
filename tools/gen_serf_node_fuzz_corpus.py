#!/usr/bin/env python3
"""Seed corpus for fuzz/fuzz_serf_node.c from the serf fixtures.

Run by hand from the repository root (never at build or test time):

    python3 tools/gen_serf_node_fuzz_corpus.py [OUT_DIR]

OUT_DIR defaults to fuzz/corpus/fuzz_serf_node; it is emptied first. The
fixtures also go to fuzz/corpus/fuzz_serf_query as fixture-* seeds. The
target reads a list of operations [op | sel << 4][len: u16 LE][len bytes]
(its header comment is the reference). Seeds:

  msg-*    every distinct serf message of tests/fixtures/serf/*.tsv (real
           serf 0.9.4 captures and serf's own encoders) as n1 gets it: a
           user message from n2 (types 0, 1, 3, 4, 5, 9), a push/pull state
           into the merge delegate (type 2, as a join's and not), and the
           payloads of queries (6 conflict response, 7 key request, 8 key
           response) inside a query from n2 whose name makes it internal;
           each followed by some time for the cluster to act on it;
  scene-*  short scripts of the command language: a query answered with
           acks, the key operations, a crash with force-leave and restart,
           a graceful leave, a conflict vote, coalesced events, new tags
           and a tag filter, a rejoin ignoring old events, clocks at the
           top, our own state;
  regress-* what the fuzzer found once, kept so that it stays fixed.
"""
import os
import sys

FIX = 'tests/fixtures/serf'


def op(o, sel=0, body=b''):
    return bytes([o | sel << 4, len(body) & 255, len(body) >> 8]) + body


def tick(ms):
    """time passes: first byte < 200 is tens of ms, else seconds"""
    if ms <= 1990:
        return op(3, 0, bytes([ms // 10]))
    return op(3, 0, bytes([199 + min(ms // 1000, 56)]))


def query(node, name, payload=b'', opts=0):
    return op(5, node, bytes([opts, len(name)]) + name + payload)


def user_event(node, name, payload=b'', coalesce=False):
    return op(4, node | (4 if coalesce else 0), bytes([len(name)]) + name + payload)


def key_query(node, kop, key=b'', relay=0):
    """kop: 0 install, 1 use, 2 remove, 3 list; a 16-byte key"""
    return op(7, node | 8, bytes([kop, relay]) + key)


def messages():
    seen = set()
    for fn in sorted(os.listdir(FIX)):
        if not fn.endswith('.tsv'):
            continue
        for line in open(os.path.join(FIX, fn)):
            f = line.rstrip('\n').split('\t')
            if len(f) < 5 or f[1].startswith('filter'):
                continue
            msg = bytes.fromhex(f[4])
            if msg in seen:
                continue
            seen.add(msg)
            yield '%s-%s-%d' % (f[0], f[1], len(seen)), int(f[2]), msg


INTERNAL = {6: b'_serf_conflict', 7: b'_serf_install-key', 8: b'_serf_list-keys'}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'fuzz/corpus/fuzz_serf_node'
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    seeds = {}
    for name, typ, msg in messages():
        if typ == 2:
            seeds['msg-' + name] = op(1, 0, msg) + tick(200)
            seeds['msg-' + name + '-join'] = op(1, 1, msg) + tick(200)
        elif typ in INTERNAL:
            # n2 asks, with the fixture as the query's payload (the
            # internal handlers decode it); a key request carries its
            # msgpack after serf's type byte, as serf sends it
            seeds['msg-' + name] = query(1, INTERNAL[typ], msg, opts=1) + tick(1500)
        else:
            seeds['msg-' + name] = op(0, 0, msg) + tick(200) + op(10)
    k1 = bytes(range(0x20, 0x30))
    seeds['scene-query-ack-respond'] = (query(1, b'deploy', b'v1', opts=1 | 4) + tick(50) + op(6, 0, b'\x00ok')
                                        + op(6, 2, b'\x00ok3') + tick(1500) + op(10))
    seeds['scene-query-filters'] = (query(0, b'who', b'^db$', opts=8 | 16 | 64) + tick(100)
                                    + op(6, 1, b'\x00me') + tick(1500))
    seeds['scene-keys'] = (key_query(0, 0, k1) + tick(1500) + key_query(1, 1, k1, 1) + tick(1500)
                           + key_query(2, 3) + tick(1500) + key_query(0, 2, bytes(range(1, 17))) + tick(1500))
    seeds['scene-crash-force-leave'] = (op(11, 0) + tick(30000) + tick(10000) + op(8, 1, b'\x01') + tick(200)
                                        + op(11, 1) + tick(2000) + op(10))
    # n2 leaves and stays up: its own entry, left, outlived the tombstone
    # timeout and serf_node_reap erased it (the assertion in
    # serf_node_erase; freed self in a build without it)
    seeds['regress-leave-reap-self'] = op(11, 2) + tick(3000) + tick(40000) + op(10)
    seeds['scene-conflict-query'] = query(2, b'_serf_conflict', b'n2', opts=1) + tick(1500)
    seeds['scene-conflict-vote'] = op(9, 1) + tick(1000) + tick(5000) + op(9, 0, b'ab') + tick(200)
    seeds['scene-coalesce'] = (user_event(1, b'deploy', b'1', True) + user_event(1, b'deploy', b'2', True)
                               + user_event(0, b'x', b'', False) + tick(800) + op(10))
    seeds['scene-tags'] = op(11, 4, b'\xff\x81\xa4role\xa2db') + tick(1500) + query(1, b't', b'^db$', opts=16 | 64)
    seeds['scene-rejoin'] = user_event(1, b'old', b'') + tick(500) + op(11, 5) + tick(1500) + op(10, 1)
    seeds['scene-partition'] = op(11, 3) + tick(20000) + op(11, 3) + tick(20000) + op(10)
    seeds['scene-clocks-top'] = op(12, 0, b'\xff' * 24) + user_event(0, b'e', b'') + query(0, b'q') + tick(1500)
    seeds['scene-fake-members'] = (op(2, 0, b'\x03\x04') + op(2, 1, b'\x03\x04') + op(2, 8) + op(2, 9)
                                   + op(8, 3, b'\x03\x04') + tick(16000) + op(10))
    for name, body in sorted(seeds.items()):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(body)
    print('%d seeds in %s' % (len(seeds), out))
    query_seeds()


def query_seeds():
    """fuzz_serf_query (one node, a core driven by hand) reads the same
    [op][len][bytes] with its own ops: 0 a user message, 8 a push/pull
    state, 5 time passes (tenths of seconds). Its other seeds, found by
    the fuzzer, are kept; ours are the fixture-* ones."""
    out = 'fuzz/corpus/fuzz_serf_query'
    for old in os.listdir(out):
        if old.startswith('fixture-'):
            os.remove(os.path.join(out, old))
    n = 0
    for name, typ, msg in messages():
        body = op(8 if typ == 2 else 0, 0, msg) + op(5, 0, b'\x0a') + op(11)
        with open(os.path.join(out, 'fixture-' + name), 'wb') as f:
            f.write(body)
        n += 1
    print('%d seeds in %s' % (n, out))


if __name__ == '__main__':
    main()
