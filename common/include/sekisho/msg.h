/*
 * Marks a literal as a message of the pages' catalogues (po/ja.po,
 * po/en.po; docs/pages.md): text a person reads, translated where a page
 * is rendered. The catalogue check (tools/po_check.mjs) collects every
 * N_("...") of broker/, web/ and providers/. Here, in the lowest layer,
 * so that any layer may hand such text upwards.
 */
#ifndef SEKISHO_MSG_H
#define SEKISHO_MSG_H

#define N_(s) s

#endif
