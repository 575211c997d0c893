/* Private to hooks/: the table of sinks (sinks.c) the engine picks from. */
#ifndef SEKISHO_HOOKS_SINKS_INT_H
#define SEKISHO_HOOKS_SINKS_INT_H

#include "sink_int.h"

extern const struct sk_sink *const sk_sinks[];

#endif
