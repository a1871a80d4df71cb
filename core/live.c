/* SPDX-License-Identifier: MIT */
#include <stdio.h>

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
        for (size_t i = 0; i < l->n_fw_rules; i++)
                free(l->fw_rules[i].comment);
        free(l->fw_rules);
        for (size_t i = 0; i < l->n_openings; i++)
                free(l->openings[i].comment);
        free(l->openings);
        free(l->fw_error);
        free(l->nft_error);
        free(l->fw_host_iptables_how);
        free(l->fw_foreign_nft_first);
        free(l->by_name);
        free(l->by_ifindex);
        free(l->links);
        free(l->addrs);
        free(l->routes);
        free(l->sysctls);
        vnc_libvirt_view_done(&l->lv);
        free(l);
}

void vnc_libvirt_view_done(struct vnc_libvirt_view *v) {
        for (size_t i = 0; i < v->n_nets; i++) {
                free(v->nets[i].name);
                free(v->nets[i].owner);
                free(v->nets[i].xml);
        }
        free(v->nets);
        free(v->uri);
        free(v->error);
        *v = (struct vnc_libvirt_view){0};
}

const struct vnc_live_lvnet *vnc_libvirt_view_find(const struct vnc_libvirt_view *v, const char *name) {
        for (size_t i = 0; i < v->n_nets; i++)
                if (streq(v->nets[i].name, name))
                        return &v->nets[i];
        return NULL;
}

struct vnc_live_lvnet *vnc_libvirt_view_add(struct vnc_libvirt_view *v) {
        struct vnc_live_lvnet *n = realloc(v->nets, (v->n_nets + 1) * sizeof(*n));
        if (!n)
                return NULL;
        v->nets = n;
        n = &v->nets[v->n_nets++];
        *n = (struct vnc_live_lvnet){0};
        return n;
}

/* qsort has no context argument: the links being sorted, for the comparators. */
static const struct vnc_live_link *sorting;

static int cmp_name(const void *a, const void *b) {
        return strcmp(sorting[*(const size_t *)a].name, sorting[*(const size_t *)b].name);
}

static int cmp_ifindex(const void *a, const void *b) {
        int x = sorting[*(const size_t *)a].ifindex, y = sorting[*(const size_t *)b].ifindex;
        return x < y ? -1 : x > y;
}

/*
 * The planner looks links up by name and ifindex for every object of a
 * profile; with a thousand links a linear scan makes planning quadratic.
 * The index is a cache: building it does not change what the struct holds.
 */
static bool live_index(const struct vnc_live *cl) {
        struct vnc_live *l = (struct vnc_live *)cl;
        size_t *n1, *n2;

        if (l->n_indexed == l->n_links && l->by_name)
                return true;
        n1 = malloc((l->n_links ? l->n_links : 1) * sizeof(*n1));
        n2 = malloc((l->n_links ? l->n_links : 1) * sizeof(*n2));
        if (!n1 || !n2) {
                free(n1);
                free(n2);
                return false;
        }
        for (size_t i = 0; i < l->n_links; i++)
                n1[i] = n2[i] = i;
        sorting = l->links;
        qsort(n1, l->n_links, sizeof(*n1), cmp_name);
        qsort(n2, l->n_links, sizeof(*n2), cmp_ifindex);
        sorting = NULL;
        free(l->by_name);
        free(l->by_ifindex);
        l->by_name = n1;
        l->by_ifindex = n2;
        l->n_indexed = l->n_links;
        return true;
}

const struct vnc_live_link *vnc_live_link_by_name(const struct vnc_live *l, const char *name) {
        if (!l || !name)
                return NULL;
        if (!live_index(l)) {
                for (size_t i = 0; i < l->n_links; i++)
                        if (streq(l->links[i].name, name))
                                return &l->links[i];
                return NULL;
        }
        size_t lo = 0, hi = l->n_links;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(l->links[l->by_name[mid]].name, name);
                if (c == 0)
                        return &l->links[l->by_name[mid]];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const struct vnc_live_link *vnc_live_link_by_index(const struct vnc_live *l, int ifindex) {
        if (!l || ifindex <= 0)
                return NULL;
        if (!live_index(l)) {
                for (size_t i = 0; i < l->n_links; i++)
                        if (l->links[i].ifindex == ifindex)
                                return &l->links[i];
                return NULL;
        }
        size_t lo = 0, hi = l->n_links;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int x = l->links[l->by_ifindex[mid]].ifindex;
                if (x == ifindex)
                        return &l->links[l->by_ifindex[mid]];
                if (x < ifindex)
                        lo = mid + 1;
                else
                        hi = mid;
        }
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
        l->n_indexed = (size_t)-1; /* links change: rebuild the index on the next lookup */
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

int vnc_live_add_fw_rule(struct vnc_live *l, uint8_t table, const char *chain, const char *comment) {
        struct vnc_live_fw_rule *r = live_append((void **)&l->fw_rules, &l->n_fw_rules, sizeof(*l->fw_rules));
        if (!r)
                return -ENOMEM;
        r->table = table;
        snprintf(r->chain, sizeof(r->chain), "%s", chain);
        r->comment = strdup(comment);
        r->rule = (struct vnc_fw_rule){.table = table, .icmp_type = -1, .backend = VNC_FW_IPTABLES};
        snprintf(r->rule.chain, sizeof(r->rule.chain), "%s", chain);
        snprintf(r->rule.comment, sizeof(r->rule.comment), "%s", comment);
        return r->comment ? 0 : -ENOMEM;
}

int vnc_live_add_fw_rule_full(struct vnc_live *l, const struct vnc_fw_rule *rule, bool decoded, uint64_t handle) {
        int r = vnc_live_add_fw_rule(l, rule->table, rule->chain, rule->comment);
        if (r < 0)
                return r;
        struct vnc_live_fw_rule *lr = &l->fw_rules[l->n_fw_rules - 1];
        lr->rule = *rule;
        lr->decoded = decoded;
        lr->handle = handle;
        return 0;
}

/* vlan */
const char *vnc_8021q_to_string(int s) {
        static const char *const names[] = {
                [VNC_8021Q_UNKNOWN] = "unknown",   [VNC_8021Q_LOADED] = "loaded",
                [VNC_8021Q_BUILTIN] = "built in",  [VNC_8021Q_LOADABLE] = "loadable module",
                [VNC_8021Q_MISSING] = "missing",   [VNC_8021Q_UNLOADABLE] = "module, loading disabled",
        };
        return s >= 0 && s < (int)ELEMENTSOF(names) ? names[s] : "unknown";
}

int vnc_live_add_opening(struct vnc_live *l, uint8_t place, const char *chain, const char *comment) {
        struct vnc_live_opening *o = live_append((void **)&l->openings, &l->n_openings, sizeof(*l->openings));
        if (!o)
                return -ENOMEM;
        o->place = place;
        snprintf(o->chain, sizeof(o->chain), "%s", chain);
        o->comment = strdup(comment);
        return o->comment ? 0 : -ENOMEM;
}
