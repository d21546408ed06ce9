/* cli_info_json: the info answer as JSON (cli_info_json.h). */
#include <stdio.h>

#include "cli/cli_info_json.h"
#include "cli/cli_json.h"
#include "wire/wire_mp.h"

/* One value: a string (escaped by cli_json_str), an unsigned integer, or
 * anything else the agent might add later as null, skipped whole. */
static int value(wire_mp_reader *r, wire_mp_writer *w)
{
    if (wire_mp_peek_kind(r) == WIRE_MP_STR) {
        wire_bytes s;
        if (wire_mp_read_str(r, &s))
            return -1;
        cli_json_str(w, (const char *)s.p, s.n);
        return 0;
    }
    uint64_t v;
    wire_mp_reader probe = *r;
    if (wire_mp_read_uint(&probe, UINT64_MAX, &v) == 0) {
        *r = probe;
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)v);
        cli_json_raw(w, num);
        return 0;
    }
    if (wire_mp_skip(r))
        return -1;
    cli_json_raw(w, "null");
    return 0;
}

int cli_info_json(wire_buf *out, wire_bytes body)
{
    size_t start = out->len;
    wire_mp_reader r;
    wire_mp_writer w;
    wire_mp_reader_init(&r, body.p, body.n);
    wire_mp_writer_init(&w, out);
    uint32_t ns;
    int rc = wire_mp_read_map(&r, &ns) ? -1 : 0;
    cli_json_raw(&w, "{");
    for (uint32_t s = 0; rc == 0 && s < ns; s++) {
        wire_bytes sec;
        uint32_t nkv;
        if (wire_mp_read_str(&r, &sec) || wire_mp_read_map(&r, &nkv)) {
            rc = -1;
            break;
        }
        cli_json_raw(&w, s ? ",\n  " : "\n  ");
        cli_json_str(&w, (const char *)sec.p, sec.n);
        cli_json_raw(&w, ": {");
        for (uint32_t j = 0; rc == 0 && j < nkv; j++) {
            wire_bytes k;
            if (wire_mp_read_str(&r, &k)) {
                rc = -1;
                break;
            }
            cli_json_raw(&w, j ? ",\n    " : "\n    ");
            cli_json_str(&w, (const char *)k.p, k.n);
            cli_json_raw(&w, ": ");
            rc = value(&r, &w);
        }
        cli_json_raw(&w, nkv ? "\n  }" : "}");
    }
    cli_json_raw(&w, ns && rc == 0 ? "\n}\n" : "}\n");
    if (wire_mp_finish(&w) != WIRE_OK)
        rc = -1;
    if (rc)
        out->len = start;
    return rc;
}
