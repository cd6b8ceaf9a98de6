// SPDX-License-Identifier: GPL-2.0-only
/* Keeping an FTP control connection alive while its data connections live.
 *
 * The data connection is found again by its tuple at each check rather than
 * through a reference, so nothing pins conntracks and nothing needs a
 * per-packet callback: the check works the same when the data connection
 * is offloaded to a flowtable and no hook sees its packets.
 *
 * Data connections are tracked when their expectation is used (expectfn).
 * Those that ctnetlink creates with a master (conntrackd, after a
 * failover) never meet an expectation: once ctnetlink has given us a
 * master, the worker looks for such children in the table for a while.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_zones.h>

#include "nf_ftp_sym_priv.h"

/* Entries checked between two chances for the scheduler to run others. */
#define FTP_SYM_KA_BATCH	64
/* How long after ctnetlink gave us a master its children are looked for:
 * conntrackd commits its cache in one go, masters and children in any
 * order.
 */
#define FTP_SYM_KA_SCAN_WINDOW	(30 * HZ)

struct ftp_sym_ka_entry {
	struct list_head node;
	struct hlist_node hnode;	/* on ka->hash, by tuple */
	struct nf_conntrack_tuple tuple;
	struct nf_conntrack_zone zone;
	bool missed;		/* not found once already */
};

static u32 ftp_sym_ka_hash(const struct nf_conntrack_tuple *t)
{
	return jhash(t, sizeof(*t), 0);
}

/* Under ka->lock: is this data connection tracked already? */
static bool ftp_sym_ka_known(struct ftp_sym_ka_net *ka,
			     const struct nf_conntrack_tuple *t,
			     const struct nf_conntrack_zone *zone)
{
	struct ftp_sym_ka_entry *e;

	hash_for_each_possible(ka->hash, e, hnode, ftp_sym_ka_hash(t))
		if (nf_ct_tuple_equal(&e->tuple, t) &&
		    e->zone.id == zone->id && e->zone.dir == zone->dir)
			return true;
	return false;
}

static unsigned int ftp_sym_ka_interval(const struct ftp_sym_net *fsn)
{
	return nf_ftp_sym_knob(fsn, FTP_SYM_KNOB_KEEPALIVE_INTERVAL);
}

static unsigned long ftp_sym_ka_grace(const struct ftp_sym_net *fsn)
{
	return (2UL * ftp_sym_ka_interval(fsn) + 2) * HZ;
}

/* Make @master live at least @grace more jiffies.  Never shortens: a
 * concurrent refresh from a control packet may win the race, and must.
 */
static bool ftp_sym_extend(struct nf_conn *master, unsigned long grace)
{
	u32 old, want;

	if (!nf_ct_is_confirmed(master) || nf_ct_is_dying(master) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &master->status))
		return false;

	want = nfct_time_stamp + grace;
	old = READ_ONCE(master->timeout);
	while ((s32)(old - want) < 0) {
		u32 seen = cmpxchg(&master->timeout, old, want);

		if (seen == old)
			return true;
		old = seen;
	}
	return false;
}

static bool ftp_sym_data_alive(const struct nf_conn *child)
{
	u8 state = READ_ONCE(child->proto.tcp.state);

	if (nf_ct_is_dying(child))
		return false;
	return state == TCP_CONNTRACK_SYN_SENT ||
	       state == TCP_CONNTRACK_SYN_RECV ||
	       state == TCP_CONNTRACK_SYN_SENT2 ||
	       state == TCP_CONNTRACK_ESTABLISHED;
}

/* Check one entry; false: forget it. */
static bool ftp_sym_ka_check(struct ftp_sym_net *fsn,
			     struct ftp_sym_ka_entry *e,
			     unsigned int interval, unsigned long grace)
{
	struct nf_conntrack_tuple_hash *h;
	struct nf_conn *child;
	bool keep = false;

	h = nf_conntrack_find_get(fsn->net, &e->zone, &e->tuple);
	if (!h) {
		/* Not confirmed yet, or gone: give it one round. */
		keep = !e->missed && interval;
		e->missed = true;
		return keep;
	}
	child = nf_ct_tuplehash_to_ctrack(h);
	if (interval && child->master && ftp_sym_data_alive(child)) {
		keep = true;
		e->missed = false;
		if (ftp_sym_extend(child->master, grace))
			ftp_sym_stat(fsn, FTP_SYM_STAT_KA_REFRESH);
	}
	nf_ct_put(child);
	return keep;
}

