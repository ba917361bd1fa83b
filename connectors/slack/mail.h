/*
 * mail.h — notifications by e-mail: SMTP with libcurl (smtp:// or
 * smtps://, STARTTLS when the server offers it and the URL is smtp://
 * with `use_ssl`), one multipart/alternative message (plain text + HTML);
 * a subject that is not ASCII goes as RFC 2047 encoded-words.
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

/* The bytes of a subject used at most, and the room its header value needs. */
#define SK_SLACK_SUBJECT_MAX 400
#define SK_SLACK_SUBJECT_OUT 1024

/*
 * sk_slack_mail_subject — the Subject header's value for `subject` (UTF-8;
 * CR and LF become spaces, at most SK_SLACK_SUBJECT_MAX bytes of it are
 * used, cut before a character): as it is when it is printable ASCII, else
 * RFC 2047 encoded-words (=?UTF-8?B?...?=, never splitting a character)
 * folded onto continuation lines ("\r\n "), so that no line of the header
 * passes 76 characters. Writes a NUL-terminated string into out.
 */
void sk_slack_mail_subject(const char *subject, char out[SK_SLACK_SUBJECT_OUT]);

/* Sends one message to `to` (the subject as sk_slack_mail_subject writes
 * it). 0, or SK_EIO with the reason in err. */
int sk_slack_mail_send(const sk_slack_smtp_t *smtp, const char *to, const char *subject,
                       const char *text, const char *html, char *err, size_t err_len);

#endif
