/*
 * version.h — the one version string of every shiftkey program (shiftkeyd,
 * shiftkey, the connectors), printed by --version and in start-up logs.
 */
#ifndef SK_VERSION_H
#define SK_VERSION_H

#define SK_VERSION "0.1.0"

#endif
