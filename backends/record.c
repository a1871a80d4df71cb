/* SPDX-License-Identifier: MIT */
/*
 * The recording backend (see record.h): a text sink and the recorded host the
 * backends' reads are answered from while recording is on.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>

#include "action.h"
#include "fw.h"
#include "host.h"
#include "record.h"

struct rec_dnsmasq {
        char *pid_file;
};

struct rec_nft_rule {
        char *text;
        uint64_t handle;
};

struct rec_nft_chain {
        char *name;
        char *spec; /* base chain: "type filter hook ... ;", NULL otherwise */
        struct rec_nft_rule *rules;
        size_t n_rules, alloc_rules;
};

/* A table of the recorded host's nftables ruleset: vnetcfg's, or the host's own (ufw's
 * "ip filter" through iptables-nft, firewalld's "inet firewalld"), in the order made. */
struct rec_nft_table {
        char family[16], name[64];
        struct rec_nft_chain *chains;
        size_t n_chains, alloc_chains;
};

/* firewalld on the recorded host: running, and each interface bound to a zone. */
struct rec_fwd_binding {
        char zone[64], ifname[16];
};

struct recorder {
        FILE *out;
        char *buf;
        size_t size;
        char *state_dir; /* realpath, replaced by $STATE in the text */
        struct vnc_live *host;
        uint32_t *groups; /* link group per host->links[i] (grown with them) */
        size_t alloc_groups;
        uint8_t random_next;
        char **dnsmasq; /* pid files of running daemons */
        size_t n_dnsmasq, alloc_dnsmasq;
        struct rec_nft_table *nft_tables;
        size_t n_nft_tables, alloc_nft_tables;
        uint64_t nft_handle;
        bool fwd_running;
        struct rec_fwd_binding *fwd;
        size_t n_fwd, alloc_fwd;
        virConnectPtr libvirt;
};

static struct recorder *rec;

bool vnc_record_on(void) {
        return rec != NULL;
}

struct vnc_live *vnc_record_host(void) {
        return rec ? rec->host : NULL;
}

static void nft_chain_done(struct rec_nft_chain *c) {
        for (size_t i = 0; i < c->n_rules; i++)
                free(c->rules[i].text);
        free(c->rules);
        free(c->name);
        free(c->spec);
        *c = (struct rec_nft_chain){0};
}

static void nft_table_done(struct rec_nft_table *t) {
        for (size_t i = 0; i < t->n_chains; i++)
                nft_chain_done(&t->chains[i]);
        free(t->chains);
        *t = (struct rec_nft_table){0};
}

static void nft_forget(void) {
        for (size_t i = 0; i < rec->n_nft_tables; i++)
                nft_table_done(&rec->nft_tables[i]);
        free(rec->nft_tables);
        rec->nft_tables = NULL;
        rec->n_nft_tables = rec->alloc_nft_tables = 0;
}

void vnc_record_stop(void) {
        if (!rec)
                return;
        if (rec->out)
                fclose(rec->out);
        free(rec->buf);
        free(rec->state_dir);
        vnc_live_free(rec->host);
        free(rec->groups);
        for (size_t i = 0; i < rec->n_dnsmasq; i++)
                free(rec->dnsmasq[i]);
        free(rec->dnsmasq);
        nft_forget();
        free(rec->fwd);
        vnc_record_iptc_forget();
        if (rec->libvirt)
                virConnectClose(rec->libvirt);
        free(rec);
        rec = NULL;
}

int vnc_record_start(struct vnc_live *host, const char *state_dir) {
        vnc_record_stop();
        rec = calloc(1, sizeof(*rec));
        if (!rec) {
                vnc_live_free(host);
                return -ENOMEM;
        }
        rec->host = host;
        rec->out = open_memstream(&rec->buf, &rec->size);
        rec->state_dir = state_dir ? realpath(state_dir, NULL) : NULL;
        if (!rec->out || (state_dir && !rec->state_dir) ||
            VNC_GROW(rec->groups, rec->alloc_groups, host->n_links + 1) < 0) {
                vnc_record_stop();
                return -ENOMEM;
        }
        memset(rec->groups, 0, rec->alloc_groups * sizeof(*rec->groups));
        rec->nft_handle = 1;
        int r = vnc_record_iptc_load(host);
        if (r < 0) {
                vnc_record_stop();
                return r;
        }
        return 0;
}

char *vnc_record_take(void) {
        if (!rec || fflush(rec->out) != 0)
                return NULL;
        const char *sd = rec->state_dir;
        size_t sl = sd ? strlen(sd) : 0;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        for (const char *s = rec->buf; s && *s;) {
                if (sl && strncmp(s, sd, sl) == 0) {
                        fputs("$STATE", f);
                        s += sl;
                } else
                        fputc(*s++, f);
        }
        fclose(f);
        /* Start over with an empty buffer. */
        fclose(rec->out);
        free(rec->buf);
        rec->buf = NULL;
        rec->size = 0;
        rec->out = open_memstream(&rec->buf, &rec->size);
        if (!rec->out) {
                free(text);
                return NULL;
        }
        return text;
}

void vnc_record_printf(const char *fmt, ...) {
        va_list ap;

        if (!rec)
                return;
        va_start(ap, fmt);
        vfprintf(rec->out, fmt, ap);
        va_end(ap);
        fputc('\n', rec->out);
}

void vnc_record_random(void *buf, size_t n) {
        uint8_t *p = buf;
        for (size_t i = 0; i < n; i++)
                p[i] = rec ? ++rec->random_next : (uint8_t)i;
}

/* ---- links of the recorded host ---- */

static struct vnc_live_link *host_link(int ifindex, const char *name) {
        struct vnc_live *h = rec->host;
        for (size_t i = 0; i < h->n_links; i++)
                if ((ifindex > 0 && h->links[i].ifindex == ifindex) ||
                    (ifindex <= 0 && name && streq(h->links[i].name, name)))
                        return &h->links[i];
        return NULL;
}

