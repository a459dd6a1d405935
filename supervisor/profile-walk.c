/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking a ProfileDoc along a fixed schema: key tables, duplicate and
 * unknown keys, type checks, key paths and the problems that name them.
 * What the keys mean is profile-layer.c's and profile-layer-rules.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-walk.h"

void layer_problem(Walk *w, ProfileMark at, const char *path, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (path && *path)
                profile_problem(w->pp, w->file, at, "%s: %s", path, msg);
        else
                profile_problem(w->pp, w->file, at, "%s", msg);
}

ProfileMark layer_mark(Walk *w, int node) {
        return profile_node_mark(w->doc, node);
}

ProfileNodeKind layer_kind(Walk *w, int node) {
        return profile_node_kind(w->doc, node);
}

const char *layer_kind_name(ProfileNodeKind k) {
        switch (k) {
        case PROFILE_NODE_SCALAR:
                return "a scalar";
        case PROFILE_NODE_MAPPING:
                return "a mapping";
        case PROFILE_NODE_SEQUENCE:
                return "a sequence";
        default:
                return "null";
        }
}

const char *layer_join(char buf[static PATH_LEN], const char *path, const char *key) {
        char k[80];
        (void) snprintf(buf, PATH_LEN, "%s%s%s", path, *path ? "." : "", profile_shown(key, k));
        return buf;
}

const char *layer_indexed(char buf[static PATH_LEN], const char *path, size_t i) {
        (void) snprintf(buf, PATH_LEN, "%s[%zu]", path, i);
        return buf;
}

void layer_set(Walk *w, ProfileField f, int key, int value) {
        w->l->set |= UINT64_C(1) << f;
        w->l->key_marks[f] = layer_mark(w, key);
        w->l->value_marks[f] = layer_mark(w, value);
}

/* The text of a scalar, else NULL after a problem. A wrong type is
 * reported at `at` (the key, or the list item). */
const char *layer_scalar(Walk *w, const char *path, ProfileMark at, int node, const char *what) {
        ProfileNodeKind k = layer_kind(w, node);
        const char *t;
        size_t len;

        if (k != PROFILE_NODE_SCALAR) {
                layer_problem(w, at, path, "expected %s, got %s", what, layer_kind_name(k));
                return NULL;
        }
        t = profile_node_text(w->doc, node, &len);
        if (strlen(t) != len) {
                layer_problem(w, layer_mark(w, node), path, "contains a NUL character");
                return NULL;
        }
        if (len > PROFILE_SCALAR_MAX) {
                layer_problem(w, layer_mark(w, node), path, "longer than %d bytes", PROFILE_SCALAR_MAX);
                return NULL;
        }
        return t;
}

bool layer_want_sequence(Walk *w, const char *path, int key, int value) {
        ProfileNodeKind k = layer_kind(w, value);

        if (k != PROFILE_NODE_SEQUENCE) {
                layer_problem(w, layer_mark(w, key), path, "expected a sequence, got %s", layer_kind_name(k));
                return false;
        }
        if (profile_node_size(w->doc, value) > PROFILE_LIST_MAX) {
                layer_problem(w, layer_mark(w, value), path, "more than %d entries", PROFILE_LIST_MAX);
                return false;
        }
        return true;
}

static bool key_equal(Walk *w, int a, int b) {
        size_t la, lb;
        const char *ta = profile_node_text(w->doc, a, &la), *tb = profile_node_text(w->doc, b, &lb);
        return ta && tb && la == lb && memcmp(ta, tb, la) == 0;
}

static int cmp_keys(const void *a, const void *b, void *userdata) {
        Walk *w = userdata;
        const size_t *x = a, *y = b;
        size_t lx = 0, ly = 0;
        const char *tx = profile_node_text(w->doc, profile_node_key(w->doc, w->sorting, *x), &lx);
        const char *ty = profile_node_text(w->doc, profile_node_key(w->doc, w->sorting, *y), &ly);
        int c;

        /* Non-scalar keys (no text) sort first, all equal. */
        c = !!tx - !!ty;
        if (c == 0 && tx) {
                c = memcmp(tx, ty, lx < ly ? lx : ly);
                if (c == 0)
                        c = (lx > ly) - (lx < ly);
        }
        return c != 0 ? c : (*x > *y) - (*x < *y);
}

/* Marks every key that repeats an earlier one. Small mappings pairwise,
 * big ones (hostile input) by sorting. */
static int find_duplicates(Walk *w, int node, bool **ret) {
        size_t n = profile_node_size(w->doc, node);
        _cleanup_free_ size_t *idx = NULL;
        _cleanup_free_ bool *dup = NULL;

        dup = calloc(n ? n : 1, sizeof(bool));
        if (!dup)
                return -ENOMEM;
        if (n <= 32) {
                for (size_t i = 1; i < n; i++)
                        for (size_t j = 0; j < i && !dup[i]; j++)
                                dup[i] = key_equal(w, profile_node_key(w->doc, node, i),
                                                   profile_node_key(w->doc, node, j));
        } else {
                idx = calloc(n, sizeof(size_t));
                if (!idx)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        idx[i] = i;
                w->sorting = node;
                qsort_r(idx, n, sizeof(size_t), cmp_keys, w);
                for (size_t i = 1; i < n; i++)
                        if (key_equal(w, profile_node_key(w->doc, node, idx[i]),
                                      profile_node_key(w->doc, node, idx[i - 1])))
                                dup[idx[i]] = true;
        }
        *ret = TAKE_PTR(dup);
        return 0;
}

