/* mlua_errlimit: the script's errors in the log, each at most once per
 * MLUA_ERROR_REPEAT_MS. A hook or timer failing on every call would write
 * the same traceback several times a second, for ever; instead the first
 * is logged, the repeats are counted (mlua_stats.suppressed_log_lines),
 * and the count is logged with the next occurrence after the window, or on
 * its own once the window has passed (mlua_errors_flush), so no count is
 * lost.
 *
 * Two errors are alike when their kind ("hook 'join'", "agent.every
 * callback"...) and the first line of their message match, digits aside:
 * a counter, a time or an address in the message does not make a new one.
 *
 * Only the thread running the script calls these (the Lua thread, or the
 * loader, or a backend's driver), one at a time: the slots take no lock;
 * the counter does (mlua_count). */
#include <stdio.h>
#include <string.h>

#include "lua/mlua_internal.h"

uint64_t mlua_clock_ms(mlua *h)
{
    if (h->backend.now)
        return (uint64_t)(h->backend.now(h->backend.ud) * 1000.0);
    return mlua_now_ms();
}

/* FNV-1a over s up to the end of its first line, a run of digits hashed
 * as one '#'. */
static uint64_t hash_line(uint64_t x, const char *s)
{
    bool in_digits = false;
    for (; *s && *s != '\n'; s++) {
        bool digit = *s >= '0' && *s <= '9';
        if (digit && in_digits)
            continue;
        in_digits = digit;
        x = (x ^ (uint8_t)(digit ? '#' : *s)) * 0x100000001b3ull;
    }
    return x;
}

static uint64_t key_of(const char *what, const char *msg)
{
    uint64_t x = hash_line(0xcbf29ce484222325ull, what);
    x = hash_line(x ^ 0xff, msg);
    return x ? x : 1;   /* 0 marks a free slot */
}

static void log_summary(mlua *h, mlua_errkind *k)
{
    mlua_logf(h, BASE_LOG_ERROR, "%s failed: %s (%llu more like this suppressed)", k->what, k->first,
              (unsigned long long)k->suppressed);
    k->suppressed = 0;
}

/* The slot for key: its own, else a free one, else the least recently
 * logged (its count logged before it is reused). */
static mlua_errkind *slot_for(mlua *h, uint64_t key, bool *found)
{
    mlua_errkind *oldest = &h->errkinds[0];
    for (size_t i = 0; i < MLUA_ERROR_KINDS; i++) {
        mlua_errkind *k = &h->errkinds[i];
        if (k->key == key) {
            *found = true;
            return k;
        }
        if (oldest->key && (!k->key || k->logged_ms < oldest->logged_ms))
            oldest = k;
    }
    *found = false;
    if (oldest->key && oldest->suppressed)
        log_summary(h, oldest);
    return oldest;
}

void mlua_error_log(mlua *h, const char *what, const char *msg)
{
    uint64_t now = mlua_clock_ms(h);
    uint64_t key = key_of(what, msg);
    bool found;
    mlua_errkind *k = slot_for(h, key, &found);
    if (found && now - k->logged_ms < MLUA_ERROR_REPEAT_MS) {
        k->suppressed++;
        mlua_count(h, &h->stats.suppressed_log_lines);
        mlua_refresh_arm(h);   /* its count is logged once the window passes */
        return;
    }
    uint64_t before = found ? k->suppressed : 0;
    k->key = key;
    k->logged_ms = now;
    k->suppressed = 0;
    snprintf(k->what, sizeof k->what, "%s", what);
    size_t first = strcspn(msg, "\n");
    snprintf(k->first, sizeof k->first, "%.*s", (int)first, msg);
    if (before)
        mlua_logf(h, BASE_LOG_ERROR, "%s failed: %.*s (%llu more like this suppressed)%s", what, (int)first, msg,
                  (unsigned long long)before, msg + first);
    else
        mlua_logf(h, BASE_LOG_ERROR, "%s failed: %s", what, msg);
}

void mlua_errors_flush(mlua *h, bool all)
{
    uint64_t now = mlua_clock_ms(h);
    for (size_t i = 0; i < MLUA_ERROR_KINDS; i++) {
        mlua_errkind *k = &h->errkinds[i];
        if (k->key && k->suppressed && (all || now - k->logged_ms >= MLUA_ERROR_REPEAT_MS)) {
            log_summary(h, k);
            k->logged_ms = now;
        }
    }
}
