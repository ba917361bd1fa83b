/*
 * cli_task.c — `shiftkey task ACTION ID...`: what reviewers, requesters,
 * administrators and provisioners do to requests and tasks, published as
 * AccessRequestEvents on shiftkey.requests.v1 or, for manual provisioning,
 * ProvisioningResults on shiftkey.provisioning.results.v1, keyed by the
 * subject. Also `shiftkey revoke` (propose a removal) and `shiftkey
 * escalate` (alias of `task escalate`). `task list` and `task show` live in
 * cli_tasklist.c.
 *
 * Several IDs make one event each. An ID is a request id or a task id (as
 * `task list` shows them); the subject comes from --subject, else from the
 * tasks topic, else (for the requester's own actions) it is the actor.
 *
 * Identity: --as is trusted as given (see cli_request.c).
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/keyhash.h"
#include "cli/cli_shift.h"
#include "cli/cli_sign.h"
#include "cli/cli_task.h"
#include "cli/cli_review.h"
#include "codec/codec.h"
#include "rules/rules.h"

const char *sk_cli_default_actor(void)
{
    const char *u = getenv("SHIFTKEY_USER");
    if (!u || !*u)
        u = getenv("USER");
    return u && *u ? u : NULL;
}

/* ---- publishing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    sk_cli_record_t *rec = m->_private;
    if (!rec)
        return;
    rec->ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (m->err)
        fprintf(stderr, "shiftkey: not published (key %s): %s\n", rec->key,
                rd_kafka_err2str(m->err));
}

size_t sk_cli_produce_many(const char *brokers, const char *topic, sk_cli_record_t *recs, size_t n)
{
    char errstr[512];
    for (size_t i = 0; i < n; i++)
        recs[i].ok = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "partitioner", SK_PARTITIONER, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "10000", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return n;
    }
    if (sk_cli_kafka_credentials(conf) != 0) {
        rd_kafka_conf_destroy(conf);
        return n;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        rd_kafka_headers_t *h = NULL;
        if (recs[i].sign && !(h = sk_cli_sign_headers(recs[i].sign, topic, recs[i].key, recs[i].val,
                                                      recs[i].len))) {
            fprintf(stderr, "shiftkey: cannot sign the record for %s\n", recs[i].key);
            continue;
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(recs[i].key, strlen(recs[i].key)),
            RD_KAFKA_V_VALUE((void *)recs[i].val, recs[i].len), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&recs[i]), RD_KAFKA_V_END);
        if (err) {
            if (h)
                rd_kafka_headers_destroy(h); /* not taken over on failure */
            fprintf(stderr, "shiftkey: cannot publish to %s: %s\n", topic, rd_kafka_err2str(err));
        }
    }
    rd_kafka_flush(rk, 12000);
    rd_kafka_destroy(rk);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += !recs[i].ok;
    if (failed)
        fprintf(stderr, "shiftkey: %zu of %zu not published to %s at %s (is the broker up?)\n",
                failed, n, topic, brokers);
    return failed;
}

/* ---- the actions ---- */

enum { NEED_TO = 1, NEED_POLICY = 2, NEED_DURATION = 4, NEED_COMMENT = 8 };
enum { ON_REQUEST, ON_PROVISIONING };

typedef struct verb {
    const char *name;
    int on;          /* ON_REQUEST: an AccessRequestEvent; ON_PROVISIONING: a result */
    int type;        /* sk_request_event_type_t or sk_provisioning_status_t */
    int by_subject;  /* the requester's own action: subject defaults to the actor */
    unsigned needs;  /* NEED_* options required */
    const char *who; /* who may do it */
    const char *what;
} verb_t;

