#include "daemon/daemon_rpc.h"

#include "wire/wire_mpx.h"

void daemon_rpc_put_len(uint8_t hdr[4], size_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

int daemon_rpc_member_encode(wire_buf *out, const daemon_rpc_member *m)
{
    int rc = wire_mpx_map(out, 7);
    rc = rc ? rc : wire_mpx_cstr(out, "Name");
    rc = rc ? rc : wire_mpx_str(out, m->name, m->name_len);
    rc = rc ? rc : wire_mpx_cstr(out, "Addr");
    rc = rc ? rc : wire_mpx_str(out, m->addr, m->addr_len);
    rc = rc ? rc : wire_mpx_cstr(out, "Port");
    rc = rc ? rc : wire_mpx_uint(out, m->port);
    rc = rc ? rc : wire_mpx_cstr(out, "Status");
    rc = rc ? rc : wire_mpx_str(out, m->status, m->status_len);
    rc = rc ? rc : wire_mpx_cstr(out, "Incarnation");
    rc = rc ? rc : wire_mpx_uint(out, m->incarnation);
    rc = rc ? rc : wire_mpx_cstr(out, "Meta");
    rc = rc ? rc : wire_mpx_str(out, m->meta, m->meta_len);
    rc = rc ? rc : wire_mpx_cstr(out, "Vsn");
    rc = rc ? rc : wire_mpx_array(out, 6);
    for (int i = 0; !rc && i < 6; i++)
        rc = wire_mpx_uint(out, m->vsn[i]);
    return rc;
}
