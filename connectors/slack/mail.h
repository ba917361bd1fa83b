/*
 * mail.h — notifications by e-mail: SMTP with libcurl (smtp:// or
 * smtps://, STARTTLS when the server offers it and the URL is smtp://
 * with `use_ssl`), one multipart/alternative message (plain text + HTML).
 */
#ifndef SK_SLACK_MAIL_H
#define SK_SLACK_MAIL_H

#include <stddef.h>

typedef struct sk_slack_smtp {
    const char *url;      /* "smtp://mail.example.com:587"; NULL/"": e-mail off */
    const char *from;     /* envelope and From: address */
    const char *user;     /* "" or NULL: no AUTH */
    const char *password; /* borrowed; never logged */
    int timeout_s;
} sk_slack_smtp_t;

/* Sends one message to `to`. 0, or SK_EIO with the reason in err. */
int sk_slack_mail_send(const sk_slack_smtp_t *smtp, const char *to, const char *subject,
                       const char *text, const char *html, char *err, size_t err_len);

#endif
