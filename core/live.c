/* SPDX-License-Identifier: MIT */
#include "live.h"

void vnc_live_free(struct vnc_live *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_links; i++)
                free(l->links[i].alias);
        for (size_t i = 0; i < l->n_sysctls; i++) {
                free(l->sysctls[i].key);
                free(l->sysctls[i].value);
        }
        free(l->links);
        free(l->addrs);
        free(l->routes);
        free(l->sysctls);
        free(l);
}

const struct vnc_live_link *vnc_live_link_by_name(const struct vnc_live *l, const char *name) {
        if (!l || !name)
                return NULL;
        for (size_t i = 0; i < l->n_links; i++)
                if (streq(l->links[i].name, name))
                        return &l->links[i];
        return NULL;
}

const struct vnc_live_link *vnc_live_link_by_index(const struct vnc_live *l, int ifindex) {
        if (!l || ifindex <= 0)
                return NULL;
        for (size_t i = 0; i < l->n_links; i++)
                if (l->links[i].ifindex == ifindex)
                        return &l->links[i];
        return NULL;
}

const char *vnc_live_sysctl_get(const struct vnc_live *l, const char *key) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_sysctls; i++)
                if (streq(l->sysctls[i].key, key))
                        return l->sysctls[i].value;
        return NULL;
}

/* Arrays grow by doubling; the allocated size is kept implicitly as the next power of two. */
static void *live_append(void **array, size_t *n, size_t elem) {
        size_t alloc = 0;
        if (*n > 0) {
                alloc = 8;
                while (alloc < *n)
                        alloc *= 2;
        }
        if (vnc_grow(array, &alloc, *n + 1, elem) < 0)
                return NULL;
        void *p = (char *)*array + *n * elem;
        memset(p, 0, elem);
        (*n)++;
        return p;
}

struct vnc_live_link *vnc_live_add_link(struct vnc_live *l) {
        return live_append((void **)&l->links, &l->n_links, sizeof(*l->links));
}

struct vnc_live_addr *vnc_live_add_addr(struct vnc_live *l) {
        return live_append((void **)&l->addrs, &l->n_addrs, sizeof(*l->addrs));
}

struct vnc_live_route *vnc_live_add_route(struct vnc_live *l) {
        return live_append((void **)&l->routes, &l->n_routes, sizeof(*l->routes));
}

int vnc_live_set_sysctl(struct vnc_live *l, const char *key, const char *value) {
        for (size_t i = 0; i < l->n_sysctls; i++)
                if (streq(l->sysctls[i].key, key)) {
                        char *v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(l->sysctls[i].value);
                        l->sysctls[i].value = v;
                        return 0;
                }
        struct vnc_live_sysctl *s = live_append((void **)&l->sysctls, &l->n_sysctls, sizeof(*l->sysctls));
        if (!s)
                return -ENOMEM;
        s->key = strdup(key);
        s->value = strdup(value);
        if (!s->key || !s->value)
                return -ENOMEM;
        return 0;
}