static const char *link_name(int ifindex) {
        const struct vnc_live_link *l = ifindex > 0 ? host_link(ifindex, NULL) : NULL;
        return l ? l->name : "?";
}

static struct vnc_live_link *host_link_add(const char *name, const char *kind) {
        int next = 1;
        for (size_t i = 0; i < rec->host->n_links; i++)
                if (rec->host->links[i].ifindex >= next)
                        next = rec->host->links[i].ifindex + 1;
        if (VNC_GROW(rec->groups, rec->alloc_groups, rec->host->n_links + 1) < 0)
                return NULL;
        rec->groups[rec->host->n_links] = 0;
        struct vnc_live_link *l = vnc_live_add_link(rec->host);
        if (!l)
                return NULL;
        l->ifindex = next;
        snprintf(l->name, sizeof(l->name), "%s", name);
        snprintf(l->kind, sizeof(l->kind), "%s", kind);
        l->mtu = 1500;
        return l;
}

static void host_link_del(struct vnc_live_link *l) {
        struct vnc_live *h = rec->host;
        size_t i = (size_t)(l - h->links);
        int ifindex = l->ifindex;

        free(l->alias);
        memmove(&h->links[i], &h->links[i + 1], (h->n_links - i - 1) * sizeof(*l));
        memmove(&rec->groups[i], &rec->groups[i + 1], (h->n_links - i - 1) * sizeof(*rec->groups));
        h->n_links--;
        h->n_indexed = (size_t)-1;
        for (size_t k = h->n_addrs; k > 0; k--)
                if (h->addrs[k - 1].ifindex == ifindex)
                        h->addrs[k - 1] = h->addrs[--h->n_addrs];
        for (size_t k = h->n_routes; k > 0; k--)
                if (h->routes[k - 1].oif == ifindex) {
                        memmove(&h->routes[k - 1], &h->routes[k], (h->n_routes - k) * sizeof(*h->routes));
                        h->n_routes--;
                }
        /* Ports leave a deleted master. */
        for (size_t k = 0; k < h->n_links; k++)
                if (h->links[k].master == ifindex)
                        h->links[k].master = 0;
}

int vnc_record_read_links(struct vnc_live **ret, uint32_t *ret_unused_group) {
        struct vnc_live *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < rec->host->n_links; i++) {
                struct vnc_live_link *d = vnc_live_add_link(l);
                if (!d) {
                        vnc_live_free(l);
                        return -ENOMEM;
                }
                *d = rec->host->links[i];
                d->alias = NULL;
                if (rec->host->links[i].alias && !(d->alias = strdup(rec->host->links[i].alias))) {
                        vnc_live_free(l);
                        return -ENOMEM;
                }
        }
        l->vlan_8021q = rec->host->vlan_8021q;
        if (ret_unused_group) {
                uint32_t g = 0x10000000;
                for (bool used = true; used; g++) {
                        used = false;
                        for (size_t i = 0; i < rec->host->n_links; i++)
                                used = used || rec->groups[i] == g;
                        if (!used)
                                break;
                }
                *ret_unused_group = g;
        }
        *ret = l;
        return 0;
}

int vnc_record_live_read(struct vnc_live **ret) {
        struct vnc_live *l = NULL;
        int r = vnc_record_read_links(&l, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rec->host->n_addrs; i++) {
                struct vnc_live_addr *a = vnc_live_add_addr(l);
                if (!a)
                        goto oom;
                *a = rec->host->addrs[i];
        }
        for (size_t i = 0; i < rec->host->n_routes; i++) {
                struct vnc_live_route *x = vnc_live_add_route(l);
                if (!x)
                        goto oom;
                *x = rec->host->routes[i];
        }
        for (size_t i = 0; i < rec->host->n_sysctls; i++)
                if (vnc_live_set_sysctl(l, rec->host->sysctls[i].key, rec->host->sysctls[i].value) < 0)
                        goto oom;
        *ret = l;
        return 0;
oom:
        vnc_live_free(l);
        return -ENOMEM;
}

/* ---- netlink ---- */

static const char *msg_type(uint16_t t) {
        switch (t) {
        case RTM_NEWLINK: return "RTM_NEWLINK";
        case RTM_DELLINK: return "RTM_DELLINK";
        case RTM_SETLINK: return "RTM_SETLINK";
        case RTM_NEWADDR: return "RTM_NEWADDR";
        case RTM_DELADDR: return "RTM_DELADDR";
        case RTM_NEWROUTE: return "RTM_NEWROUTE";
        case RTM_DELROUTE: return "RTM_DELROUTE";
        default: return NULL;
        }
}

static void put_flags(FILE *f, uint16_t flags) {
        static const struct {
                uint16_t bit;
                const char *name;
        } names[] = {{NLM_F_CREATE, "CREATE"}, {NLM_F_EXCL, "EXCL"}, {NLM_F_REPLACE, "REPLACE"}, {NLM_F_APPEND, "APPEND"}};
        bool any = false;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (flags & names[i].bit) {
                        fprintf(f, "%s%s", any ? "|" : " flags=", names[i].name);
                        any = true;
                }
}

static void put_hex(FILE *f, const void *data, size_t len) {
        const uint8_t *p = data;
        for (size_t i = 0; i < len; i++)
                fprintf(f, "%02x", p[i]);
}

static void put_addr(FILE *f, int family, const void *data, size_t len) {
        char buf[INET6_ADDRSTRLEN];
        if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16))
                fputs(inet_ntop(family, data, buf, sizeof(buf)) ? buf : "?", f);
        else
                put_hex(f, data, len);
}