static const verb_t verbs[] = {
    {"approve", ON_REQUEST, SK_REQ_APPROVED, 0, 0, "an assignee of the current step",
     "approve the current step of a request (the last approval grants)"},
    {"deny", ON_REQUEST, SK_REQ_DENIED, 0, 0, "an assignee of the current step",
     "deny a request: it ends, later steps are never asked"},
    {"comment", ON_REQUEST, SK_REQ_COMMENTED, 0, 0,
     "the requester, an assignee or an administrator",
     "comment on a request (audited; nothing changes)"},
    {"cancel", ON_REQUEST, SK_REQ_CANCELLED, 1, 0, "the requester (a revocation: an administrator)",
     "withdraw a request"},
    {"escalate", ON_REQUEST, SK_REQ_ESCALATED, 1, 0, "the requester or an assignee",
     "make a request an emergency request: its emergency policy applies from its first step"},
    {"duration", ON_REQUEST, SK_REQ_DURATION_CHANGED, 1, NEED_DURATION,
     "an assignee of the current step", "change the requested duration (--duration D)"},
    {"reassign", ON_REQUEST, SK_REQ_REASSIGNED, 0, NEED_TO, "an assignee or an administrator",
     "hand the review of the current step to another user (--to USER)"},
    {"delete", ON_REQUEST, SK_REQ_DELETED, 0, 0,
     "an administrator, or the requester while it is open", "remove a request"},
    {"restart", ON_REQUEST, SK_REQ_RESTARTED, 0, 0, "the requester or an administrator",
     "start the request's policy over from its first step"},
    {"hard-reset", ON_REQUEST, SK_REQ_HARD_RESET, 0, 0, "an administrator",
     "recompute the request's policy from the rules in force, then start over"},
    {"change-policy", ON_REQUEST, SK_REQ_POLICY_CHANGED, 0, NEED_POLICY, "an administrator",
     "apply another request policy from now on (--policy P)"},
    {"skip-step", ON_REQUEST, SK_REQ_STEP_SKIPPED, 0, 0, "an administrator",
     "skip the current step of the request's policy"},
    {"process-now", ON_REQUEST, SK_REQ_PROCESS_NOW, 0, 0,
     "the requester, an assignee or an administrator", "re-evaluate the request at once"},
    {"remind", ON_REQUEST, SK_REQ_REMINDER_SENT, 0, 0,
     "the requester, an assignee or an administrator", "remind the assignees of the current step"},
    {"confirm", ON_REQUEST, SK_REQ_REVOCATION_CONFIRMED, 0, 0, "an assignee of the revocation",
     "confirm a proposed revocation (shiftkey revoke): the access is removed"},
    {"reject", ON_REQUEST, SK_REQ_REVOCATION_DENIED, 0, 0, "an assignee of the revocation",
     "deny a proposed revocation: the access stays"},
    {"certify", ON_REQUEST, SK_REQ_REVIEW_CERTIFIED, 0, NEED_COMMENT,
     "a reviewer of the access review or an owner of its campaign, never the holder",
     "keep a grant under access review (campaigns; --reason says why)"},
    {"revoke", ON_REQUEST, SK_REQ_REVIEW_REVOKED, 0, NEED_COMMENT,
     "a reviewer of the access review or an owner of its campaign, never the holder",
     "take a grant under access review away (campaigns; --reason says why)"},
    {"provisioned", ON_PROVISIONING, SK_PROV_PROVISIONED, 0, 0, "a provisioner of the entitlement",
     "report a manual provisioning task done: the access was given by hand"},
    {"wont-provision", ON_PROVISIONING, SK_PROV_WONT_PROVISION, 0, NEED_COMMENT,
     "a provisioner of the entitlement",
     "refuse a manual provisioning task for good (--comment says why)"},
    {"deprovisioned", ON_PROVISIONING, SK_PROV_DEPROVISIONED, 0, 0,
     "a provisioner of the entitlement",
     "report a manual deprovisioning task done: the access was taken away by hand"},
};

static const verb_t *find_verb(const char *name)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(verbs); i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

static void task_usage(FILE *out)
{
    fprintf(out, "usage: shiftkey task ACTION ID... [--subject USER] [--as USER] [--comment TEXT]\n"
                 "       shiftkey task list [--user U] [--assignee A] [--all] [-o json]\n"
                 "       shiftkey task show ID [-o json]\n\n"
                 "Acts on requests and tasks. ID is a request id or a task id (shiftkey task\n"
                 "list shows both); several IDs make one event each. Actions:\n");
    for (size_t i = 0; i < SK_ARRAY_LEN(verbs); i++)
        fprintf(out, "  %-15s %s\n", verbs[i].name, verbs[i].what);
    fprintf(out, "  %-15s %s\n  %-15s %s\n", "list", "open tasks, their state and assignees",
            "show", "every event of a task or a request");
    fprintf(out,
            "\nshiftkey task ACTION --help: that action's options. Exit status: 0 every event\n"
            "published, 1 one or more failed (or an ID not found), 2 usage error.\n");
}

