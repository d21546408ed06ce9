/* Line-based fixture reading for the wire framing tests
 * (tests/fixtures/frames/, written by tools/gen_frame_fixtures.py). */
#ifndef MOONLIST_TEST_FIXTURE_LINES_H
#define MOONLIST_TEST_FIXTURE_LINES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex into a fresh malloc'd buffer (caller frees); "-" is empty. */
static inline uint8_t *fx_unhex(const char *s, size_t *n)
{
    size_t len = strcspn(s, " \n");
    if (len == 1 && s[0] == '-')
        len = 0;
    uint8_t *b = malloc(len / 2 + 1);
    if (!b)
        abort();
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            abort();
        b[i] = (uint8_t)v;
    }
    *n = len / 2;
    return b;
}

/* Split a line into space-separated fields in place; returns their count. */
static inline int fx_fields(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \n", &save); t && n < max; t = strtok_r(NULL, " \n", &save))
        f[n++] = t;
    return n;
}

/* A parsed vector file: keys, label, frames with expected messages. */
typedef struct fx_msg {
    char *path;
    uint8_t *p;
    size_t n;
} fx_msg;

typedef struct fx_frame {
    char kind[8];   /* udp, tcp-i, tcp-r */
    char id[16];
    uint8_t *wire;
    size_t wire_n;
    fx_msg *msgs;
    size_t nmsgs;
} fx_frame;

typedef struct fx_vector {
    uint8_t keys[4][32];
    size_t key_len[4];
    size_t nkeys;
    uint8_t label[255];
    size_t label_len;
    fx_frame *frames;
    size_t nframes;
} fx_vector;

static inline int fx_load_vector(const char *path, fx_vector *v)
{
    memset(v, 0, sizeof *v);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    fx_frame *cur = NULL;
    while (getline(&line, &cap, f) > 0) {
        char *fl[4];
        if (line[0] == '#')
            continue;
        int nf = fx_fields(line, fl, 4);
        if (nf == 0)
            continue;
        size_t n;
        if (!strcmp(fl[0], "key") && nf == 2 && v->nkeys < 4) {
            uint8_t *k = fx_unhex(fl[1], &n);
            memcpy(v->keys[v->nkeys], k, n);
            v->key_len[v->nkeys++] = n;
            free(k);
        } else if (!strcmp(fl[0], "label") && nf == 2) {
            uint8_t *l = fx_unhex(fl[1], &n);
            memcpy(v->label, l, n);
            v->label_len = n;
            free(l);
        } else if (!strcmp(fl[0], "frame") && nf == 3) {
            v->frames = realloc(v->frames, (v->nframes + 1) * sizeof *v->frames);
            cur = &v->frames[v->nframes++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->kind, sizeof cur->kind, "%s", fl[1]);
            snprintf(cur->id, sizeof cur->id, "%s", fl[2]);
        } else if (!strcmp(fl[0], "wire") && nf == 2 && cur) {
            cur->wire = fx_unhex(fl[1], &cur->wire_n);
        } else if (!strcmp(fl[0], "msg") && nf == 3 && cur) {
            cur->msgs = realloc(cur->msgs, (cur->nmsgs + 1) * sizeof *cur->msgs);
            fx_msg *m = &cur->msgs[cur->nmsgs++];
            m->path = strdup(strcmp(fl[1], "-") ? fl[1] : "");
            m->p = fx_unhex(fl[2], &m->n);
        } else if (!strcmp(fl[0], "end")) {
            cur = NULL;
        } else {
            fprintf(stderr, "%s: bad line starting %s\n", path, fl[0]);
            abort();
        }
    }
    free(line);
    fclose(f);
    return 0;
}

static inline void fx_free_vector(fx_vector *v)
{
    for (size_t i = 0; i < v->nframes; i++) {
        for (size_t j = 0; j < v->frames[i].nmsgs; j++) {
            free(v->frames[i].msgs[j].path);
            free(v->frames[i].msgs[j].p);
        }
        free(v->frames[i].msgs);
        free(v->frames[i].wire);
    }
    free(v->frames);
}

static const char *const fx_vector_names[] = {
    "frames/serf-plain.txt",
    "frames/serf-encrypted.txt",
    "frames/vectorgen-0.2.2-plain.txt",
    "frames/vectorgen-0.2.2-compressed.txt",
    "frames/vectorgen-0.2.2-encrypted.txt",
    "frames/vectorgen-0.5.1-plain.txt",
    "frames/vectorgen-0.5.1-label.txt",
    "frames/vectorgen-0.5.1-label-encrypted.txt",
};
#define FX_NVECTORS (sizeof fx_vector_names / sizeof fx_vector_names[0])

/* Deterministic PRNG (xorshift64*) for fuzz-like tests. */
static inline uint64_t fx_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

#endif
