/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The only file that knows libyaml: a profile's text becomes a ProfileDoc,
 * libyaml's document tree behind read-only accessors (kinds, texts,
 * positions), and the canonical form is written through libyaml's emitter.
 * What the keys mean is profile-layer.c's business. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "profile-internal.h"

struct ProfileDoc {
        yaml_document_t doc;
        bool loaded;
};

static void parser_done(yaml_parser_t *p) {
        yaml_parser_delete(p);
}

static ProfileMark mark_from_yaml(yaml_mark_t m) {
        return (ProfileMark){ .line = (unsigned) m.line + 1, .column = (unsigned) m.column + 1 };
}

/* Reader errors (bad UTF-8, control characters) come with a byte offset,
 * not a mark: count lines and characters up to it. */
static ProfileMark mark_from_offset(const char *text, size_t len, size_t offset) {
        ProfileMark m = { .line = 1, .column = 1 };

        for (size_t i = 0; i < offset && i < len; i++) {
                if (text[i] == '\n') {
                        m.line++;
                        m.column = 1;
                } else if (((unsigned char) text[i] & 0xc0) != 0x80)
                        m.column++;
        }
        return m;
}

static int report_parser_error(const yaml_parser_t *p, const char *text, size_t len, const char *file,
                               ProfileProblems *pp) {
        const char *problem = p->problem ?: "unknown error";

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR:
                if (p->problem_value >= 0)
                        profile_problem(pp, file, mark_from_offset(text, len, p->problem_offset),
                                        "syntax error: %s (0x%x)", problem, (unsigned) p->problem_value);
                else
                        profile_problem(pp, file, mark_from_offset(text, len, p->problem_offset), "syntax error: %s",
                                        problem);
                return -EINVAL;
        default:
                if (p->context)
                        profile_problem(pp, file, mark_from_yaml(p->problem_mark),
                                        "syntax error: %s (%s started at %zu:%zu)", problem, p->context,
                                        p->context_mark.line + 1, p->context_mark.column + 1);
                else
                        profile_problem(pp, file, mark_from_yaml(p->problem_mark), "syntax error: %s", problem);
                return -EINVAL;
        }
}

ProfileDoc *profile_doc_free(ProfileDoc *d) {
        if (!d)
                return NULL;
        if (d->loaded)
                yaml_document_delete(&d->doc);
        free(d);
        return NULL;
}

int profile_doc_parse(const char *text, size_t len, const char *file, ProfileProblems *pp, ProfileDoc **ret) {
        _cleanup_(parser_done) yaml_parser_t parser = {};
        _cleanup_(profile_doc_freep) ProfileDoc *d = NULL;
        yaml_document_t extra;

        if (len > PROFILE_FILE_MAX) {
                profile_problem(pp, file, (ProfileMark){}, "larger than %d bytes", PROFILE_FILE_MAX);
                return -EINVAL;
        }
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);

        if (!yaml_parser_load(&parser, &d->doc))
                return report_parser_error(&parser, text, len, file, pp);
        d->loaded = true;

        /* An empty document marks the end of the stream: one more load
         * tells whether a second document follows. */
        if (profile_doc_root(d) > 0) {
                if (!yaml_parser_load(&parser, &extra))
                        return report_parser_error(&parser, text, len, file, pp);
                if (yaml_document_get_root_node(&extra)) {
                        profile_problem(pp, file, mark_from_yaml(extra.start_mark),
                                        "a profile is one YAML document; found a second one");
                        yaml_document_delete(&extra);
                        return -EINVAL;
                }
                yaml_document_delete(&extra);
        }
        *ret = TAKE_PTR(d);
        return 0;
}

static const yaml_node_t *node_get(const ProfileDoc *d, int node) {
        if (!d || node <= 0 || node > d->doc.nodes.top - d->doc.nodes.start)
                return NULL;
        return d->doc.nodes.start + node - 1;
}