static void put_string(FILE *f, const char *key, const struct nlattr *a) {
        size_t len = a->nla_len - NLA_HDRLEN;
        const char *s = (const char *)a + NLA_HDRLEN;
        fprintf(f, " %s=\"%.*s\"", key, (int)strnlen(s, len), s);
}

static uint32_t attr_u32(const struct nlattr *a) {
        uint32_t v = 0;
        if (a->nla_len - NLA_HDRLEN >= 4)
                memcpy(&v, (const char *)a + NLA_HDRLEN, 4);
        return v;
}

#define FOR_ATTRS(a, start, len)                                                                        \
        for (const struct nlattr *a = (const struct nlattr *)(start); (len) >= NLA_HDRLEN &&             \
                                                                     a->nla_len >= NLA_HDRLEN &&          \
                                                                     a->nla_len <= (len);                 \
             (len) -= (size_t)NLA_ALIGN(a->nla_len) < (len) ? (size_t)NLA_ALIGN(a->nla_len) : (len),                    \
                                 a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len)))

static void put_unknown(FILE *f, const char *ns, const struct nlattr *a) {
        fprintf(f, " %s%u=", ns, a->nla_type & NLA_TYPE_MASK);
        put_hex(f, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
}

struct link_req {
        const char *ifname, *alias, *kind;
        bool has_mtu, has_master, has_group, has_address;
        uint32_t mtu, master, group, link;
        uint16_t vlan_id;
        uint8_t mac[6];
};

static void put_linkinfo(FILE *f, const struct nlattr *info, struct link_req *lr) {
        size_t len = info->nla_len - NLA_HDRLEN;
        FOR_ATTRS(a, (const char *)info + NLA_HDRLEN, len) {
                unsigned t = a->nla_type & NLA_TYPE_MASK;
                if (t == IFLA_INFO_KIND) {
                        lr->kind = (const char *)a + NLA_HDRLEN;
                        fprintf(f, " kind=%.*s", (int)strnlen(lr->kind, a->nla_len - NLA_HDRLEN), lr->kind);
                } else if (t == IFLA_INFO_DATA) {
                        size_t dl = a->nla_len - NLA_HDRLEN;
                        FOR_ATTRS(d, (const char *)a + NLA_HDRLEN, dl) {
                                unsigned dt = d->nla_type & NLA_TYPE_MASK;
                                if (lr->kind && streq(lr->kind, "vlan") && dt == IFLA_VLAN_ID &&
                                    d->nla_len - NLA_HDRLEN >= 2) {
                                        uint16_t id;
                                        memcpy(&id, (const char *)d + NLA_HDRLEN, 2);
                                        lr->vlan_id = id;
                                        fprintf(f, " vlan_id=%u", id);
                                } else
                                        put_unknown(f, "data", d);
                        }
                } else
                        put_unknown(f, "linkinfo", a);
        }
}

/* IFLA_AF_SPEC: IPv6 address generation as "addrgenmode=none" (ip link's word), the rest raw. */
static void put_af_spec(FILE *f, const struct nlattr *spec) {
        size_t len = spec->nla_len - NLA_HDRLEN;
        FOR_ATTRS(af, (const char *)spec + NLA_HDRLEN, len) {
                if ((af->nla_type & NLA_TYPE_MASK) != AF_INET6) {
                        put_unknown(f, "af_spec", af);
                        continue;
                }
                size_t xlen = af->nla_len - NLA_HDRLEN;
                FOR_ATTRS(x, (const char *)af + NLA_HDRLEN, xlen) {
                        const char *mode = NULL;
                        if ((x->nla_type & NLA_TYPE_MASK) == IFLA_INET6_ADDR_GEN_MODE && x->nla_len == NLA_HDRLEN + 1)
                                mode = vnc_addr_gen_to_string((uint8_t)(*((const uint8_t *)x + NLA_HDRLEN) + 1));
                        if (mode)
                                fprintf(f, " addrgenmode=%s", mode);
                        else
                                put_unknown(f, "inet6", x);
                }
        }
}

static int record_link(FILE *f, const struct nlmsghdr *h) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        struct link_req lr = {0};
        size_t len;

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
                return -EINVAL;
        if (ifi->ifi_index)
                fprintf(f, " dev=%s", link_name(ifi->ifi_index));
        if (ifi->ifi_change & IFF_UP)
                fprintf(f, " %s", ifi->ifi_flags & IFF_UP ? "up" : "down");
        else if (ifi->ifi_flags & IFF_UP)
                fputs(" up", f);
        len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
        FOR_ATTRS(a, (const char *)ifi + NLMSG_ALIGN(sizeof(*ifi)), len) {
                unsigned t = a->nla_type & NLA_TYPE_MASK;
                switch (t) {
                case IFLA_IFNAME:
                        lr.ifname = (const char *)a + NLA_HDRLEN;
                        fprintf(f, " ifname=%s", lr.ifname);
                        break;
                case IFLA_IFALIAS:
                        lr.alias = (const char *)a + NLA_HDRLEN;
                        put_string(f, "alias", a);
                        break;
                case IFLA_MTU:
                        lr.has_mtu = true;
                        lr.mtu = attr_u32(a);
                        fprintf(f, " mtu=%" PRIu32, lr.mtu);
                        break;
                case IFLA_MASTER:
                        lr.has_master = true;
                        lr.master = attr_u32(a);
                        fprintf(f, " master=%s", lr.master ? link_name((int)lr.master) : "none");
                        break;
                case IFLA_LINK:
                        lr.link = attr_u32(a);
                        fprintf(f, " link=%s", link_name((int)attr_u32(a)));
                        break;
                case IFLA_GROUP:
                        lr.has_group = true;
                        lr.group = attr_u32(a);
                        fprintf(f, " group=%#" PRIx32, lr.group);
                        break;
                case IFLA_ADDRESS:
                        if (a->nla_len - NLA_HDRLEN == 6) {
                                lr.has_address = true;
                                memcpy(lr.mac, (const char *)a + NLA_HDRLEN, 6);
                                fprintf(f, " address=%02x:%02x:%02x:%02x:%02x:%02x", lr.mac[0], lr.mac[1],
                                        lr.mac[2], lr.mac[3], lr.mac[4], lr.mac[5]);
                        } else
                                put_unknown(f, "ifla", a);
                        break;
                case IFLA_LINKINFO:
                        put_linkinfo(f, a, &lr);
                        break;
                case IFLA_AF_SPEC:
                        put_af_spec(f, a);
                        break;
                default:
                        put_unknown(f, "ifla", a);
                }
        }

        /* The change, on the recorded host. */
        struct vnc_live_link *l = NULL;
        if (h->nlmsg_type == RTM_DELLINK) {
                if (ifi->ifi_index || lr.ifname) {
                        l = host_link(ifi->ifi_index, lr.ifname);
                        if (!l)
                                return -ENODEV;
                        host_link_del(l);
                } else if (lr.has_group) {
                        for (size_t i = rec->host->n_links; i > 0; i--)
                                if (rec->groups[i - 1] == lr.group)
                                        host_link_del(&rec->host->links[i - 1]);
                }
                return 0;
        }
        if (ifi->ifi_index || lr.ifname)
                l = host_link(ifi->ifi_index, ifi->ifi_index ? NULL : lr.ifname);
        if (h->nlmsg_type == RTM_NEWLINK && (h->nlmsg_flags & NLM_F_CREATE) && !l) {
                if (!lr.ifname)
                        return -EINVAL;
                l = host_link_add(lr.ifname, lr.kind ? lr.kind : "");
                if (!l)
                        return -ENOMEM;
        } else if (!l)
                return -ENODEV;
        else if (h->nlmsg_type == RTM_NEWLINK && (h->nlmsg_flags & NLM_F_EXCL))
                return -EEXIST;
        if (ifi->ifi_change & IFF_UP || h->nlmsg_type == RTM_NEWLINK)
                l->admin_up = l->oper_up = ifi->ifi_flags & IFF_UP;
        if (lr.has_mtu)
                l->mtu = lr.mtu;
        if (lr.has_master)
                l->master = (int)lr.master;
        if (lr.has_address) {
                l->has_mac = true;
                memcpy(l->mac, lr.mac, 6);
        }
        if (lr.has_group)
                rec->groups[l - rec->host->links] = lr.group;
        if (lr.link)
                l->vlan_link = (int)lr.link;
        if (lr.vlan_id)
                l->vlan_id = lr.vlan_id;
        if (lr.alias) {
                free(l->alias);
                l->alias = lr.alias[0] ? strdup(lr.alias) : NULL;
        }
        return 0;
}

