/*
 * prep.h: work on a list of items ahead of the loop thread. Helper
 * threads run a function over items 0..n-1 in order, each into its own
 * slot of a ring, while the caller takes the results in the same order
 * (publishing parses, normalizes and hashes documents on the helpers
 * while the loop thread stores the ones before). The ring bounds how many
 * items the helpers run ahead, and a budget how much they weigh (the
 * caller says what each item costs: publishing, its bytes), so memory
 * stays that of a ring of small items or of the budget's worth of large
 * ones.
 */
#ifndef WEFT_PREP_H
#define WEFT_PREP_H

#include <stdbool.h>
#include <stddef.h>

#define PREP_RING      64 /* a ring's size for most callers */
#define PREP_HELPERS   2  /* helper threads, at most */
#define PREP_MIN_ITEMS 16 /* shorter lists run on the caller alone */

typedef struct prep prep;

/* prep_fn makes item i into slot; it runs on a helper or the caller,
 * never on two threads for one slot at a time. */
typedef void (*prep_fn)(void *ctx, size_t i, void *slot);

/*
 * prep_start makes a ring of `ring` slots (slots[k] for k < ring, owned
 * by the caller and kept as they are between items) and starts
 * up to `helpers` threads on n items. Items made but not yet released
 * weigh at most budget (cost[i] each; cost may be NULL: no budget)
 * unless one alone weighs more: the next item the caller needs is always
 * made. With no helpers, or too few
 * items, every item is made by the caller in prep_get. NULL when out of
 * memory.
 */
prep *prep_start(size_t n, const size_t *cost, size_t budget, int helpers,
    prep_fn fn, void *ctx, void **slots, size_t ring);

/* prep_get waits for item i (the next after the last one released) and
 * returns its slot; the caller makes it itself if no helper has taken it. */
void *prep_get(prep *p, size_t i);

/* prep_release gives item i's slot back for item i + ring. */
void prep_release(prep *p, size_t i);

/* prep_stop stops the helpers (after the items they are making) and frees
 * p; the caller may stop before the last item. */
void prep_stop(prep *p);

/* prep_helpers is how many helpers suit this machine (0 on one core). */
int prep_helpers(void);

#endif
