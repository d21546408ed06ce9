/* daemon_tags_file: serf's tags file, read at start, written on change
 * (see daemon_tags_file.h). */
#include "daemon/daemon_tags_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base_log.h"

/* ---- JSON: an object of strings ---- */

typedef struct jp {
    const char *s;
    size_t n, i;
    char *err;
    size_t errlen;
} jp;

static int jp_fail(jp *p, const char *what)
{
    snprintf(p->err, p->errlen, "%s at byte %zu", what, p->i);
    return -1;
}

static void jp_ws(jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(jp *p, unsigned *out)
{
    if (p->n - p->i < 4)
        return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->i into out (malloc'd; the decoded text is never longer
 * than the quoted one). */
static int jp_string(jp *p, char **out, size_t *len)
{
    if (p->i >= p->n || p->s[p->i] != '"')
        return jp_fail(p, "a string was expected");
    p->i++;
    char *o = malloc(p->n - p->i + 1);
    if (!o)
        return jp_fail(p, "out of memory");
    size_t ol = 0;
    for (;;) {
        if (p->i >= p->n) {
            free(o);
            return jp_fail(p, "the string does not end");
        }
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"')
            break;
        if (c < 0x20) {
            free(o);
            p->i--;
            return jp_fail(p, "a control character in a string");
        }
        if (c != '\\') {
            o[ol++] = (char)c;
            continue;
        }
        char e = p->i < p->n ? p->s[p->i++] : '\0';
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = e ? strchr(from, e) : NULL;
        if (k) {
            o[ol++] = to[k - from];
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || hex4(p, &cp) < 0) {
            free(o);
            return jp_fail(p, "a bad escape in a string");
        }
        /* a surrogate pair is one code point; a lone half is U+FFFD (Go) */
        if (cp >= 0xd800 && cp < 0xdc00 && p->n - p->i >= 6 && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
            size_t save = p->i;
            p->i += 2;
            if (hex4(p, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000)
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            else
                p->i = save;
        }
        if (cp >= 0xd800 && cp < 0xe000)
            cp = 0xfffd;
        ol += utf8_put(o + ol, cp);
    }
    o[ol] = '\0';
    *out = o;
    *len = ol;
    return 0;
}

int daemon_tags_json_parse(const char *text, size_t len, serf_tags *t, char *err, size_t errlen)
{
    jp p = { text, len, 0, err, errlen };
    jp_ws(&p);
    if (len - p.i >= 4 && memcmp(text + p.i, "null", 4) == 0) {
        p.i += 4;
        goto end;
    }
    if (p.i >= len || text[p.i] != '{')
        return jp_fail(&p, "not a JSON object (of tag names to values)");
    p.i++;
    jp_ws(&p);
    if (p.i < len && text[p.i] == '}') {
        p.i++;
        goto end;
    }
    for (;;) {
        char *k, *v;
        size_t kl, vl;
        jp_ws(&p);
        if (jp_string(&p, &k, &kl) < 0)
            return -1;
        jp_ws(&p);
        if (p.i >= len || text[p.i] != ':') {
            free(k);
            return jp_fail(&p, "':' was expected");
        }
        p.i++;
        jp_ws(&p);
        if (p.i < len && text[p.i] != '"') {
            snprintf(err, errlen, "the value of tag '%s' is not a string (at byte %zu)", k, p.i);
            free(k);
            return -1;
        }
        if (jp_string(&p, &v, &vl) < 0) {
            free(k);
            return -1;
        }
        int rc = serf_tags_set(t, k, kl, v, vl);
        free(k);
        free(v);
        if (rc < 0)
            return jp_fail(&p, "out of memory");
        jp_ws(&p);
        if (p.i < len && text[p.i] == ',') {
            p.i++;
            continue;
        }
        if (p.i < len && text[p.i] == '}') {
            p.i++;
            break;
        }
        return jp_fail(&p, "',' or '}' was expected");
    }
end:
    jp_ws(&p);
    if (p.i != len)
        return jp_fail(&p, "text after the JSON value");
    return 0;
}

static int put_str(wire_buf *b, const char *s, size_t n)
{
    int rc = wire_buf_append_byte(b, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = wire_buf_append(b, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            rc = wire_buf_append(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            rc = wire_buf_append(b, esc, 6);
        } else
            rc = wire_buf_append_byte(b, c);
    }
    return rc ? rc : wire_buf_append_byte(b, '"');
}

static int cmp_key(const void *a, const void *b)
{
    const serf_tag *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

void daemon_tags_sort(serf_tags *t)
{
    if (t->n > 1)
        qsort(t->v, t->n, sizeof *t->v, cmp_key);
}

char *daemon_tags_json_from_meta(const uint8_t *meta, size_t len)
{
    serf_tags t = { 0 };
    if (serf_tags_decode(&t, meta, len) < 0) {
        serf_tags_free(&t);
        return NULL;
    }
    daemon_tags_sort(&t);
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = wire_buf_append_byte(&b, '{');
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        rc = wire_buf_append(&b, i ? ",\n  " : "\n  ", i ? 4 : 3);
        if (rc == 0)
            rc = put_str(&b, t.v[i].key, t.v[i].klen);
        if (rc == 0)
            rc = wire_buf_append(&b, ": ", 2);
        if (rc == 0)
            rc = put_str(&b, t.v[i].value, t.v[i].vlen);
    }
    if (rc == 0 && t.n)
        rc = wire_buf_append_byte(&b, '\n');
    if (rc == 0)
        rc = wire_buf_append(&b, "}", 2);   /* with its NUL */
    serf_tags_free(&t);
    if (rc) {
        wire_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;   /* the buffer's memory is the caller's now */
}

int daemon_tags_file_read(const char *path, uint8_t *meta, size_t *meta_len, size_t *ntags, char *err,
                          size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "tags file '%s': %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(DAEMON_TAGS_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, DAEMON_TAGS_FILE_MAX + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!text || rerr || n > DAEMON_TAGS_FILE_MAX) {
        snprintf(err, errlen, "tags file '%s': %s", path,
                 !text ? "out of memory" : rerr ? "cannot read it" : "larger than 64 KiB");
        free(text);
        return -1;
    }
    serf_tags t = { 0 };
    char why[200];
    int rc = daemon_tags_json_parse(text, n, &t, why, sizeof why);
    free(text);
    wire_buf b;
    wire_buf_init(&b, 0);
    if (rc == 0)
        rc = serf_tags_encode(&t, &b, why, sizeof why);
    if (rc == 0) {
        memcpy(meta, b.data, b.len);
        *meta_len = b.len;
        *ntags = t.n;
    } else
        snprintf(err, errlen, "tags file '%s': %s", path, why);
    wire_buf_free(&b);
    serf_tags_free(&t);
    return rc == 0 ? 1 : -1;
}

/* ---- the writer ---- */

void daemon_tags_file_init(daemon_tags_file *f, uv_loop_t *loop, const char *path)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->path = path;
    f->work.data = f;
}

/* On the thread pool: temporary file, fsync, rename over. */
static void write_work(uv_work_t *w)
{
    daemon_tags_file *f = w->data;
    char tmp[1100];
    f->err[0] = '\0';
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", f->path) >= sizeof tmp) {
        snprintf(f->err, sizeof f->err, "path too long");
        return;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(f->err, sizeof f->err, "cannot create the temporary file beside it (.tmp): %s", strerror(errno));
        return;
    }
    size_t len = strlen(f->text), off = 0;
    while (off < len) {
        ssize_t k = write(fd, f->text + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    int e = off < len ? errno : fsync(fd) < 0 ? errno : 0;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, f->path) < 0)
        e = errno;
    if (e) {
        snprintf(f->err, sizeof f->err, "%s", strerror(e ? e : EIO));
        unlink(tmp);
    }
}

static void start_write(daemon_tags_file *f);

static void write_done(uv_work_t *w, int status)
{
    daemon_tags_file *f = w->data;
    f->busy = false;
    if (status < 0)
        base_log(BASE_LOG_ERROR, "tags file '%s': not written: %s", f->path, uv_strerror(status));
    else if (f->err[0])
        base_log(BASE_LOG_ERROR, "tags file '%s': not written: %s", f->path, f->err);
    else
        base_log(BASE_LOG_DEBUG, "tags file '%s' written", f->path);
    free(f->text);
    f->text = NULL;
    if (f->next)
        start_write(f);
}

static void start_write(daemon_tags_file *f)
{
    f->text = f->next;
    f->next = NULL;
    f->busy = true;
    if (uv_queue_work(f->loop, &f->work, write_work, write_done) < 0) {
        base_log(BASE_LOG_ERROR, "tags file '%s': not written: cannot queue the write", f->path);
        f->busy = false;
        free(f->text);
        f->text = NULL;
    }
}

void daemon_tags_file_changed(daemon_tags_file *f, const uint8_t *meta, size_t len)
{
    if (!f->path || !f->path[0])
        return;
    char *text = daemon_tags_json_from_meta(meta, len);
    if (!text) {
        base_log(BASE_LOG_ERROR, "tags file '%s': not written: our meta does not decode as serf tags", f->path);
        return;
    }
    free(f->next);
    f->next = text;
    if (!f->busy)
        start_write(f);
}

void daemon_tags_file_free(daemon_tags_file *f)
{
    free(f->text);
    free(f->next);
    f->text = f->next = NULL;
}