/* Under ka->lock: have the worker run within @delay.  Only ever earlier:
 * an entry added after keepalive_interval was lowered was extended by the
 * new, shorter grace and must be checked within the new interval, not at
 * the end of the period the worker chose under the old one.
 */
static void ftp_sym_ka_due(struct ftp_sym_ka_net *ka, unsigned long delay)
{
	unsigned long when = jiffies + delay;

	if (delayed_work_pending(&ka->work) && !time_after(ka->due, when))
		return;
	ka->due = when;
	mod_delayed_work(system_wq, &ka->work, delay);
}

/* Track @ct, a data connection of one of our masters, unless it is
 * already; @delay: when the worker should look first.  Any context.
 */
static void ftp_sym_ka_add(struct ftp_sym_net *fsn, struct nf_conn *ct,
			   unsigned long delay)
{
	struct ftp_sym_ka_net *ka = &fsn->ka;
	struct ftp_sym_ka_entry *e;

	e = kzalloc(sizeof(*e), GFP_ATOMIC);
	if (!e) {
		ftp_sym_stat(fsn, FTP_SYM_STAT_KA_UNTRACKED);
		return;
	}
	e->tuple = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	e->zone = *nf_ct_zone(ct);

	spin_lock_bh(&ka->lock);
	if (ftp_sym_ka_known(ka, &e->tuple, &e->zone)) {
		spin_unlock_bh(&ka->lock);
		kfree(e);
		return;
	}
	if (ka->dead || ka->count >= READ_ONCE(nf_ftp_sym_max_keepalive)) {
		spin_unlock_bh(&ka->lock);
		kfree(e);
		ftp_sym_stat(fsn, FTP_SYM_STAT_KA_UNTRACKED);
		return;
	}
	list_add_tail(&e->node, &ka->list);
	hash_add(ka->hash, &e->hnode, ftp_sym_ka_hash(&e->tuple));
	ka->count++;
	ftp_sym_ka_due(ka, delay);
	spin_unlock_bh(&ka->lock);
	ftp_sym_stat(fsn, FTP_SYM_STAT_KA_TRACKED);
}

struct ftp_sym_ka_scan {
	struct ftp_sym_net *fsn;
	unsigned long grace;
	unsigned long delay;	/* the next check: within the interval */
};

/* nf_ct_iterate_cleanup_net() callback, under a bucket lock: never kills. */
static int ftp_sym_ka_scan_one(struct nf_conn *ct, void *data)
{
	struct ftp_sym_ka_scan *s = data;

	if (ct->master && nf_ftp_sym_helper_is_ours(ct->master) &&
	    ftp_sym_data_alive(ct)) {
		ftp_sym_extend(ct->master, s->grace);
		ftp_sym_ka_add(s->fsn, ct, s->delay);
	}
	return 0;
}

static void ftp_sym_ka_scan(struct ftp_sym_net *fsn)
{
	struct ftp_sym_ka_scan s = {
		.fsn	= fsn,
		.grace	= ftp_sym_ka_grace(fsn),
		.delay	= max_t(unsigned long, ftp_sym_ka_interval(fsn), 1) * HZ,
	};
	struct nf_ct_iter_data iter = {
		.net	= fsn->net,
		.data	= &s,
	};

	nf_ct_iterate_cleanup_net(ftp_sym_ka_scan_one, &iter);
}

