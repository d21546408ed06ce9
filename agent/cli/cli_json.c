#include "cli/cli_json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

void cli_json_str(wire_mp_writer *w, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    wire_mp_put_byte(w, '"');
    size_t i = 0;
    while (wire_mp_error(w) == WIRE_OK && i < len) {
        uint8_t c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            wire_mp_put(w, esc, 2);
            i++;
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                              : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named) {
                wire_mp_put(w, named, 2);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                wire_mp_put(w, esc, 6);
            }
            i++;
        } else {
            size_t k = utf8_len(p + i, len - i);
            if (k == 0) {
                wire_mp_put(w, "\\ufffd", 6);
                i++;
            } else {
                wire_mp_put(w, p + i, k);
                i += k;
            }
        }
    }
    wire_mp_put_byte(w, '"');
}

void cli_json_raw(wire_mp_writer *w, const char *s)
{
    wire_mp_put(w, s, strlen(s));
}