/* Calls the handler of each key; any, when set, takes the keys of an open
 * mapping (env.set). */
int layer_walk_mapping(Walk *w, const char *path, int node, const KeyHandler *h, size_t n_h, KeyFn any) {
        size_t n = profile_node_size(w->doc, node);
        _cleanup_free_ bool *dup = NULL;
        int r;

        r = find_duplicates(w, node, &dup);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                int k = profile_node_key(w->doc, node, i), v = profile_node_value(w->doc, node, i);
                char child[PATH_LEN], shown[80];
                const KeyHandler *hit = NULL;
                const char *kt;
                size_t len;

                if (layer_kind(w, k) != PROFILE_NODE_SCALAR) {
                        layer_problem(w, layer_mark(w, k), path, "keys must be strings, got %s",
                                      layer_kind_name(layer_kind(w, k)));
                        continue;
                }
                kt = profile_node_text(w->doc, k, &len);
                if (dup[i]) {
                        layer_problem(w, layer_mark(w, k), path, "duplicate key '%s'", profile_shown(kt, shown));
                        continue;
                }
                if (strlen(kt) == len)
                        for (size_t j = 0; j < n_h && !hit; j++)
                                if (streq(h[j].key, kt))
                                        hit = &h[j];
                if (hit)
                        r = hit->fn(w, layer_join(child, path, kt), k, v, hit->arg);
                else if (any && strlen(kt) == len)
                        r = any(w, path, k, v, 0);
                else {
                        layer_problem(w, layer_mark(w, k), path, "unknown key '%s'", profile_shown(kt, shown));
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A section: a mapping of known keys; null is an empty one. */
int layer_section(Walk *w, const char *path, int key, int value, const KeyHandler *h, size_t n_h) {
        ProfileNodeKind k = layer_kind(w, value);

        if (k == PROFILE_NODE_NULL)
                return 0;
        if (k != PROFILE_NODE_MAPPING) {
                layer_problem(w, layer_mark(w, key), path, "expected a mapping, got %s", layer_kind_name(k));
                return 0;
        }
        return layer_walk_mapping(w, path, value, h, n_h, NULL);
}

/* An entry of a list that must be a mapping. */
int layer_entry(Walk *w, const char *path, int item, const KeyHandler *h, size_t n_h, void *target) {
        ProfileNodeKind k = layer_kind(w, item);
        int r;

        if (k != PROFILE_NODE_MAPPING) {
                layer_problem(w, layer_mark(w, item), path, "expected a mapping, got %s", layer_kind_name(k));
                return 0;
        }
        w->target = target;
        r = layer_walk_mapping(w, path, item, h, n_h, NULL);
        w->target = NULL;
        return r;
}

int layer_find_key(Walk *w, int mapping, const char *key) {
        for (size_t i = 0; i < profile_node_size(w->doc, mapping); i++) {
                int k = profile_node_key(w->doc, mapping, i);
                const char *t = profile_node_text(w->doc, k, NULL);
                if (t && streq(t, key))
                        return k;
        }
        return 0;
}

int layer_pick(Walk *w, const char *path, int key, int value, const char *const *names, size_t n, int *ret) {
        char shown[80], list[128] = "";
        const char *t = layer_scalar(w, path, layer_mark(w, key), value, "a string");

        if (!t)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], t)) {
                        *ret = (int) i;
                        return 0;
                }
        for (size_t i = 0; i < n; i++)
                (void) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                                i == 0       ? ""
                                : i + 1 == n ? " or "
                                             : ", ",
                                names[i]);
        layer_problem(w, layer_mark(w, value), path, "'%s' is not %s", profile_shown(t, shown), list);
        return -EINVAL;
}

int layer_dup_string(Walk *w, const char *path, int key, int value, char **ret) {
        const char *t = layer_scalar(w, path, layer_mark(w, key), value, "a string");
        char *s;

        if (!t)
                return 1;
        s = strdup(t);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

int layer_dup_path(Walk *w, const char *path, ProfileMark at, int node, char **ret) {
        const char *t = layer_scalar(w, path, at, node, "a path"), *why;
        char shown[80];

        if (!t)
                return 1;
        why = path_problem(t);
        if (why) {
                layer_problem(w, layer_mark(w, node), path, "'%s' %s", profile_shown(t, shown), why);
                return 1;
        }
        free(*ret);
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

int layer_strv_list(Walk *w, const char *path, int key, int value, ProfileField f, ItemFn check, char ***ret) {
        _cleanup_(strv_freep) char **v = NULL;
        bool ok = true;
        int r;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < profile_node_size(w->doc, value); i++) {
                int item = profile_node_item(w->doc, value, i);
                char ip[PATH_LEN];
                const char *t = layer_scalar(w, layer_indexed(ip, path, i), layer_mark(w, item), item, "a string");
                char *s = NULL;

                if (!t) {
                        ok = false;
                        continue;
                }
                r = check(w, ip, item, t, &s);
                if (r < 0)
                        return r;
                if (r > 0) {
                        ok = false;
                        continue;
                }
                if (strv_contains(v, s))
                        free(s);
                else if (strv_push(&v, s) < 0)
                        return -ENOMEM;
        }
        if (ok) {
                strv_free(*ret);
                *ret = TAKE_PTR(v);
                layer_set(w, f, key, value);
        }
        return 0;
}

int layer_item_path(Walk *w, const char *path, int item, const char *t, char **ret) {
        char shown[80];
        const char *why = path_problem(t);

        if (why) {
                layer_problem(w, layer_mark(w, item), path, "'%s' %s", profile_shown(t, shown), why);
                return 1;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}