static void ftp_sym_ka_work(struct work_struct *work)
{
	struct ftp_sym_ka_net *ka = container_of(to_delayed_work(work),
						 struct ftp_sym_ka_net, work);
	struct ftp_sym_net *fsn = container_of(ka, struct ftp_sym_net, ka);
	unsigned int interval = ftp_sym_ka_interval(fsn);
	unsigned long grace = ftp_sym_ka_grace(fsn);
	struct ftp_sym_ka_entry *e, *tmp;
	unsigned int dropped = 0, n = 0;
	LIST_HEAD(batch);
	LIST_HEAD(gone);
	bool scan;

	spin_lock_bh(&ka->lock);
	scan = ka->scan_until && time_before(jiffies, ka->scan_until);
	if (!scan)
		ka->scan_until = 0;
	spin_unlock_bh(&ka->lock);
	if (scan && interval)
		ftp_sym_ka_scan(fsn);

	spin_lock_bh(&ka->lock);
	list_splice_init(&ka->list, &batch);
	spin_unlock_bh(&ka->lock);

	/* Up to max_keepalive entries: let others run now and then. */
	list_for_each_entry_safe(e, tmp, &batch, node) {
		if (!ftp_sym_ka_check(fsn, e, interval, grace)) {
			list_move(&e->node, &gone);
			dropped++;
		}
		if (++n % FTP_SYM_KA_BATCH == 0)
			cond_resched();
	}

	spin_lock_bh(&ka->lock);
	list_splice(&batch, &ka->list);
	list_for_each_entry(e, &gone, node)
		hash_del(&e->hnode);
	ka->count -= dropped;
	if ((!list_empty(&ka->list) || ka->scan_until) && !ka->dead)
		ftp_sym_ka_due(ka, max_t(unsigned long, interval, 1) * HZ);
	spin_unlock_bh(&ka->lock);

	list_for_each_entry_safe(e, tmp, &gone, node)
		kfree(e);
}

/* expectfn context: softirq, under rcu_read_lock, @ct not yet confirmed;
 * also ctnetlink's from_nlattr() for a child that carries our helper.
 */
void nf_ftp_sym_keepalive_track(struct nf_conn *ct,
				struct nf_conntrack_expect *exp)
{
	struct ftp_sym_net *fsn = nf_ftp_sym_pernet(nf_ct_net(ct));
	unsigned int interval = ftp_sym_ka_interval(fsn);

	if (!interval || !ct->master)
		return;

	/* Cover the time until the first check. */
	ftp_sym_extend(ct->master, ftp_sym_ka_grace(fsn));
	ftp_sym_ka_add(fsn, ct, (unsigned long)interval * HZ);
}
EXPORT_SYMBOL_GPL(nf_ftp_sym_keepalive_track);

/* ctnetlink gave us a master: its children may come the same way. */
void nf_ftp_sym_ka_rescan(struct ftp_sym_net *fsn)
{
	struct ftp_sym_ka_net *ka = &fsn->ka;

	if (!ftp_sym_ka_interval(fsn))
		return;
	spin_lock_bh(&ka->lock);
	if (!ka->dead) {
		ka->scan_until = jiffies + FTP_SYM_KA_SCAN_WINDOW;
		ftp_sym_ka_due(ka, HZ);
	}
	spin_unlock_bh(&ka->lock);
}

void nf_ftp_sym_ka_net_init(struct ftp_sym_net *fsn)
{
	spin_lock_init(&fsn->ka.lock);
	INIT_LIST_HEAD(&fsn->ka.list);
	hash_init(fsn->ka.hash);
	INIT_DELAYED_WORK(&fsn->ka.work, ftp_sym_ka_work);
}

void nf_ftp_sym_ka_net_exit(struct ftp_sym_net *fsn)
{
	struct ftp_sym_ka_net *ka = &fsn->ka;
	struct ftp_sym_ka_entry *e, *tmp;

	spin_lock_bh(&ka->lock);
	ka->dead = true;
	spin_unlock_bh(&ka->lock);
	cancel_delayed_work_sync(&ka->work);
	list_for_each_entry_safe(e, tmp, &ka->list, node) {
		hash_del(&e->hnode);
		list_del(&e->node);
		kfree(e);
	}
	ka->count = 0;
}