static void copy_bytes(uint8_t dst[16], const struct nlattr *a) {
        size_t n = a->nla_len - NLA_HDRLEN;
        memcpy(dst, (const char *)a + NLA_HDRLEN, n < 16 ? n : 16);
}

static int record_addr(FILE *f, const struct nlmsghdr *h) {
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        struct vnc_live_addr want = {0};
        size_t len;

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
                return -EINVAL;
        fprintf(f, " dev=%s family=%s prefixlen=%u scope=%u", link_name((int)ifa->ifa_index),
                ifa->ifa_family == AF_INET6 ? "inet6" : ifa->ifa_family == AF_INET ? "inet" : "?",
                ifa->ifa_prefixlen, ifa->ifa_scope);
        if (ifa->ifa_flags)
                fprintf(f, " ifa_flags=%#x", ifa->ifa_flags);
        len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
        FOR_ATTRS(a, (const char *)ifa + NLMSG_ALIGN(sizeof(*ifa)), len) {
                static const char *const names[] = {[IFA_ADDRESS] = "address", [IFA_LOCAL] = "local",
                                                    [IFA_BROADCAST] = "broadcast"};
                unsigned t = a->nla_type & NLA_TYPE_MASK;
                if (t == IFA_LOCAL || (t == IFA_ADDRESS && ifa->ifa_family == AF_INET6))
                        copy_bytes(want.addr, a);
                if (t == IFA_BROADCAST && a->nla_len - NLA_HDRLEN == 4) {
                        want.has_broadcast = true;
                        memcpy(want.broadcast, (const char *)a + NLA_HDRLEN, 4);
                }
                if (t < ELEMENTSOF(names) && names[t]) {
                        fprintf(f, " %s=", names[t]);
                        put_addr(f, ifa->ifa_family, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
                } else if (t == IFA_FLAGS)
                        fprintf(f, " flags=%#" PRIx32, attr_u32(a));
                else
                        put_unknown(f, "ifa", a);
        }

        /* The change, on the recorded host. */
        struct vnc_live *host = rec->host;
        want.ifindex = (int)ifa->ifa_index;
        want.family = ifa->ifa_family;
        want.prefix = ifa->ifa_prefixlen;
        want.scope = ifa->ifa_scope;
        want.flags = IFA_F_PERMANENT;
        for (size_t i = 0; i < host->n_addrs; i++) {
                struct vnc_live_addr *x = &host->addrs[i];
                if (x->ifindex != want.ifindex || x->family != want.family || x->prefix != want.prefix ||
                    memcmp(x->addr, want.addr, 16) != 0)
                        continue;
                if (h->nlmsg_type == RTM_NEWADDR)
                        return -EEXIST;
                *x = host->addrs[--host->n_addrs];
                return 0;
        }
        if (h->nlmsg_type == RTM_DELADDR)
                return -EADDRNOTAVAIL;
        if (!host_link(want.ifindex, NULL))
                return -ENODEV;
        struct vnc_live_addr *n = vnc_live_add_addr(host);
        if (!n)
                return -ENOMEM;
        *n = want;
        return 0;
}

static int record_route(FILE *f, const struct nlmsghdr *h) {
        const struct rtmsg *rtm = NLMSG_DATA(h);
        struct vnc_live_route want = {.family = rtm->rtm_family, .dst_len = rtm->rtm_dst_len, .table = rtm->rtm_table,
                                      .protocol = rtm->rtm_protocol, .scope = rtm->rtm_scope, .type = rtm->rtm_type};
        size_t len;

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
                return -EINVAL;
        fprintf(f, " family=%s dst_len=%u table=%u protocol=%u scope=%u type=%u",
                rtm->rtm_family == AF_INET6 ? "inet6" : rtm->rtm_family == AF_INET ? "inet" : "?", rtm->rtm_dst_len,
                rtm->rtm_table, rtm->rtm_protocol, rtm->rtm_scope, rtm->rtm_type);
        len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm));
        FOR_ATTRS(a, (const char *)rtm + NLMSG_ALIGN(sizeof(*rtm)), len) {
                unsigned t = a->nla_type & NLA_TYPE_MASK;
                const void *d = (const char *)a + NLA_HDRLEN;
                size_t dl = a->nla_len - NLA_HDRLEN;
                switch (t) {
                case RTA_DST:
                        copy_bytes(want.dst, a);
                        fputs(" dst=", f);
                        put_addr(f, rtm->rtm_family, d, dl);
                        break;
                case RTA_GATEWAY:
                        want.has_gw = true;
                        copy_bytes(want.gw, a);
                        fputs(" gateway=", f);
                        put_addr(f, rtm->rtm_family, d, dl);
                        break;
                case RTA_PREFSRC:
                        want.has_prefsrc = true;
                        copy_bytes(want.prefsrc, a);
                        fputs(" prefsrc=", f);
                        put_addr(f, rtm->rtm_family, d, dl);
                        break;
                case RTA_OIF:
                        want.oif = (int)attr_u32(a);
                        fprintf(f, " oif=%s", link_name((int)attr_u32(a)));
                        break;
                case RTA_TABLE:
                        want.table = attr_u32(a);
                        fprintf(f, " rta_table=%" PRIu32, attr_u32(a));
                        break;
                case RTA_PRIORITY:
                        want.metric = attr_u32(a);
                        fprintf(f, " metric=%" PRIu32, attr_u32(a));
                        break;
                default:
                        put_unknown(f, "rta", a);
                }
        }

        /* The change, on the recorded host: a delete matches any scope, protocol and metric. */
        struct vnc_live *host = rec->host;
        for (size_t i = 0; i < host->n_routes; i++) {
                struct vnc_live_route *x = &host->routes[i];
                if (x->family != want.family || x->dst_len != want.dst_len || memcmp(x->dst, want.dst, 16) != 0 ||
                    x->table != want.table || (want.oif && x->oif != want.oif) ||
                    (h->nlmsg_type == RTM_NEWROUTE && x->metric != want.metric))
                        continue;
                if (h->nlmsg_type == RTM_NEWROUTE)
                        return -EEXIST;
                memmove(x, x + 1, (host->n_routes - i - 1) * sizeof(*x));
                host->n_routes--;
                return 0;
        }
        if (h->nlmsg_type == RTM_DELROUTE)
                return -ESRCH;
        if (want.oif && !host_link(want.oif, NULL))
                return -ENODEV;
        struct vnc_live_route *n = vnc_live_add_route(host);
        if (!n)
                return -ENOMEM;
        *n = want;
        return 0;
}

