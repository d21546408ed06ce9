/* The receiving side's framing configuration for a fixture vector, shared
 * by the UDP and TCP framing tests. */
#ifndef MOONLIST_TEST_FIXTURE_CONFIG_H
#define MOONLIST_TEST_FIXTURE_CONFIG_H

#include "check.h"
#include "fixture_lines.h"

#include "wire/wire_frame.h"
#include "wire/wire_keyring.h"

/* cfg as the vector's receiver: its keys (into kr, which cfg points to:
 * keep kr alive as long as cfg) and its label. */
static inline void fx_vector_config(const fx_vector *v, wire_keyring *kr, wire_frame_config *cfg)
{
    wire_keyring_init(kr);
    for (size_t i = 0; i < v->nkeys; i++)
        REQUIRE(wire_keyring_add(kr, v->keys[i], v->key_len[i]) == WIRE_OK);
    wire_frame_config_init(cfg);
    cfg->keyring = kr;
    REQUIRE(wire_frame_config_set_label(cfg, v->label, v->label_len) == WIRE_OK);
}

#endif