static void verb_usage(const verb_t *v, FILE *out)
{
    const int prov = v->on == ON_PROVISIONING;
    fprintf(out,
            "usage: shiftkey task %s %s... [--subject USER] [--as USER] %s%s%s%s\n"
            "                     [--kafka BROKERS] [--bootstrap-file F]\n\n",
            v->name, prov ? "TASK_ID" : "ID",
            v->needs & NEED_COMMENT ? "--comment REASON" : "[--comment TEXT]",
            v->needs & NEED_TO ? " --to USER" : "",
            v->needs & NEED_POLICY ? " --policy POLICY" : "",
            v->needs & NEED_DURATION ? " --duration D" : "");
    fprintf(out, "%c%s.\nDone by %s.%s\n", toupper((unsigned char)v->what[0]), v->what + 1, v->who,
            v->type == SK_REQ_ESCALATED && !prov ? " Also: shiftkey escalate ID..." : "");
    if (prov)
        fprintf(out,
                "Publishes a ProvisioningResult (%s) on %s whose\n"
                "command_id is the task id (32 hex characters; a request id works when its\n"
                "latest task is a (de)provisioning task).\n",
                sk_provisioning_status_name((sk_provisioning_status_t)v->type),
                sk_cli_topic(SK_TOPIC_RESULTS));
    else
        fprintf(out, "Publishes one %s event per ID on %s.\n",
                sk_request_event_type_name((sk_request_event_type_t)v->type),
                sk_cli_topic(SK_TOPIC_REQUESTS));
    fprintf(out,
            "  ID               a request id, or a task id from shiftkey task list\n"
            "  --subject USER   whose access it is (the requester, the holder); default: read\n"
            "                   from %s%s\n"
            "  --as USER        which of your keys acts (default $SHIFTKEY_USER, else your\n"
            "                   only key; see shiftkey keygen)%s\n"
            "  --key FILE       the key file to sign with (or $SHIFTKEY_KEY)\n"
            "  --comment TEXT   %s\n",
            sk_cli_topic(SK_TOPIC_TASKS), v->by_subject ? ", else the actor" : "",
            prov ? "; the provisioner" : "",
            v->needs & NEED_COMMENT ? "why (required)" : "a comment, audited with the action");
    if (v->needs & NEED_TO)
        fprintf(out, "  --to USER        the new reviewer\n");
    if (v->needs & NEED_POLICY)
        fprintf(out, "  --policy POLICY  a policy id of the rules (policies.yaml)\n");
    if (v->needs & NEED_DURATION)
        fprintf(out, "  --duration D     the new duration: 90s, 15m, 2h, 1d\n");
    if (v->type == SK_REQ_REVIEW_CERTIFIED || v->type == SK_REQ_REVIEW_REVOKED)
        fprintf(out, "  --reason TEXT    the same as --comment\n"
                     "  --campaign C     also every open review of campaign C assigned to you\n"
                     "                   (the bulk form; IDs may then be left out)\n");
    fprintf(out, "  --kafka BROKERS / --bootstrap-file F   as for shiftkey shift\n"
                 "The engine decides: an action by someone not allowed is refused and audited.\n"
                 "Exit status: 0 every event published, 1 one or more not published or an ID\n"
                 "not found (the others are still sent), 2 usage error.\n");
}

/* Options of one action. */
typedef struct action_opts {
    const char *subject, *as, *comment, *to, *policy, *duration_text, *kafka, *bfile, *key;
    const char *campaign; /* certify / revoke: every open review of it assigned to --as */
    sk_ms_t duration;
    sk_signing_key_t signer; /* the key acted with; as = signer.signer */
} action_opts_t;

/* Parses argv from optind 1 (argv[0] is the action). -1 to go on, else an
 * exit code. */
