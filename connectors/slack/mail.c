/* mail.c — one e-mail over SMTP with libcurl (mail.h). */
#include "mail.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/sk.h"

typedef struct src {
    const char *p;
    size_t n, off;
} src_t;

static size_t on_read(char *d, size_t sz, size_t nm, void *u)
{
    src_t *s = u;
    size_t n = sz * nm;
    if (n > s->n - s->off)
        n = s->n - s->off;
    memcpy(d, s->p + s->off, n);
    s->off += n;
    return n;
}

/* Header-safe copy: no CR/LF (a header injection through a task reason). */
static void flat(char *out, size_t len, const char *s)
{
    size_t k = 0;
    for (; s && *s && k + 1 < len; s++)
        out[k++] = (*s == '\r' || *s == '\n') ? ' ' : *s;
    out[k] = '\0';
}

/* Raw bytes per encoded-word: 36 bytes are 48 base64 characters, and the
 * word's 60 characters fit a first line after "Subject: " in 76. */
#define WORD_BYTES 36

/* The length of s's first n bytes cut back to the start of a UTF-8
 * character (n when s[n] starts one or ends s). */
static size_t char_cut(const unsigned char *s, size_t len, size_t n)
{
    if (n >= len)
        return len;
    while (n > 0 && (s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

void sk_slack_mail_subject(const char *subject, char out[SK_SLACK_SUBJECT_OUT])
{
    unsigned char raw[SK_SLACK_SUBJECT_MAX + 1];
    size_t n = 0, k = 0;
    int ascii = 1;
    for (const char *p = subject ? subject : ""; *p && n < SK_SLACK_SUBJECT_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r' || c == '\n' || c == '\t')
            c = ' '; /* no header injection through a task's text */
        raw[n++] = c;
        ascii &= c >= 0x20 && c < 0x7f;
    }
    while (subject && n > 0 && ((unsigned char)subject[n] & 0xc0) == 0x80)
        n--; /* cut inside a character: not that character */
    raw[n] = '\0';
    if (ascii) {
        memcpy(out, raw, n + 1);
        return;
    }
    for (size_t at = 0; at < n;) {
        size_t take = char_cut(raw + at, n - at, WORD_BYTES);
        if (take == 0) /* not UTF-8 (a continuation byte run): bytes as they are */
            take = n - at < WORD_BYTES ? n - at : WORD_BYTES;
        if (at)
            k += (size_t)snprintf(out + k, SK_SLACK_SUBJECT_OUT - k, "\r\n ");
        k += (size_t)snprintf(out + k, SK_SLACK_SUBJECT_OUT - k, "=?UTF-8?B?");
        sodium_bin2base64(out + k, SK_SLACK_SUBJECT_OUT - k, raw + at, take,
                          sodium_base64_VARIANT_ORIGINAL);
        k += strlen(out + k);
        k += (size_t)snprintf(out + k, SK_SLACK_SUBJECT_OUT - k, "?=");
        at += take;
    }
    out[k] = '\0';
}

int sk_slack_mail_send(const sk_slack_smtp_t *smtp, const char *to, const char *subject,
                       const char *text, const char *html, char *err, size_t err_len)
{
    char subj[SK_SLACK_SUBJECT_OUT], rcpt[320], from[320], date[64], boundary[64];
    char *msg = NULL;
    size_t cap;
    struct curl_slist *rcpts = NULL;
    CURL *c = NULL;
    CURLcode cc;
    src_t src;
    int rc = SK_EIO;
    time_t now = time(NULL);
    struct tm tm;

    sk_slack_mail_subject(subject, subj);
    flat(rcpt, sizeof(rcpt), to);
    flat(from, sizeof(from), smtp->from);
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof(boundary), "sk-%lld-%d", (long long)now, rand());
    cap = strlen(text) + strlen(html) + sizeof(subj) + 2048;
    msg = malloc(cap);
    if (!msg) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    snprintf(msg, cap,
             "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
             "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
             "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--%s--\r\n",
             date, from, rcpt, subj, boundary, boundary, text, boundary, html, boundary);
    src = (src_t){.p = msg, .n = strlen(msg)};
    c = curl_easy_init();
    if (!c) {
        snprintf(err, err_len, "curl_easy_init failed");
        goto out;
    }
    snprintf(subj, sizeof(subj), "<%s>", rcpt);
    rcpts = curl_slist_append(rcpts, subj);
    snprintf(subj, sizeof(subj), "<%s>", from);
    curl_easy_setopt(c, CURLOPT_URL, smtp->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, subj);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(smtp->timeout_s > 0 ? smtp->timeout_s : 30));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (smtp->user && *smtp->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, smtp->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, smtp->password ? smtp->password : "");
    }
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(err, err_len, "SMTP to %s: %s", rcpt, curl_easy_strerror(cc));
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(rcpts);
    if (c)
        curl_easy_cleanup(c);
    free(msg);
    return rc;
}