int vnc_record_netlink(const struct nlmsghdr *h) {
        const char *type = msg_type(h->nlmsg_type);
        int r;

        if (!rec)
                return -EINVAL;
        if (!type) {
                fprintf(rec->out, "netlink type=%u len=%u\n", h->nlmsg_type, h->nlmsg_len);
                return 0;
        }
        fprintf(rec->out, "netlink %s", type);
        put_flags(rec->out, h->nlmsg_flags);
        switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
        case RTM_SETLINK:
                r = record_link(rec->out, h);
                break;
        case RTM_NEWADDR:
        case RTM_DELADDR:
                r = record_addr(rec->out, h);
                break;
        default:
                r = record_route(rec->out, h);
        }
        if (r < 0)
                fprintf(rec->out, " => %s", strerror(-r));
        fputc('\n', rec->out);
        return r;
}

/* ---- tap ---- */

void vnc_record_tap_create(const char *ifname, unsigned tun_flags, bool has_owner, unsigned owner, bool has_group,
                           unsigned group) {
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {{IFF_TAP, "TAP"}, {IFF_TUN, "TUN"}, {IFF_NO_PI, "NO_PI"}, {IFF_VNET_HDR, "VNET_HDR"},
                     {IFF_MULTI_QUEUE, "MULTI_QUEUE"}, {IFF_TUN_EXCL, "TUN_EXCL"}};
        bool any = false;

        if (!rec)
                return;
        fprintf(rec->out, "tap TUNSETIFF ifname=%s flags=", ifname);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (tun_flags & names[i].bit) {
                        fprintf(rec->out, "%s%s", any ? "|" : "", names[i].name);
                        any = true;
                }
        fputc('\n', rec->out);
        if (has_owner)
                fprintf(rec->out, "tap TUNSETOWNER ifname=%s uid=%u\n", ifname, owner);
        if (has_group)
                fprintf(rec->out, "tap TUNSETGROUP ifname=%s gid=%u\n", ifname, group);
        fprintf(rec->out, "tap TUNSETPERSIST ifname=%s 1\n", ifname);
        if (!host_link(0, ifname))
                (void)host_link_add(ifname, "tun");
}

