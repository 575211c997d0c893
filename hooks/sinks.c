/* The sinks the engine knows (sink_int.h), NULL-terminated. A hook whose
 * type has none here is reported at start and not delivered. */
#include "sinks_int.h"

const struct sk_sink *const sk_sinks[] = {
    &sk_sink_webhook, &sk_sink_slack, &sk_sink_teams,
    &sk_sink_email,   &sk_sink_line,  NULL,
};
