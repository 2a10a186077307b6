/*
 * err.c: names and descriptions for weft_err, and the diagnostic helper.
 */
#include "util/weft.h"

#include <stdio.h>

static const struct {
    const char *name;
    const char *text;
} errs[] = {
    [WEFT_OK] = { "OK", "success" },
    [WEFT_ENOMEM] = { "ENOMEM", "out of memory" },
    [WEFT_EINVAL] = { "EINVAL", "invalid argument" },
    [WEFT_ETOOBIG] = { "ETOOBIG", "over a size limit" },
    [WEFT_ETRUNC] = { "ETRUNC", "truncated input" },
    [WEFT_ENONCANON] = { "ENONCANON", "non-canonical encoding" },
    [WEFT_ESYNTAX] = { "ESYNTAX", "malformed input" },
    [WEFT_ESCHEMA] = { "ESCHEMA", "missing or invalid field" },
    [WEFT_EBADSIG] = { "EBADSIG", "bad signature" },
    [WEFT_ENOTFOUND] = { "ENOTFOUND", "not found" },
    [WEFT_EEXIST] = { "EEXIST", "already exists" },
    [WEFT_EDOMAIN] = { "EDOMAIN", "wrong domain" },
    [WEFT_EVERSION] = { "EVERSION", "version lower than the current one" },
    [WEFT_EIO] = { "EIO", "I/O error" },
    [WEFT_ESTORE] = { "ESTORE", "store error" },
    [WEFT_EPERM] = { "EPERM", "unsafe file permissions" },
    [WEFT_ELOCKED] = { "ELOCKED", "data directory in use" },
    [WEFT_ETRAIL] = { "ETRAIL", "trailing bytes" },
    [WEFT_EKEY] = { "EKEY", "malformed key" },
    [WEFT_ESTATE] = { "ESTATE", "not allowed in the current state" },
    [WEFT_EHASH] = { "EHASH", "content does not match its hash" },
    [WEFT_EFULL] = { "EFULL", "store is full" },
    [WEFT_EPOLICY] = { "EPOLICY", "rejected by the governance policy" },
    [WEFT_ELIMIT] = { "ELIMIT",
        "the domain has signed all the summaries a node keeps of one "
        "domain (--domain-max)" },
};

const char *
weft_strerror(weft_err err)
{
    if ((unsigned) err >= sizeof(errs) / sizeof(errs[0]) || !errs[err].text)
        return "unknown error";
    return errs[err].text;
}

const char *
weft_errname(weft_err err)
{
    if ((unsigned) err >= sizeof(errs) / sizeof(errs[0]) || !errs[err].name)
        return "EUNKNOWN";
    return errs[err].name;
}

weft_err
weft_diagf(weft_diag *d, weft_err err, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return err;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    return err;
}
