/*
 * cli_campaign.h — `shiftkey campaign` (cli_campaign.c): access review
 * campaigns' list, show, start, close and report.
 */
#ifndef SK_CLI_CAMPAIGN_H
#define SK_CLI_CAMPAIGN_H

/* argv[0] is "campaign". Exit codes: 0, 1 (failed: rules refused, broker or
 * Redis unreachable, nothing to report), 2 usage. */
int sk_cli_campaign(int argc, char **argv);

#endif
