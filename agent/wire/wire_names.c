#include "wire/wire.h"

const char *wire_strerror(int err)
{
    switch (err) {
    case WIRE_OK: return "ok";
    case WIRE_ETRUNC: return "truncated";
    case WIRE_EFORMAT: return "bad msgpack format";
    case WIRE_ERANGE: return "value out of range";
    case WIRE_ETYPE: return "unexpected message type";
    case WIRE_ECRC: return "CRC mismatch";
    case WIRE_ECRYPT: return "decryption failed";
    case WIRE_ELZW: return "bad LZW stream";
    case WIRE_ELABEL: return "label mismatch";
    case WIRE_ENOMEM: return "out of memory";
    case WIRE_EDEPTH: return "nested too deep";
    case WIRE_ELIMIT: return "over a size limit";
    default: return "unknown error";
    }
}

const char *wire_type_name(int type)
{
    switch (type) {
    case WIRE_PING: return "ping";
    case WIRE_INDIRECT_PING: return "indirectPing";
    case WIRE_ACK: return "ack";
    case WIRE_SUSPECT: return "suspect";
    case WIRE_ALIVE: return "alive";
    case WIRE_DEAD: return "dead";
    case WIRE_PUSH_PULL: return "pushPull";
    case WIRE_COMPOUND: return "compound";
    case WIRE_USER: return "user";
    case WIRE_COMPRESS: return "compress";
    case WIRE_ENCRYPT: return "encrypt";
    case WIRE_NACK: return "nack";
    case WIRE_HAS_CRC: return "hasCrc";
    case WIRE_ERR: return "err";
    case WIRE_HAS_LABEL: return "hasLabel";
    default: return "unknown";
    }
}