/* ---- sysctl ---- */

int vnc_record_sysctl_read(const char *key, char **ret_value) {
        const char *v = vnc_live_sysctl_get(rec->host, key);
        if (!v)
                return -ENOENT;
        *ret_value = strdup(v);
        return *ret_value ? 0 : -ENOMEM;
}

int vnc_record_sysctl_write(const char *key, const char *value) {
        fprintf(rec->out, "sysctl %s=%s\n", key, value);
        return vnc_live_set_sysctl(rec->host, key, value);
}

/* ---- dnsmasq ---- */

bool vnc_record_dnsmasq_running(const char *pid_file) {
        for (size_t i = 0; rec && i < rec->n_dnsmasq; i++)
                if (streq(rec->dnsmasq[i], pid_file))
                        return true;
        return false;
}

void vnc_record_dnsmasq_start(const char *pid_file, char *const argv[]) {
        fputs("dnsmasq execve", rec->out);
        for (size_t i = 0; argv[i]; i++)
                fprintf(rec->out, " %s", argv[i]);
        fputc('\n', rec->out);
        if (!vnc_record_dnsmasq_running(pid_file) && VNC_GROW(rec->dnsmasq, rec->alloc_dnsmasq, rec->n_dnsmasq + 1) >= 0)
                if ((rec->dnsmasq[rec->n_dnsmasq] = strdup(pid_file)))
                        rec->n_dnsmasq++;
}

void vnc_record_dnsmasq_stop(const char *pid_file, const char *profile) {
        fprintf(rec->out, "dnsmasq SIGTERM profile=%s pid-file=%s\n", profile, pid_file);
        for (size_t i = 0; i < rec->n_dnsmasq; i++)
                if (streq(rec->dnsmasq[i], pid_file)) {
                        free(rec->dnsmasq[i]);
                        rec->dnsmasq[i] = rec->dnsmasq[--rec->n_dnsmasq];
                        return;
                }
}

/* ---- nftables: the recorded host's ruleset (vnetcfg's table, the host's own) ---- */

static struct rec_nft_table *nft_table(const char *family, const char *name) {
        for (size_t i = 0; i < rec->n_nft_tables; i++)
                if (streq(rec->nft_tables[i].family, family) && streq(rec->nft_tables[i].name, name))
                        return &rec->nft_tables[i];
        return NULL;
}

static struct rec_nft_chain *nft_chain(struct rec_nft_table *t, const char *name) {
        for (size_t i = 0; i < t->n_chains; i++)
                if (streq(t->chains[i].name, name))
                        return &t->chains[i];
        return NULL;
}

static bool jumps_to(const char *rule, const char *chain) {
        static const char *const verbs[] = {"jump ", "goto "};
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const char *at = strstr(rule, verbs[i]);
                if (at && (at == rule || at[-1] == ' ')) {
                        at += strlen(verbs[i]);
                        size_t n = strcspn(at, " ");
                        if (n == strlen(chain) && strncmp(at, chain, n) == 0)
                                return true;
                }
        }
        return false;
}

static void nft_put_table(FILE *f, const struct rec_nft_table *t) {
        fprintf(f, "table %s %s {\n", t->family, t->name);
        for (size_t i = 0; i < t->n_chains; i++) {
                const struct rec_nft_chain *c = &t->chains[i];
                fprintf(f, "\tchain %s {\n", c->name);
                if (c->spec)
                        fprintf(f, "\t\t%s\n", c->spec);
                for (size_t k = 0; k < c->n_rules; k++)
                        fprintf(f, "\t\t%s # handle %" PRIu64 "\n", c->rules[k].text, c->rules[k].handle);
                fputs("\t}\n", f);
        }
        fputs("}\n", f);
}

/* `nft -a list table FAMILY NAME` (family NULL: `nft -a list ruleset`); NULL when there is no such table. */
static char *nft_list(const char *family, const char *name) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (!rec || (family && !nft_table(family, name)))
                return NULL;
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < rec->n_nft_tables; i++)
                if (!family || &rec->nft_tables[i] == nft_table(family, name))
                        nft_put_table(f, &rec->nft_tables[i]);
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

char *vnc_record_nft_list(void) {
        return nft_list(VNC_NFT_FAMILY, VNC_NFT_TABLE);
}

char *vnc_record_nft_list_table(const char *family, const char *name) {
        return nft_list(family, name);
}

char *vnc_record_nft_list_ruleset(void) {
        return rec ? nft_list(NULL, NULL) : NULL;
}

static int nft_chain_cmd(struct rec_nft_table *t, const char *verb, char *name, const char *rest) {
        struct rec_nft_chain *c = nft_chain(t, name);

        if (streq(verb, "add")) {
                if (c)
                        return 0;
                if (VNC_GROW(t->chains, t->alloc_chains, t->n_chains + 1) < 0)
                        return -ENOMEM;
                c = &t->chains[t->n_chains++];
                *c = (struct rec_nft_chain){.name = strdup(name)};
                if (!c->name)
                        return -ENOMEM;
                if (*rest == '{') {
                        /* "{ type filter hook ... ; policy accept; }" */
                        size_t len = strlen(rest);
                        const char *sp = rest + 1 + strspn(rest + 1, " ");
                        size_t n = (size_t)(rest + len - sp);
                        while (n > 0 && (sp[n - 1] == '}' || sp[n - 1] == ' '))
                                n--;
                        if (!(c->spec = strndup(sp, n)))
                                return -ENOMEM;
                }
                return 0;
        }
        if (!c)
                return -ENOENT;
        if (streq(verb, "flush")) {
                for (size_t k = 0; k < c->n_rules; k++)
                        free(c->rules[k].text);
                c->n_rules = 0;
                return 0;
        }
        if (streq(verb, "delete")) {
                if (c->n_rules > 0)
                        return -EBUSY;
                for (size_t i = 0; i < t->n_chains; i++)
                        for (size_t k = 0; k < t->chains[i].n_rules; k++)
                                if (jumps_to(t->chains[i].rules[k].text, c->name))
                                        return -EBUSY; /* still jumped to */
                nft_chain_done(c);
                size_t i = (size_t)(c - t->chains);
                memmove(c, c + 1, (t->n_chains - i - 1) * sizeof(*c));
                t->n_chains--;
                return 0;
        }
        return -EINVAL;
}

