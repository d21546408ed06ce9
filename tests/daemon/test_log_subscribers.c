/* base_log's subscribers, which feed the RPC's `monitor` streams: each
 * line once, whole, from any thread, at the subscriber's own level even
 * below the process threshold; none after unsubscribing. */
#include <pthread.h>

#include "base/base_log.h"
#include "check.h"

typedef struct seen {
    pthread_mutex_t lock;   /* base_log serialises calls; this checks it too */
    int lines[BASE_LOG_LEVELS];
    int bad;
} seen;

static void sink(void *ud, base_log_level level, const char *line, size_t len)
{
    seen *s = ud;
    pthread_mutex_lock(&s->lock);
    if ((unsigned)level < BASE_LOG_LEVELS)
        s->lines[level]++;
    /* "2026-...Z [LEVEL] text", no newline, len exact */
    if (len != strlen(line) || len < 30 || line[len - 1] == '\n' || !strstr(line, base_log_level_tag(level)))
        s->bad++;
    pthread_mutex_unlock(&s->lock);
}

static void *logger(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        base_log(BASE_LOG_DEBUG, "thread line %d", i);
        base_log(BASE_LOG_WARN, "thread warning %d", i);
    }
    return NULL;
}

int main(void)
{
    seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
    base_log_set_level(BASE_LOG_ERROR);   /* stderr stays quiet below ERROR */
    int h = base_log_subscribe(sink, &s, BASE_LOG_DEBUG);
    REQUIRE(h >= 0);

    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&t[i], NULL, logger, NULL) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(s.lines[BASE_LOG_DEBUG], 2000);
    CHECK_EQ_INT(s.lines[BASE_LOG_WARN], 2000);
    CHECK_EQ_INT(s.bad, 0);

    /* a higher level: debug lines no longer reach it */
    base_log_subscriber_level(h, BASE_LOG_WARN);
    base_log(BASE_LOG_DEBUG, "not seen");
    base_log(BASE_LOG_INFO, "not seen");
    base_log(BASE_LOG_WARN, "seen");
    CHECK_EQ_INT(s.lines[BASE_LOG_DEBUG], 2000);
    CHECK_EQ_INT(s.lines[BASE_LOG_INFO], 0);
    CHECK_EQ_INT(s.lines[BASE_LOG_WARN], 2001);

    /* the table is bounded; a freed slot is reused */
    int more[BASE_LOG_MAX_SUBSCRIBERS];
    int n = 0;
    while (n < BASE_LOG_MAX_SUBSCRIBERS && (more[n] = base_log_subscribe(sink, &s, BASE_LOG_ERROR)) >= 0)
        n++;
    CHECK_EQ_INT(n, BASE_LOG_MAX_SUBSCRIBERS - 1);
    for (int i = 0; i < n; i++)
        base_log_unsubscribe(more[i]);

    base_log_unsubscribe(h);
    base_log(BASE_LOG_ERROR, "after unsubscribing: on stderr only");
    CHECK_EQ_INT(s.lines[BASE_LOG_ERROR], 0);
    int h2 = base_log_subscribe(sink, &s, BASE_LOG_ERROR);
    CHECK(h2 >= 0);
    base_log_unsubscribe(h2);
    return check_done("test_log_subscribers");
}