static int parse_action(const verb_t *v, int argc, char **argv, action_opts_t *o)
{
    static const struct option longopts[] = {{"subject", 1, 0, 's'},
                                             {"as", 1, 0, 'a'},
                                             {"comment", 1, 0, 'c'},
                                             {"reason", 1, 0, 'c'},
                                             {"to", 1, 0, 't'},
                                             {"policy", 1, 0, 'p'},
                                             {"duration", 1, 0, 'd'},
                                             {"kafka", 1, 0, 'k'},
                                             {"bootstrap-file", 1, 0, 'b'},
                                             {"help", 0, 0, 'h'},
                                             {"key", 1, 0, 'K'},
                                             {"campaign", 1, 0, 'G'},
                                             {0, 0, 0, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    o->comment = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->subject = optarg; break;
        case 'a': o->as = optarg; break;
        case 'c': o->comment = optarg; break;
        case 't': o->to = optarg; break;
        case 'p': o->policy = optarg; break;
        case 'd': o->duration_text = optarg; break;
        case 'k': o->kafka = optarg; break;
        case 'b': o->bfile = optarg; break;
        case 'K': o->key = optarg; break;
        case 'G': o->campaign = optarg; break;
        case 'h': verb_usage(v, stdout); return 0;
        default: fprintf(stderr, "(see shiftkey task %s --help)\n", v->name); return 2;
        }
    }
    const char *err = NULL;
    bool review = v->type == SK_REQ_REVIEW_CERTIFIED || v->type == SK_REQ_REVIEW_REVOKED;
    if (o->campaign && (!review || v->on != ON_REQUEST))
        err = "--campaign is for certify and revoke only";
    else if (optind >= argc && !o->campaign)
        err = v->on == ON_PROVISIONING ? "need one or more TASK_IDs" : "need one or more IDs";
    else if (((v->needs & NEED_TO) != 0) != (o->to != NULL))
        err = o->to ? "--to is for reassign only" : "need --to USER, the new reviewer";
    else if (((v->needs & NEED_POLICY) != 0) != (o->policy != NULL))
        err = o->policy ? "--policy is for change-policy only" : "need --policy POLICY";
    else if (((v->needs & NEED_DURATION) != 0) != (o->duration_text != NULL))
        err = o->duration_text ? "--duration is for the duration action only"
                               : "need --duration D (e.g. 2h)";
    else if (o->duration_text &&
             (sk_duration_parse(o->duration_text, &o->duration) != 0 || o->duration <= 0))
        err = "--duration: use 90s, 15m, 2h, 1d or 1h30m (> 0)";
    else if ((v->needs & NEED_COMMENT) && !*o->comment)
        err = "need --comment REASON: say why";
    if (err) {
        fprintf(stderr, "shiftkey task %s: %s (see shiftkey task %s --help)\n", v->name, err,
                v->name);
        return 2;
    }
    /* who acts is whose key signs: --as only selects among the keys held */
    int signer_rc = sk_cli_signer("shiftkey task", o->as, o->key, &o->signer);
    if (signer_rc != 0)
        return signer_rc;
    o->as = o->signer.signer;
    return -1;
}

static int is_hex32(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == 32 && s[32] == '\0';
}

/* What one ID resolves to. */
typedef struct target_ref {
    const char *request_id; /* for request events */
    const char *task_id;    /* for provisioning results (command_id) */
    const char *subject;
    char *owned_subject; /* from SUBJECT/ID: freed by run_action */
} target_ref_t;

/* Resolves one ID with the tasks read (tasks may be NULL: not read).
 * 0, or 1 with the reason on stderr. */
/* The latest task event with task id `id`, else of request `id` of
 * `subject` (any subject when NULL). */
static const sk_task_t *find_task(const sk_cli_tasks_t *t, const char *id, const char *subject)
{
    const sk_task_t *by_request = NULL;
    for (size_t i = t->n; i-- > 0;) {
        if (strcmp(t->v[i].task_id, id) == 0)
            return &t->v[i];
        if (!by_request && strcmp(t->v[i].request_id, id) == 0 &&
            (!subject || strcmp(t->v[i].subject, subject) == 0))
            by_request = &t->v[i];
    }
    return by_request;
}

/* How many distinct subjects have a request `id` (request ids are chosen
 * by requesters and unique per subject only); the first two in names. */
