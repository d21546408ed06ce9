/* daemon_keyring_file: serf's keyring file (see daemon_keyring_file.h). */
#include "daemon/daemon_keyring_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void skip_ws(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

/* One JSON string at *i holding a base64 key into kr. Base64 needs no
 * escapes; Go writes none, and "\/" is the one a JSON writer might add. */
static int one_key(const char *s, size_t n, size_t *i, wire_keyring *kr, char *err, size_t errlen)
{
    char b64[128];
    size_t bl = 0;
    if (*i >= n || s[*i] != '"') {
        snprintf(err, errlen, "Failed to decode keyring file: a string was expected at byte %zu", *i);
        return -1;
    }
    (*i)++;
    for (;;) {
        if (*i >= n) {
            snprintf(err, errlen, "Failed to decode keyring file: the string does not end");
            return -1;
        }
        char c = s[(*i)++];
        if (c == '"')
            break;
        if (c == '\\' && *i < n && s[*i] == '/')
            c = s[(*i)++];
        else if (c == '\\' || (unsigned char)c < 0x20) {
            snprintf(err, errlen, "Failed to decode key from keyring: an escape or control character at byte %zu",
                     *i - 1);
            return -1;
        }
        if (bl + 1 >= sizeof b64) {
            snprintf(err, errlen, "Failed to decode key from keyring: a key longer than %zu characters",
                     sizeof b64 - 1);
            return -1;
        }
        b64[bl++] = c;
    }
    b64[bl] = '\0';
    char why[160];
    int rc = wire_keyring_add_base64(kr, b64, why, sizeof why);
    if (rc == WIRE_ELIMIT)
        snprintf(err, errlen, "Failed to restore keyring: more than %d keys", WIRE_KEYRING_MAX);
    else if (rc != WIRE_OK)
        snprintf(err, errlen, "Failed to decode key from keyring: %s", why);
    return rc == WIRE_OK ? 0 : -1;
}

int daemon_keyring_json_parse(const char *text, size_t len, wire_keyring *kr, char *err, size_t errlen)
{
    size_t i = 0;
    wire_keyring_init(kr);
    skip_ws(text, len, &i);
    if (len - i >= 4 && memcmp(text + i, "null", 4) == 0) {
        i += 4;
    } else {
        if (i >= len || text[i] != '[') {
            snprintf(err, errlen, "Failed to decode keyring file: not a JSON array (of base64 keys)");
            return -1;
        }
        i++;
        skip_ws(text, len, &i);
        if (i < len && text[i] == ']') {
            i++;
        } else {
            for (;;) {
                skip_ws(text, len, &i);
                if (one_key(text, len, &i, kr, err, errlen) < 0)
                    return -1;
                skip_ws(text, len, &i);
                if (i < len && text[i] == ',') {
                    i++;
                    continue;
                }
                if (i < len && text[i] == ']') {
                    i++;
                    break;
                }
                snprintf(err, errlen, "Failed to decode keyring file: ',' or ']' was expected at byte %zu", i);
                return -1;
            }
        }
    }
    skip_ws(text, len, &i);
    if (i != len) {
        snprintf(err, errlen, "Failed to decode keyring file: text after the JSON value at byte %zu", i);
        return -1;
    }
    if (kr->n == 0) {
        snprintf(err, errlen, "Keyring file contains no keys");
        return -1;
    }
    return 0;
}

char *daemon_keyring_json(const wire_keyring *kr)
{
    /* per key: indent, quotes, comma, newline and its base64 */
    size_t cap = 4 + kr->n * (8 + 4 * ((WIRE_KEY_MAX + 2) / 3));
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    if (kr->n == 0) {
        memcpy(out, "[]", 3);   /* json.MarshalIndent of an empty slice */
        return out;
    }
    *o++ = '[';
    for (size_t k = 0; k < kr->n; k++) {
        memcpy(o, "\n  \"", 4);
        o += 4;
        o += wire_key_to_base64(kr->keys[k].bytes, kr->keys[k].len, o);
        *o++ = '"';
        if (k + 1 < kr->n)
            *o++ = ',';
    }
    memcpy(o, "\n]", 3);
    return out;
}

int daemon_keyring_file_read(const char *path, wire_keyring *kr, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "keyring file %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(DAEMON_KEYRING_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, DAEMON_KEYRING_FILE_MAX + 1, f) : 0;
    int bad = !text ? ENOMEM : ferror(f) ? EIO : 0;
    fclose(f);
    int rc = -1;
    char why[300];
    if (bad)
        snprintf(err, errlen, "Failed to read keyring file %s: %s", path, strerror(bad));
    else if (n > DAEMON_KEYRING_FILE_MAX)
        snprintf(err, errlen, "keyring file %s: larger than %d bytes", path, DAEMON_KEYRING_FILE_MAX);
    else if (daemon_keyring_json_parse(text, n, kr, why, sizeof why) < 0)
        snprintf(err, errlen, "keyring file %s: %s", path, why);
    else
        rc = 0;
    free(text);
    return rc;
}

int daemon_keyring_file_write(const char *path, const wire_keyring *kr, char *err, size_t errlen)
{
    char *text = daemon_keyring_json(kr);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!text || !tmp) {
        free(text);
        free(tmp);
        snprintf(err, errlen, "Failed to write keyring file: out of memory");
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int e = 0;
    size_t len = strlen(text), off = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        e = errno;
    while (!e && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (fd >= 0 && !e && fsync(fd) < 0)
        e = errno;
    if (fd >= 0 && close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        snprintf(err, errlen, "Failed to write keyring file %s: %s", path, strerror(e));
    }
    free(text);
    free(tmp);
    return e ? -1 : 0;
}
