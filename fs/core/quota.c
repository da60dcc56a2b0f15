/* quota: the account's quota for statfs, asked for only when needed (see quota.h). */
#include "quota.h"
#include "seaf_clock.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "seahub_api.h"

/* Asks Seahub, unless another thread is asking already; the figures stay when it fails. */
static void refresh(struct seafs *fs, int64_t now)
{
    if (atomic_exchange(&fs->quota_asking, true))
        return;
    struct seahub_account account;
    memset(&account, 0, sizeof(account));
    bool ok = seahub_account_info(fs->client, &account) == SEAF_OK;
    pthread_rwlock_wrlock(&fs->libs_lock);
    if (ok) {
        fs->quota_total = account.total;
        fs->quota_used = account.usage;
    }
    fs->quota_checked_at = now; /* a failure too: not asked again before the TTL */
    pthread_rwlock_unlock(&fs->libs_lock);
    if (ok)
        seahub_account_release(&account);
    pthread_mutex_lock(&fs->quota_lock);
    atomic_store(&fs->quota_asking, false);
    pthread_cond_broadcast(&fs->quota_answered);
    pthread_mutex_unlock(&fs->quota_lock);
}

/* A statfs finding no figures yet while another one asks waits for that answer (the mount's
 * first statfs, often from fusermount3 or a desktop, must not make the next one say
 * "unlimited"). */
static void wait_first_answer(struct seafs *fs)
{
    pthread_mutex_lock(&fs->quota_lock);
    while (atomic_load(&fs->quota_asking))
        pthread_cond_wait(&fs->quota_answered, &fs->quota_lock);
    pthread_mutex_unlock(&fs->quota_lock);
}

void quota_get(struct seafs *fs, bool may_ask, int64_t *total, int64_t *used)
{
    int64_t now = seaf_monotonic_s();
    pthread_rwlock_rdlock(&fs->libs_lock);
    bool stale = fs->quota_checked_at == 0 || now - fs->quota_checked_at >= QUOTA_TTL_S;
    bool never = fs->quota_checked_at == 0;
    pthread_rwlock_unlock(&fs->libs_lock);
    if (stale && may_ask && atomic_load(&fs->online)) {
        refresh(fs, now);
        if (never)
            wait_first_answer(fs);
    }
    pthread_rwlock_rdlock(&fs->libs_lock);
    *total = fs->quota_total;
    *used = fs->quota_used;
    pthread_rwlock_unlock(&fs->libs_lock);
}
