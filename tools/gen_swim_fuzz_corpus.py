#!/usr/bin/env python3
"""Seed corpus for fuzz/fuzz_swim.c from fuzz_msg's seeds: the first byte
of a fuzz_swim input says where the rest goes (0 packet, 1 inbound stream,
2 reply to our join push/pull); each memberlist message seed is fed the
way it travels. Run from the repository root."""
import os

src = 'fuzz/corpus/fuzz_msg'
dst = 'fuzz/corpus/fuzz_swim'
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    body = open(os.path.join(src, name), 'rb').read()
    modes = [0]
    if '-tcp-' in name or body[:1] in (b'\x06', b'\x08'):
        modes = [1]
    if body[:1] == b'\x06':
        modes = [1, 2]
    for m in modes:
        with open(os.path.join(dst, '%d-%s' % (m, name)), 'wb') as f:
            f.write(bytes([m]) + body)
# a compound of an ack and an alive, and a nested compound
alive = open(os.path.join(src, 'vec-4-udp-v0-0'), 'rb').read()
ack = open(os.path.join(src, 'vec-2-udp-v0-0'), 'rb').read()
comp = bytes([7, 2, len(ack) >> 8, len(ack) & 255, len(alive) >> 8, len(alive) & 255]) + ack + alive
with open(os.path.join(dst, '0-compound'), 'wb') as f:
    f.write(b'\x00' + comp)
with open(os.path.join(dst, '0-compound-nested'), 'wb') as f:
    f.write(b'\x00' + bytes([7, 1, len(comp) >> 8, len(comp) & 255]) + comp)
