/* sk_decide_fx.c — see sk_decide_fx.h. */
#include "sk_decide_fx.h"

#include <stdio.h>

#include "sk_test.h"

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

void sk_dfx_check_tasks_wire(sk_codec_t *codec, sk_arena_t *arena, const sk_task_t *tasks, size_t n)
{
    char why[256] = "";
    CHECK(codec != NULL);
    for (size_t i = 0; codec && i < n; i++) {
        void *buf = NULL;
        size_t len = 0;
        sk_task_t back;
        CHECK_INT(sk_codec_encode_task(codec, &tasks[i], arena, &buf, &len), 0);
        int rc = sk_codec_decode_task(codec, buf, len, arena, &back, why, sizeof(why));
        if (rc != 0)
            fprintf(stderr, "  task %s (%s): %s\n", tasks[i].task_id,
                    sk_task_kind_name(tasks[i].kind), why);
        CHECK_INT(rc, 0);
    }
}
