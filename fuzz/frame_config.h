/* What the framing fuzz targets (fuzz_packet, fuzz_stream) share: the
 * vectors' test keys, so the seed corpus decrypts, and the input byte-0
 * bits that both read the same way. */
#ifndef MOONLIST_FUZZ_FRAME_CONFIG_H
#define MOONLIST_FUZZ_FRAME_CONFIG_H

#include <stdint.h>

#include "wire/wire_frame.h"
#include "wire/wire_keyring.h"

/* The vectors' keys: serf's 32-byte test key and its first 16 bytes. One
 * keyring for the whole run, built on first use. */
static wire_keyring *fuzz_vector_keyring(void)
{
    static const uint8_t serf_key[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
    static wire_keyring kr;
    static int inited;
    if (!inited) {
        wire_keyring_init(&kr);
        wire_keyring_add(&kr, serf_key, 32);
        wire_keyring_add(&kr, serf_key, 16);
        inited = 1;
    }
    return &kr;
}

/* cfg from the shared selector bits: bit 0 label "vectorgen", bit 1 the
 * vectors' keyring, bit 2 verify_incoming off. Bits 3 and up are each
 * target's own. */
static void fuzz_frame_config(wire_frame_config *cfg, uint8_t sel)
{
    wire_frame_config_init(cfg);
    if (sel & 1)
        wire_frame_config_set_label(cfg, "vectorgen", 9);
    if (sel & 2)
        cfg->keyring = fuzz_vector_keyring();
    if (sel & 4)
        cfg->verify_incoming = false;
}

#endif