static size_t request_subjects(const sk_cli_tasks_t *t, const char *id, const char *names[2])
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].request_id, id) != 0 || strcmp(t->v[i].task_id, id) == 0)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < i && k == 0; j++)
            k = strcmp(t->v[j].request_id, id) == 0 &&
                strcmp(t->v[j].subject, t->v[i].subject) == 0;
        if (k)
            continue;
        if (n < 2)
            names[n] = t->v[i].subject;
        n++;
    }
    return n;
}

/*
 * Resolves one ID with the tasks read (tasks may be NULL: not read). A
 * request id names a request of one subject only: `SUBJECT/ID`, --subject,
 * or an id only one subject uses; an id two subjects use is refused, never
 * guessed. 0, or 1 with the reason on stderr.
 */
static int resolve(const verb_t *v, const action_opts_t *o, const sk_cli_tasks_t *tasks,
                   const char *id, target_ref_t *ref)
{
    const char *subject = o->subject, *slash = strchr(id, '/');
    const sk_task_t *t = tasks ? find_task(tasks, id, subject) : NULL;
    if (!t && slash && slash != id && slash[1]) {
        /* SUBJECT/ID */
        char *subj = strndup(id, (size_t)(slash - id));
        if (!subj || (subject && strcmp(subject, subj) != 0)) {
            fprintf(stderr, "shiftkey task %s: '%s' names subject '%s' but --subject is '%s'\n",
                    v->name, id, subj ? subj : "?", subject);
            free(subj);
            return 1;
        }
        ref->owned_subject = subj;
        subject = subj;
        id = slash + 1;
        t = tasks ? find_task(tasks, id, subject) : NULL;
    }
    if (tasks && !subject && !(t && strcmp(t->task_id, id) == 0)) {
        const char *names[2];
        size_t n = request_subjects(tasks, id, names);
        if (n > 1) {
            fprintf(stderr,
                    "shiftkey task %s: request id '%s' is used by %zu users (%s, %s%s): name "
                    "the one you mean as SUBJECT/%s (or pass --subject USER); nothing sent "
                    "for it\n",
                    v->name, id, n, names[0], names[1], n > 2 ? ", ..." : "", id);
            return 1;
        }
    }
    const int is_task = t && strcmp(t->task_id, id) == 0;
    ref->request_id = id;
    ref->task_id = id;
    ref->subject = subject ? subject : t ? t->subject : v->by_subject ? o->as : NULL;
    const int manual = t && (t->kind == SK_TASK_PROVISIONING || t->kind == SK_TASK_DEPROVISIONING);
    if (is_task && manual != (v->on == ON_PROVISIONING)) {
        fprintf(stderr, "shiftkey task %s: task %s is a %s task: %s\n", v->name, id,
                sk_task_kind_name(t->kind),
                manual ? "answer it with shiftkey task provisioned, deprovisioned or wont-provision"
                       : "act on it with approve, deny, confirm, reject, ...");
        return 1;
    }
    if (v->on == ON_PROVISIONING) {
        if (!is_task && manual)
            ref->task_id = t->task_id; /* the request's latest task */
        else if (!is_hex32(id)) {
            fprintf(stderr,
                    "shiftkey task %s: '%s' is not a task id (32 hex characters) nor a "
                    "request with an open (de)provisioning task: see shiftkey task list\n",
                    v->name, id);
            return 1;
        }
    } else if (is_task &&
               (t->kind == SK_TASK_ACCESS_REVIEW) !=
                   (v->type == SK_REQ_REVIEW_CERTIFIED || v->type == SK_REQ_REVIEW_REVOKED)) {
        fprintf(stderr, "shiftkey task %s: task %s is a%s %s task: %s\n", v->name, id,
                t->kind == SK_TASK_ACCESS_REVIEW ? "n" : "", sk_task_kind_name(t->kind),
                t->kind == SK_TASK_ACCESS_REVIEW ? "answer it with shiftkey task certify or revoke"
                                                 : "certify and revoke are for access reviews");
        return 1;
    } else if (is_task && t->kind == SK_TASK_ACCESS_REVIEW) {
        ref->request_id = t->task_id; /* the review is named by its task id */
    } else if (is_task) {
        if (!t->request_id[0]) {
            fprintf(stderr,
                    "shiftkey task %s: task %s belongs to no request (an on-call "
                    "grant's %s task): answer it with shiftkey task provisioned, "
                    "deprovisioned or wont-provision\n",
                    v->name, id, sk_task_kind_name(t->kind));
            return 1;
        }
        ref->request_id = t->request_id;
    }
    if (!ref->subject) {
        fprintf(stderr,
                "shiftkey task %s: no task or request '%s' on %s"
                ": pass --subject USER (whose access it is)\n",
                v->name, id, sk_cli_topic(SK_TOPIC_TASKS));
        return 1;
    }
    return 0;
}