int profile_doc_root(const ProfileDoc *d) {
        return d && d->doc.nodes.top > d->doc.nodes.start ? 1 : 0;
}

ProfileNodeKind profile_node_kind(const ProfileDoc *d, int node) {
        const yaml_node_t *n = node_get(d, node);
        const char *v;

        if (!n)
                return PROFILE_NODE_NULL;
        switch (n->type) {
        case YAML_MAPPING_NODE:
                return PROFILE_NODE_MAPPING;
        case YAML_SEQUENCE_NODE:
                return PROFILE_NODE_SEQUENCE;
        case YAML_SCALAR_NODE:
                if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                        return PROFILE_NODE_SCALAR;
                v = (const char *) n->data.scalar.value;
                if (n->data.scalar.length == 0 || streq(v, "~") || streq(v, "null") || streq(v, "Null") ||
                    streq(v, "NULL"))
                        return PROFILE_NODE_NULL;
                return PROFILE_NODE_SCALAR;
        default:
                return PROFILE_NODE_NULL;
        }
}

ProfileMark profile_node_mark(const ProfileDoc *d, int node) {
        const yaml_node_t *n = node_get(d, node);
        return n ? mark_from_yaml(n->start_mark) : (ProfileMark){};
}

const char *profile_node_text(const ProfileDoc *d, int node, size_t *ret_len) {
        const yaml_node_t *n = node_get(d, node);

        if (!n || n->type != YAML_SCALAR_NODE)
                return NULL;
        if (ret_len)
                *ret_len = n->data.scalar.length;
        return (const char *) n->data.scalar.value;
}

