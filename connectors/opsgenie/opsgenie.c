/*
 * shiftkey-opsgenie — Opsgenie schedules (GET /v2/schedules/{id}/timeline,
 * the final timeline: rotations, overrides and forwarding applied) into
 * shiftkey schedule events. See connectors/README.md.
 *
 * The timeline is read by og_timeline.c, shared with shiftkey-jsm (Jira
 * Service Management Operations, Opsgenie's successor: Opsgenie's REST API
 * is announced to stop on 2027-04-05). One period of a user → one shift:
 * id "og:<schedule>:<rotation>:<user id>:<start>", user via the user map
 * (default: the recipient's username, the e-mail address in Opsgenie).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og_timeline.h"

typedef struct og_opts {
    const char *base_url, *schedule_ids, *api_key_file;
    char key[512];
} og_opts_t;

#define O(f) offsetof(og_opts_t, f)
static const sk_cfg_row_t OG_ROWS[] = {
    {"schedule-ids", "ID,ID", O(schedule_ids), NULL, "Opsgenie schedule ids to follow; required"},
    {"api-key-file", "FILE", O(api_key_file), NULL,
     "file holding the API key (GenieKey) [else $SHIFTKEY_OPSGENIE_API_KEY]"},
    {"base-url", "URL", O(base_url), "https://api.opsgenie.com", "API base URL (EU: https://api.eu.opsgenie.com)"},
};
#undef O

static og_opts_t OG;

static int og_check(void *base, const char *prog)
{
    og_opts_t *o = base;
    if (!o->schedule_ids || !*o->schedule_ids) {
        fprintf(stderr, "%s: --schedule-ids is required (Opsgenie schedule ids, comma-separated)\n", prog);
        return -1;
    }
    return sk_conn_secret(prog, o->api_key_file, "SHIFTKEY_OPSGENIE_API_KEY", o->key, sizeof(o->key));
}

static int og_fetch(void *base, sk_conn_poll_t *p)
{
    og_opts_t *o = base;
    char tmp[4096], auth[600], api[1024];
    snprintf(auth, sizeof(auth), "Authorization: GenieKey %s", o->key);
    snprintf(api, sizeof(api), "%s/v2", o->base_url);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    snprintf(tmp, sizeof(tmp), "%s", o->schedule_ids);
    for (char *save = NULL, *s = strtok_r(tmp, ", ", &save); s; s = strtok_r(NULL, ", ", &save)) {
        int rc = sk_og_schedule(&SK_OG_OPSGENIE, p, api, s, headers);
        if (rc)
            return rc;
    }
    return 0;
}

static const sk_conn_source_t OPSGENIE = {
    .name = "opsgenie",
    .about =
        "usage: shiftkey-opsgenie --rotation ID --schedule-ids ID,... [options]\n\n"
        "Reads Opsgenie schedules' final timelines (GET /v2/schedules/{id}/timeline) over the\n"
        "look-ahead window and sends the differences since the last poll to shiftkey's schedule\n"
        "topic as shift events, keyed by user.\n"
        "The API key comes from $SHIFTKEY_OPSGENIE_API_KEY or --api-key-file, never the command line.\n",
    .tail = "\nexit status: 0 ok, 1 failed (platform, Kafka or state file), 2 usage error\n"
            "example: SHIFTKEY_OPSGENIE_API_KEY=... shiftkey-opsgenie --rotation payments-primary \\\n"
            "             --schedule-ids 4513b7ea-... --kafka broker:9092 --state /var/lib/shiftkey/og.state\n",
    .opts = {"Opsgenie (environment: SHIFTKEY_OPSGENIE_<NAME>)", "SHIFTKEY_OPSGENIE_", OG_ROWS,
             SK_ARRAY_LEN(OG_ROWS), &OG},
    .check = og_check,
    .fetch = og_fetch,
};

int main(int argc, char **argv)
{
    return sk_conn_main(&OPSGENIE, argc, argv);
}
