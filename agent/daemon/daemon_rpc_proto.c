#include "daemon/daemon_rpc.h"

#include "wire/wire_mp.h"

void daemon_rpc_put_len(uint8_t hdr[4], size_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

void daemon_rpc_member_encode(wire_mp_writer *w, const daemon_rpc_member *m)
{
    wire_mp_container row, vsn;
    wire_mp_map_begin(w, &row);
    wire_mp_pack_cstr(w, "Name");
    wire_mp_pack_raw(w, m->name, m->name_len);
    wire_mp_pack_cstr(w, "Addr");
    wire_mp_pack_raw(w, m->addr, m->addr_len);
    wire_mp_pack_cstr(w, "Port");
    wire_mp_pack_uint(w, m->port);
    wire_mp_pack_cstr(w, "Status");
    wire_mp_pack_raw(w, m->status, m->status_len);
    wire_mp_pack_cstr(w, "Incarnation");
    wire_mp_pack_uint(w, m->incarnation);
    wire_mp_pack_cstr(w, "Meta");
    wire_mp_pack_raw(w, m->meta, m->meta_len);
    wire_mp_pack_cstr(w, "Vsn");
    wire_mp_array_begin(w, &vsn);
    for (int i = 0; i < 6; i++)
        wire_mp_pack_uint(w, m->vsn[i]);
    wire_mp_array_end(w, &vsn);
    wire_mp_map_end(w, &row);
}
