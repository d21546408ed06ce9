/* RAND_bytes by its OpenSSL name, for the callers that still call it so
 * (net_udp.c and net_stream.c draw their nonces with it): libcrypto is no
 * longer linked (wire_crypto_lib.h), so this definition is what they link
 * to, and it draws from the loaded libcrypto's RAND_bytes. It goes once
 * they call wire_crypto_random instead. Hidden: never exported (from the
 * Lua module either), so libcrypto's own calls to RAND_bytes stay its own. */
#include <openssl/rand.h>

#include "wire/wire_crypto_lib.h"

__attribute__((visibility("hidden"))) int RAND_bytes(unsigned char *buf, int num)
{
    if (num < 0)
        return 0;
    return wire_crypto_random(buf, (size_t)num) == 0 ? 1 : 0;
}