/* Encodes the event of one resolved ID into arena memory. 0 or -1. */
static int encode_action(sk_codec_t *codec, sk_arena_t *a, const verb_t *v, const action_opts_t *o,
                         const target_ref_t *ref, size_t nth, sk_cli_record_t *rec)
{
    sk_ms_t now = sk_now_ms();
    void *buf = NULL;
    size_t len = 0;
    int rc;
    if (v->on == ON_PROVISIONING) {
        sk_provisioning_result_t r = {.result = (sk_provisioning_status_t)v->type,
                                      .provisioner = o->as,
                                      .user = ref->subject,
                                      .message = o->comment,
                                      .at_ms = now};
        snprintf(r.command_id, sizeof(r.command_id), "%s", ref->task_id);
        rc = sk_codec_encode_provisioning_result(codec, &r, a, &buf, &len);
    } else {
        char *event_id = sk_arena_sprintf(a, "%.64s-%s-%.40s-%" PRId64 "-%zu", ref->request_id,
                                          v->name, o->as, now, nth);
        sk_request_event_t ev = {.event_id = event_id,
                                 .type = (sk_request_event_type_t)v->type,
                                 .request_id = ref->request_id,
                                 .actor = o->as,
                                 .subject = ref->subject,
                                 .target_kind = SK_TARGET_ENTITLEMENT,
                                 .target = "",
                                 .duration_ms = o->duration_text ? o->duration : SK_MS_NONE,
                                 .justification = "",
                                 .emergency = v->type == SK_REQ_ESCALATED,
                                 .comment = o->comment,
                                 .assignee = o->to,
                                 .policy = o->policy,
                                 .source = "cli",
                                 .occurred_at_ms = now};
        rc = event_id ? sk_codec_encode_request(codec, &ev, a, &buf, &len) : -1;
    }
    if (rc != 0)
        return -1;
    *rec = (sk_cli_record_t){.key = ref->subject, .val = buf, .len = len, .sign = &o->signer};
    return 0;
}

static const char *need_brokers(const char *kafka, const char *bfile, char *buf, size_t len)
{
    const char *b = sk_cli_bootstrap(kafka, bfile, buf, len);
    if (!b)
        fprintf(stderr, "shiftkey: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or start "
                        "shiftkeyd --kafka embedded\n");
    return b;
}

/* Whether any ID needs the tasks topic to be resolved. */
static int needs_lookup(const verb_t *v, const action_opts_t *o, int n, char **ids)
{
    for (int i = 0; i < n; i++)
        if (!o->subject || (v->on == ON_REQUEST ? is_hex32(ids[i]) : !is_hex32(ids[i])))
            return 1;
    return 0;
}