size_t profile_node_size(const ProfileDoc *d, int node) {
        const yaml_node_t *n = node_get(d, node);

        if (!n)
                return 0;
        if (n->type == YAML_SEQUENCE_NODE)
                return (size_t) (n->data.sequence.items.top - n->data.sequence.items.start);
        if (n->type == YAML_MAPPING_NODE)
                return (size_t) (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
        return 0;
}

int profile_node_item(const ProfileDoc *d, int node, size_t i) {
        const yaml_node_t *n = node_get(d, node);

        if (!n || n->type != YAML_SEQUENCE_NODE || i >= profile_node_size(d, node))
                return 0;
        return n->data.sequence.items.start[i];
}

int profile_node_key(const ProfileDoc *d, int node, size_t i) {
        const yaml_node_t *n = node_get(d, node);

        if (!n || n->type != YAML_MAPPING_NODE || i >= profile_node_size(d, node))
                return 0;
        return n->data.mapping.pairs.start[i].key;
}

int profile_node_value(const ProfileDoc *d, int node, size_t i) {
        const yaml_node_t *n = node_get(d, node);

        if (!n || n->type != YAML_MAPPING_NODE || i >= profile_node_size(d, node))
                return 0;
        return n->data.mapping.pairs.start[i].value;
}

/* ---- the writer ---- */

struct ProfileWriter {
        yaml_emitter_t emitter;
        bool initialized;
        char *buf;
        size_t len, cap;
        int r;
};

static int write_cb(void *data, unsigned char *buffer, size_t size) {
        ProfileWriter *w = data;

        if (w->len + size + 1 > w->cap) {
                size_t cap = w->cap ? w->cap : 4096;
                char *b;

                while (cap < w->len + size + 1)
                        cap *= 2;
                b = realloc(w->buf, cap);
                if (!b) {
                        w->r = -ENOMEM;
                        return 0;
                }
                w->buf = b;
                w->cap = cap;
        }
        memcpy(w->buf + w->len, buffer, size);
        w->len += size;
        w->buf[w->len] = 0;
        return 1;
}

/* initialized: whether the event constructor succeeded (it fails only on
 * allocation failure or invalid UTF-8). The emitter frees the event. */
static void emit(ProfileWriter *w, yaml_event_t *ev, int initialized) {
        if (!initialized) {
                if (w->r >= 0)
                        w->r = -ENOMEM;
                return;
        }
        if (w->r < 0) {
                yaml_event_delete(ev);
                return;
        }
        if (!yaml_emitter_emit(&w->emitter, ev) && w->r >= 0)
                w->r = w->emitter.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

ProfileWriter *profile_writer_free(ProfileWriter *w) {
        if (!w)
                return NULL;
        if (w->initialized)
                yaml_emitter_delete(&w->emitter);
        free(w->buf);
        free(w);
        return NULL;
}

int profile_writer_new(ProfileWriter **ret) {
        _cleanup_(profile_writer_freep) ProfileWriter *w = NULL;
        yaml_event_t ev;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        if (!yaml_emitter_initialize(&w->emitter))
                return -ENOMEM;
        w->initialized = true;
        yaml_emitter_set_output(&w->emitter, write_cb, w);
        yaml_emitter_set_unicode(&w->emitter, 1);
        yaml_emitter_set_width(&w->emitter, -1);
        yaml_emitter_set_indent(&w->emitter, 2);
        emit(w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
        emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
        if (w->r < 0)
                return w->r;
        *ret = TAKE_PTR(w);
        return 0;
}

void profile_writer_mapping_begin(ProfileWriter *w, bool flow) {
        yaml_event_t ev;
        emit(w, &ev,
             yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                 flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

void profile_writer_mapping_end(ProfileWriter *w) {
        yaml_event_t ev;
        emit(w, &ev, yaml_mapping_end_event_initialize(&ev));
}

void profile_writer_sequence_begin(ProfileWriter *w, bool flow) {
        yaml_event_t ev;
        emit(w, &ev,
             yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                  flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

void profile_writer_sequence_end(ProfileWriter *w) {
        yaml_event_t ev;
        emit(w, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* Plain only where every YAML reader sees the same string: no indicator
 * first, no flow or comment characters, no words YAML 1.1 reads as null or
 * booleans. */
static bool plain_safe(const char *s, size_t n) {
        static const char *const special[] = { "null", "true", "false", "yes", "no", "on", "off", "y", "n" };

        if (n == 0 || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_", s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!s[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.@*+-", s[i]))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(special); i++)
                if (strlen(special[i]) == n && strncasecmp(s, special[i], n) == 0)
                        return false;
        return true;
}

static void scalar(ProfileWriter *w, const char *s, size_t n, yaml_scalar_style_t style) {
        yaml_event_t ev;

        if (n > INT32_MAX) {
                if (w->r >= 0)
                        w->r = -E2BIG;
                return;
        }
        emit(w, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) n, 1, 1, style));
}

void profile_writer_scalar_n(ProfileWriter *w, const char *s, size_t n) {
        scalar(w, s, n, plain_safe(s, n) ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

void profile_writer_scalar(ProfileWriter *w, const char *s) {
        s = s ?: "";
        profile_writer_scalar_n(w, s, strlen(s));
}

void profile_writer_string(ProfileWriter *w, const char *s) {
        s = s ?: "";
        /* Digits first: quoted, or YAML readers other than ours see a number. */
        scalar(w, s, strlen(s),
               plain_safe(s, strlen(s)) && !isdigit((unsigned char) s[0]) ? YAML_PLAIN_SCALAR_STYLE
                                                                          : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

void profile_writer_plain(ProfileWriter *w, const char *s) {
        scalar(w, s, strlen(s), YAML_PLAIN_SCALAR_STYLE);
}

int profile_writer_finish(ProfileWriter *w, char **ret) {
        yaml_event_t ev;

        emit(w, &ev, yaml_document_end_event_initialize(&ev, 1));
        emit(w, &ev, yaml_stream_end_event_initialize(&ev));
        if (w->r >= 0 && !yaml_emitter_flush(&w->emitter))
                w->r = -EIO;
        if (w->r < 0)
                return w->r;
        if (!w->buf) {
                w->buf = strdup("");
                if (!w->buf)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(w->buf);
        w->len = w->cap = 0;
        return 0;
}
