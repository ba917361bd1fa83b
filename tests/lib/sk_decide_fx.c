/* sk_decide_fx.c — see sk_decide_fx.h. */
#include "sk_decide_fx.h"

#include <stdio.h>

#include "sk_test.h"

/* The arena's block size: a case's decisions fit in a few blocks. */
#define SK_DFX_ARENA_BLOCK 65536

void sk_dfx_setup(sk_dfx_t *fx)
{
    if (!fx->rules && fx->rules_path)
        fx->rules = sk_dfx_load_rules(fx->rules_path);
    if (!fx->other && fx->other_path)
        fx->other = sk_dfx_load_rules(fx->other_path);
    sk_arena_fini(&fx->arena);
    sk_arena_init(&fx->arena, SK_DFX_ARENA_BLOCK);
}

sk_codec_t *sk_dfx_codec(sk_dfx_t *fx)
{
    if (!fx->codec)
        fx->codec = sk_codec_new();
    return fx->codec;
}

void sk_dfx_teardown(sk_dfx_t *fx)
{
    sk_rules_destroy(fx->rules);
    sk_rules_destroy(fx->other);
    sk_codec_destroy(fx->codec);
    sk_arena_fini(&fx->arena);
    *fx = (sk_dfx_t){.rules_path = fx->rules_path, .other_path = fx->other_path};
}

sk_rules_t *sk_dfx_load_rules(const char *path)
{
    sk_rules_errors_t errs;
    sk_rules_errors_init(&errs);
    sk_rules_t *rules = sk_rules_load(path, &errs);
    if (!rules)
        sk_rules_errors_print(&errs, stderr);
    sk_rules_errors_fini(&errs);
    return rules;
}

void sk_dfx_check_tasks_wire(sk_dfx_t *fx, const sk_task_t *tasks, size_t n)
{
    char why[256] = "";
    sk_codec_t *codec = sk_dfx_codec(fx);
    CHECK(codec != NULL);
    for (size_t i = 0; codec && i < n; i++) {
        void *buf = NULL;
        size_t len = 0;
        sk_task_t back;
        CHECK_INT(sk_codec_encode_task(codec, &tasks[i], &fx->arena, &buf, &len), 0);
        int rc = sk_codec_decode_task(codec, buf, len, &fx->arena, &back, why, sizeof(why));
        if (rc != 0)
            fprintf(stderr, "  task %s (%s): %s\n", tasks[i].task_id,
                    sk_task_kind_name(tasks[i].kind), why);
        CHECK_INT(rc, 0);
    }
}

sk_user_state_t sk_dfx_stored(sk_dfx_t *fx, const sk_user_state_t *st)
{
    sk_state_field_t *f = NULL;
    size_t n = 0, bad = 0;
    sk_user_state_t back = {.user = st->user};
    CHECK_INT(sk_state_fields(&fx->arena, st, &f, &n), 0);
    CHECK_INT(sk_state_parse(&fx->arena, st->user, f, n, &back, &bad), 0);
    CHECK_INT((int)bad, 0);
    return back;
}