/* One action over the IDs argv[optind..]; argv[0] is the action name. */
static int run_action(const verb_t *v, int argc, char **argv)
{
    action_opts_t o;
    char bs[1024];
    int rc = parse_action(v, argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *brokers = need_brokers(o.kafka, o.bfile, bs, sizeof(bs));
    if (!brokers)
        return 2;
    char **ids = argv + optind, **picked = NULL;
    size_t n = (size_t)(argc - optind), failed = 0, sent = 0;
    sk_cli_tasks_t tasks;
    int have_tasks = 0;
    if (o.campaign) { /* the bulk form: every open review of the campaign assigned to --as */
        if (sk_cli_tasks_read(brokers, 10000, &tasks) != 0) {
            sk_cli_tasks_free(&tasks);
            fprintf(stderr, "shiftkey task %s: cannot read %s; nothing sent\n", v->name,
                    sk_cli_topic(SK_TOPIC_TASKS));
            return 1;
        }
        have_tasks = 1;
        picked = sk_cli_review_open(&tasks, o.campaign, o.as, ids, n, &n);
        if (!picked || n == 0) {
            printf("%s: no open review of campaign %s is assigned to %s\n", v->name, o.campaign,
                   o.as);
            free(picked);
            sk_cli_tasks_free(&tasks);
            return picked ? 0 : 1;
        }
        ids = picked;
    } else if (needs_lookup(v, &o, (int)n, ids)) {
        have_tasks = sk_cli_tasks_read(brokers, 10000, &tasks) == 0;
        if (!have_tasks) {
            sk_cli_tasks_free(&tasks);
            if (!o.subject) {
                fprintf(stderr,
                        "shiftkey task %s: cannot find whose request it is without "
                        "reading %s; nothing sent\n",
                        v->name, sk_cli_topic(SK_TOPIC_TASKS));
                return 1;
            }
        }
    }
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    sk_arena_init(&a, 16384);
    sk_cli_record_t *recs = calloc(n, sizeof(*recs));
    target_ref_t *refs = calloc(n, sizeof(*refs));
    const char **names = calloc(n, sizeof(*names));
    if (!codec || !recs || !refs || !names) {
        fprintf(stderr, "shiftkey task: out of memory\n");
        failed = n;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        target_ref_t ref = {0};
        if (resolve(v, &o, have_tasks ? &tasks : NULL, ids[i], &ref) != 0) {
            free(ref.owned_subject);
            failed++;
            continue;
        }
        if (encode_action(codec, &a, v, &o, &ref, i, &recs[sent]) != 0) {
            free(ref.owned_subject);
            fprintf(stderr,
                    "shiftkey task %s: cannot encode the event for '%s' (ids: printable, "
                    "no spaces, at most 256 bytes; text at most 4096 bytes)\n",
                    v->name, ids[i]);
            failed++;
            continue;
        }
        refs[sent] = ref;
        names[sent++] = ids[i];
    }
    if (sent > 0)
        sk_cli_produce_many(brokers,
                            v->on == ON_PROVISIONING ? sk_cli_topic(SK_TOPIC_RESULTS)
                                                     : sk_cli_topic(SK_TOPIC_REQUESTS),
                            recs, sent);
    for (size_t i = 0; i < sent; i++) {
        if (!recs[i].ok) {
            failed++;
            continue;
        }
        if (v->on == ON_PROVISIONING)
            printf("%s task %s of %s as %s: sent\n", v->name, refs[i].task_id, refs[i].subject,
                   o.as);
        else if (strcmp(refs[i].request_id, names[i]) != 0)
            printf("%s request %s (task %s) of %s as %s: sent\n", v->name, refs[i].request_id,
                   names[i], refs[i].subject, o.as);
        else
            printf("%s request %s of %s as %s: sent\n", v->name, refs[i].request_id,
                   refs[i].subject, o.as);
    }
out:
    for (size_t i = 0; refs && i < sent; i++)
        free(refs[i].owned_subject);
    free(names);
    free(refs);
    free(recs);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    if (have_tasks)
        sk_cli_tasks_free(&tasks);
    free(picked);
    sk_keyfile_wipe(&o.signer);
    return failed ? 1 : 0;
}

int sk_cli_task(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        task_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "list") == 0)
        return sk_cli_task_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return sk_cli_task_show(argc - 1, argv + 1);
    const verb_t *v = find_verb(argv[1]);
    if (!v) {
        fprintf(stderr, "shiftkey task: unknown action '%s' (see shiftkey task --help)\n", argv[1]);
        return 2;
    }
    return run_action(v, argc - 1, argv + 1);
}

int sk_cli_escalate(int argc, char **argv)
{
    return run_action(find_verb("escalate"), argc, argv);
}

/* ---- shiftkey revoke ---- */