static int nft_rule_cmd(struct rec_nft_chain *c, const char *verb, const char *rest) {
        if (streq(verb, "delete")) {
                uint64_t handle;
                if (sscanf(rest, "handle %" SCNu64, &handle) != 1)
                        return -EINVAL;
                for (size_t k = 0; k < c->n_rules; k++)
                        if (c->rules[k].handle == handle) {
                                free(c->rules[k].text);
                                memmove(&c->rules[k], &c->rules[k + 1], (c->n_rules - k - 1) * sizeof(*c->rules));
                                c->n_rules--;
                                return 0;
                        }
                return -ENOENT;
        }
        if (!streq(verb, "add") && !streq(verb, "insert"))
                return -EINVAL;
        if (VNC_GROW(c->rules, c->alloc_rules, c->n_rules + 1) < 0)
                return -ENOMEM;
        size_t pos = streq(verb, "add") ? c->n_rules : 0;
        char *text = strdup(rest);
        if (!text)
                return -ENOMEM;
        memmove(&c->rules[pos + 1], &c->rules[pos], (c->n_rules - pos) * sizeof(*c->rules));
        c->rules[pos] = (struct rec_nft_rule){.text = text, .handle = ++rec->nft_handle};
        c->n_rules++;
        return 0;
}

/* One command of a transaction ("add|insert|delete|flush table|chain|rule FAMILY TABLE ..."), on the recorded ruleset. */
static int nft_apply(const char *line) {
        char verb[16], what[16], family[16], name[64];
        int off = 0;

        if (sscanf(line, "%15s %15s %15s %63s %n", verb, what, family, name, &off) != 4)
                return -EINVAL;
        const char *rest = line + off;
        struct rec_nft_table *t = nft_table(family, name);
        if (streq(what, "table")) {
                if (streq(verb, "add")) {
                        if (t)
                                return 0;
                        if (VNC_GROW(rec->nft_tables, rec->alloc_nft_tables, rec->n_nft_tables + 1) < 0)
                                return -ENOMEM;
                        t = &rec->nft_tables[rec->n_nft_tables++];
                        *t = (struct rec_nft_table){0};
                        snprintf(t->family, sizeof(t->family), "%s", family);
                        snprintf(t->name, sizeof(t->name), "%s", name);
                        return 0;
                }
                if (!streq(verb, "delete"))
                        return -EINVAL;
                if (!t)
                        return -ENOENT;
                if (t->n_chains > 0)
                        return -EBUSY;
                nft_table_done(t);
                size_t i = (size_t)(t - rec->nft_tables);
                memmove(t, t + 1, (rec->n_nft_tables - i - 1) * sizeof(*t));
                rec->n_nft_tables--;
                return 0;
        }
        if (!t)
                return -ENOENT;
        size_t nl = strcspn(rest, " ");
        _cleanup_free_ char *chain = strndup(rest, nl);
        if (!chain)
                return -ENOMEM;
        rest += nl;
        rest += strspn(rest, " ");
        if (streq(what, "chain"))
                return nft_chain_cmd(t, verb, chain, rest);
        if (!streq(what, "rule"))
                return -EINVAL;
        struct rec_nft_chain *c = nft_chain(t, chain);
        return c ? nft_rule_cmd(c, verb, rest) : -ENOENT;
}

int vnc_record_nft_run(const char *buf) {
        _cleanup_free_ char *copy = strdup(buf);
        int first = 0;

        if (!copy)
                return -ENOMEM;
        for (char *line = copy, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                int r = nft_apply(line);
                fprintf(rec->out, "nft %s%s%s\n", line, r < 0 ? " => " : "", r < 0 ? strerror(-r) : "");
                if (r < 0 && first == 0)
                        first = r;
        }
        fputs("nft commit\n", rec->out);
        return first;
}

int vnc_record_nft_load(const char *text) {
        _cleanup_free_ char *copy = strdup(text);
        char family[16] = "", table[64] = "", chain[64] = "", *cmd = NULL;
        int depth = 0, r = 0;
        bool in_chain = false;

        if (!copy || !rec)
                return -ENOMEM;
        for (char *line = copy, *next; line && *line && r >= 0; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                line += strspn(line, " \t");
                char *h = strstr(line, "# handle ");
                if (h)
                        *h = 0;
                size_t n = strlen(line);
                while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                        line[--n] = 0;
                int delta = 0;
                for (const char *c = line; *c; c++)
                        delta += *c == '{' ? 1 : *c == '}' ? -1 : 0;
                free(cmd);
                cmd = NULL;
                if (depth == 0 && sscanf(line, "table %15s %63s {", family, table) == 2)
                        cmd = vnc_strdup_printf("add table %s %s", family, table);
                else if (depth == 1 && sscanf(line, "chain %63s {", chain) == 1) {
                        in_chain = true;
                        cmd = vnc_strdup_printf("add chain %s %s %s", family, table, chain);
                } else if (depth == 1)
                        in_chain = false; /* a set, a map, a flowtable: not kept */
                else if (depth == 2 && in_chain && delta == 0 && *line) {
                        struct rec_nft_table *t = nft_table(family, table);
                        struct rec_nft_chain *c = t ? nft_chain(t, chain) : NULL;
                        if (!c)
                                r = -ENOENT;
                        else if (strncmp(line, "type ", 5) == 0) {
                                free(c->spec);
                                if (!(c->spec = strdup(line)))
                                        r = -ENOMEM;
                        } else
                                cmd = vnc_strdup_printf("add rule %s %s %s %s", family, table, chain, line);
                }
                if (r >= 0 && cmd)
                        r = nft_apply(cmd);
                depth += delta;
        }
        free(cmd);
        return r < 0 ? r : depth == 0 ? 0 : -EINVAL;
}

