/* Private to tools/: the commands of sekishoctl kept in their own files. */
#ifndef SEKISHO_SEKISHOCTL_INT_H
#define SEKISHO_SEKISHOCTL_INT_H

#define SK_CTL_DEFAULT_CONFIG "/etc/sekisho/sekisho.yaml"

/* sekishoctl policy get|set|patch (sekishoctl_policy.c): argv[0] is
 * "policy". Returns the exit status: 0, 1 failed, 2 usage. */
int sk_ctl_policy(int argc, char **argv);

#endif
