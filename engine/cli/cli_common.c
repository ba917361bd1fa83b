/* cli_common.c — topics in force and JSON output for every command (cli_common.h). */
#include "cli/cli_common.h"

#include <string.h>

/* Topic names given on the command line; NULL: not given. Set once at the
 * start of main() by sk_cli_topics_take, read-only afterwards. */
static const char *given[SK_TOPIC_COUNT];

int sk_cli_topics_take(int *argc, char **argv)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        int t = sk_topic_by_option(a + 2, len);
        if (t < 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (!eq && i + 1 >= *argc) {
            fprintf(stderr, "shiftkey: %s needs a topic name\n", a);
            return 2;
        }
        given[t] = eq ? eq + 1 : argv[++i];
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

const char *sk_cli_topic(sk_topic_t t)
{
    return (unsigned)t < SK_TOPIC_COUNT && given[t] ? given[t] : sk_topic_env_name(t);
}

void sk_cli_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