/* ---- firewalld (fwd-dbus.c) on the recorded host ---- */

bool vnc_record_fwd_running(void) {
        return rec && rec->fwd_running;
}

int vnc_record_fwd_zones(int (*fn)(void *u, const char *zone, const char *ifname), void *userdata) {
        for (size_t i = 0; i < rec->n_fwd; i++) {
                int r = fn(userdata, rec->fwd[i].zone, rec->fwd[i].ifname);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int fwd_bind(const char *zone, const char *ifname) {
        for (size_t i = 0; i < rec->n_fwd; i++)
                if (streq(rec->fwd[i].ifname, ifname)) {
                        snprintf(rec->fwd[i].zone, sizeof(rec->fwd[i].zone), "%s", zone);
                        return 0;
                }
        if (VNC_GROW(rec->fwd, rec->alloc_fwd, rec->n_fwd + 1) < 0)
                return -ENOMEM;
        struct rec_fwd_binding *b = &rec->fwd[rec->n_fwd++];
        snprintf(b->zone, sizeof(b->zone), "%s", zone);
        snprintf(b->ifname, sizeof(b->ifname), "%s", ifname);
        return 0;
}

int vnc_record_fwd_call(const char *method, const char *zone, const char *ifname) {
        int r = -EINVAL;

        if (streq(method, "changeZoneOfInterface"))
                r = fwd_bind(zone, ifname);
        else if (streq(method, "removeInterface")) {
                r = -ENOENT; /* firewalld: NOT_ENABLED */
                for (size_t i = 0; i < rec->n_fwd; i++)
                        if (streq(rec->fwd[i].zone, zone) && streq(rec->fwd[i].ifname, ifname)) {
                                rec->fwd[i] = rec->fwd[--rec->n_fwd];
                                r = 0;
                                break;
                        }
        }
        fprintf(rec->out, "firewalld %s zone=%s interface=%s%s%s\n", method, zone, ifname, r < 0 ? " => " : "",
                r < 0 ? strerror(-r) : "");
        return r;
}

/* ---- the recorded host's own firewall, before the recording starts ---- */

int vnc_record_setup(const char *line) {
        char zone[64], ifname[16];

        if (!rec)
                return -EINVAL;
        if (strncmp(line, "nft ", 4) == 0)
                return nft_apply(line + 4);
        if (streq(line, "firewalld running")) {
                rec->fwd_running = true;
                return 0;
        }
        if (sscanf(line, "firewalld zone %63s %15s", zone, ifname) == 2)
                return fwd_bind(zone, ifname);
        if (strncmp(line, "iptables ", 9) == 0)
                return vnc_record_iptc_setup(line + 9);
        return -EINVAL;
}

void vnc_record_iptables_kind(struct vnc_live *live) {
        live->fw_host_iptables = rec->host->fw_host_iptables;
        free(live->fw_host_iptables_how);
        live->fw_host_iptables_how = rec->host->fw_host_iptables_how ? strdup(rec->host->fw_host_iptables_how) : NULL;
}

/* ---- libvirt ---- */

void *vnc_record_libvirt(void) {
        if (rec && !rec->libvirt) {
                rec->libvirt = virConnectOpen("test:///default");
                /* The recorded host's daemon starts without networks: the driver's own "default" goes. */
                virNetworkPtr n = rec->libvirt ? virNetworkLookupByName(rec->libvirt, "default") : NULL;
                if (n) {
                        (void)virNetworkDestroy(n);
                        (void)virNetworkUndefine(n);
                        virNetworkFree(n);
                }
        }
        return rec ? rec->libvirt : NULL;
}

/* ---- the host-ops table ---- */

static int refuse(struct vnc_error *e, const char *what) {
        return vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "%s cannot run on a recorded host", what);
}

static int no_probe_cleanup(unsigned *ret_removed, struct vnc_error *e) {
        return refuse(e, "verify's probes");
}

static int no_probe_set(const char *profile, size_t n, struct vnc_probe_set **ret, struct vnc_error *e) {
        return refuse(e, "verify's probes");
}

static int no_probe(const char *bridge, const char *profile, const char *network, struct vnc_probe **ret,
                    struct vnc_error *e) {
        return refuse(e, "a probe");
}

static int no_neigh(struct vnc_neigh_table *ret, struct vnc_error *e) {
        return refuse(e, "doctor's diagnostics");
}

static int no_rulesets(struct vnc_fw_rulesets **ret, struct vnc_error *e) {
        return refuse(e, "the firewall verdict");
}

void vnc_record_host_ops(const struct vnc_host_ops *real, struct vnc_host_ops *ret) {
        *ret = (struct vnc_host_ops){
                .backends = real->backends,
                .n_backends = real->n_backends,
                .live_read = real->live_read,
                .fw_live_read = real->fw_live_read,
                .open_live_read = real->open_live_read,
                .dhcp_status = real->dhcp_status,
                .libvirt_live_read = real->libvirt_live_read,
                .live_tun_read = real->live_tun_read,
                .probe_cleanup_stale = no_probe_cleanup,
                .probe_new = no_probe,
                .probe_set_new = no_probe_set,
                .diag_neigh_read = no_neigh,
                .fw_rulesets_read = no_rulesets,
        };
}
