/* load.c — users' states and the on-call index from the store (see load.h). */
#include "pipeline/load.h"

#include "base/log.h"

int sk_load_users(sk_store_t *store, size_t n, const int32_t *partitions, const char *const *users,
                  sk_arena_t *arena, sk_user_state_t *out)
{
    sk_store_value_t *v = sk_arena_calloc(arena, n + 1, sizeof(*v));
    sk_ms_t now = sk_now_ms();
    int rc;
    if (!v)
        return SK_ENOMEM;
    if ((rc = sk_store_read_users(store, n, partitions, users, arena, v)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = sk_load_state(arena, users[i], &v[i], now, &out[i])) != 0)
            return rc;
    return 0;
}

int sk_load_state(sk_arena_t *arena, const char *user, const sk_store_value_t *v, sk_ms_t now,
                  sk_user_state_t *out)
{
    sk_packed_field_t *pf = NULL;
    size_t n = 0;
    sk_ms_t keep = SK_MS_NONE;
    const char *u = sk_arena_strdup(arena, user);
    int rc;
    if (!u)
        return SK_ENOMEM;
    if (v->len && (rc = sk_state_unpack(arena, v->bytes, v->len, &pf, &n, &keep)) != 0) {
        if (rc != SK_EPARSE)
            return rc;
        SK_WARN("the state of user %s in Redis is damaged (%zu bytes that do not unpack): "
                "read as empty",
                user, v->len);
        n = 0;
    }
    if (keep != SK_MS_NONE && keep <= now)
        n = 0; /* past its keep-until: dropped (the keep-until sweep deletes it) */
    sk_state_field_t *f = sk_arena_calloc(arena, n + 1, sizeof(*f));
    if (!f)
        return SK_ENOMEM;
    for (size_t k = 0; k < n; k++)
        f[k] = (sk_state_field_t){pf[k].name, pf[k].name_len, pf[k].value, pf[k].value_len};
    return sk_state_parse(arena, u, f, n, out, NULL);
}

int sk_load_user(sk_store_t *store, int32_t partition, const char *user, sk_arena_t *arena,
                 sk_user_state_t *out)
{
    return sk_load_users(store, 1, &partition, &user, arena, out);
}

int sk_load_oncall(sk_store_t *store, int32_t n_partitions, sk_oncall_view_t *view)
{
    sk_store_oncall_field_t *fields;
    size_t n;
    int rc;
    if ((rc = sk_store_oncall_read(store, n_partitions, view->rotations, view->n_rotations,
                                   view->arena, &fields, &n)) != 0)
        return rc;
    sk_oncall_op_t *ops = sk_arena_calloc(view->arena, n + 1, sizeof(*ops));
    if (!ops)
        return SK_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ops[i] = (sk_oncall_op_t){fields[i].rotation, fields[i].field, fields[i].value};
    return sk_oncall_view_apply(view, ops, n);
}