static void revoke_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey revoke USER APP/ENTITLEMENT|PROFILE [--justification TEXT]\n"
            "                       [--comment TEXT] [--id ID] [--as USER] [--kafka BROKERS]\n\n"
            "Proposes removing USER's access to an entitlement (app/entitlement) or an access\n"
            "profile: publishes REVOCATION_PROPOSED on %s. The\n"
            "entitlement's revocation policy decides; its reviewers answer with\n"
            "shiftkey task confirm|reject ID --subject USER.\n"
            "  --id ID          the proposal's id [rev-<ms>-<pid>]\n"
            "  --as USER        which of your keys proposes (default $SHIFTKEY_USER, else\n"
            "                   your only key; see shiftkey keygen); --key FILE: that key file\n"
            "  --kafka BROKERS / --bootstrap-file F   as for shiftkey shift\n"
            "Exit status: 0 published, 1 not published, 2 usage error.\n",
            sk_cli_topic(SK_TOPIC_REQUESTS));
}

int sk_cli_revoke(int argc, char **argv)
{
    static const struct option longopts[] = {{"justification", 1, 0, 'j'},
                                             {"comment", 1, 0, 'c'},
                                             {"id", 1, 0, 'i'},
                                             {"as", 1, 0, 'a'},
                                             {"kafka", 1, 0, 'k'},
                                             {"bootstrap-file", 1, 0, 'b'},
                                             {"help", 0, 0, 'h'},
                                             {"key", 1, 0, 'K'},
                                             {0, 0, 0, 0}};
    const char *justification = "", *comment = "", *id = NULL, *as = NULL, *key = NULL;
    sk_signing_key_t signer;
    char as_buf[SK_KEY_SIGNER_MAX + 1];
    const char *kafka = NULL, *bfile = NULL;
    char bs[1024], idbuf[64];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': justification = optarg; break;
        case 'c': comment = optarg; break;
        case 'i': id = optarg; break;
        case 'a': as = optarg; break;
        case 'k': kafka = optarg; break;
        case 'b': bfile = optarg; break;
        case 'K': key = optarg; break;
        case 'h': revoke_usage(stdout); return 0;
        default: revoke_usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "shiftkey revoke: need USER and APP/ENTITLEMENT (or a profile) (see "
                        "shiftkey revoke --help)\n");
        return 2;
    }
    int signer_rc = sk_cli_signer("shiftkey revoke", as, key, &signer);
    if (signer_rc != 0)
        return signer_rc;
    snprintf(as_buf, sizeof(as_buf), "%s", signer.signer); /* outlives the wiped key */
    as = as_buf;
    const char *user = argv[optind], *target = argv[optind + 1];
    const char *brokers = need_brokers(kafka, bfile, bs, sizeof(bs));
    if (!brokers)
        return 2;
    sk_ms_t now = sk_now_ms();
    if (!id) {
        snprintf(idbuf, sizeof(idbuf), "rev-%" PRId64 "-%d", now, (int)getpid());
        id = idbuf;
    }
    char event_id[96];
    snprintf(event_id, sizeof(event_id), "%.80s-proposed", id);
    sk_request_event_t ev = {.event_id = event_id,
                             .type = SK_REQ_REVOCATION_PROPOSED,
                             .request_id = id,
                             .actor = as,
                             .subject = user,
                             .target_kind =
                                 strchr(target, '/') ? SK_TARGET_ENTITLEMENT : SK_TARGET_PROFILE,
                             .target = target,
                             .duration_ms = SK_MS_NONE,
                             .justification = justification,
                             .comment = comment,
                             .source = "cli",
                             .occurred_at_ms = now};
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    sk_cli_record_t rec = {.key = user, .sign = &signer};
    void *buf;
    int rc = 1;
    sk_arena_init(&a, 4096);
    if (!codec || sk_codec_encode_request(codec, &ev, &a, &buf, &rec.len) != 0) {
        fprintf(stderr, "shiftkey revoke: cannot encode the proposal (ids: printable, no spaces, "
                        "at most 256 bytes)\n");
    } else {
        rec.val = buf;
        if (sk_cli_produce_many(brokers, sk_cli_topic(SK_TOPIC_REQUESTS), &rec, 1) == 0) {
            printf("proposed revoking %s from %s as %s (request %s)\n", target, user, as, id);
            rc = 0;
        }
    }
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    sk_keyfile_wipe(&signer);
    return rc;
}
