/*
 * INFO: the server's state as "field:value" lines in "# Section" groups,
 * with Redis's field names (clients and tests parse them). Sections: server,
 * clients, memory, persistence, stats, replication, cpu, keyspace (the
 * default set), and commandstats and runner (asked for by name, or with
 * "all" or "everything"; runner: the engine's cycles and the runner's own
 * counters, from hooks.cycles and hooks.info_runner, and absent without
 * them). Several names may be given (INFO cpu keyspace); each section
 * comes once, in its usual place, whatever the order asked. The CPU
 * section needs the runner's cpu_usec hook and is empty without it.
 */
#include <user/srv/kvd/engine.h>

/* Is section asked for by any of the names (lower-cased)? */
static bool want(int nasked, char (*asked)[32], const char *section, bool in_default)
{
	for (int i = 0; i < nasked; i++) {
		if (!strcmp(asked[i], "all") || !strcmp(asked[i], "everything"))
			return true;
		if (!strcmp(asked[i], "default") ? in_default : !strcmp(asked[i], section))
			return true;
	}
	return false;
}

void info_generate(struct kvd *kv, struct buf *b, int nsections, const struct arg *sections)
{
	char asked[8][32]; /* names past the eighth are ignored: there are fewer sections */
	int nasked = 0;
	for (int i = 0; i < nsections && nasked < 8; i++) {
		size_t n = strlcpy(asked[nasked], sections[i].p, sizeof(asked[0]));
		for (size_t j = 0; j < n && j < sizeof(asked[0]); j++)
			asked[nasked][j] = (char)tolower(asked[nasked][j]);
		nasked++;
	}
	if (nasked == 0)
		strlcpy(asked[nasked++], "default", sizeof(asked[0]));
#define want(section, in_default) want(nasked, asked, section, in_default)
	uint64_t up = (kv->now_ms - kv->start_ms) / 1000;
	bool first = true;
#define SECTION(name)                               \
	do {                                        \
		if (!first)                         \
			buf_put(kv, b, "\r\n", 2);  \
		first = false;                      \
		buf_printf(kv, b, "# %s\r\n", name); \
	} while (0)

	if (want("server", true)) {
		SECTION("Server");
		buf_printf(kv, b,
			   "redis_version:7.0.15\r\nkvd_version:0.1\r\nredis_mode:standalone\r\n"
			   "os:Exo\r\narch_bits:64\r\nmultiplexing_api:hooks\r\nprocess_id:1\r\n"
			   "run_id:%016llx%016llx%08x\r\ntcp_port:0\r\nuptime_in_seconds:%llu\r\n"
			   "uptime_in_days:%llu\r\nhz:%d\r\nconfigured_hz:%d\r\nlru_clock:%u\r\n"
			   "executable:kvd\r\nconfig_file:\r\n",
			   (unsigned long long)kv->sip_k0, (unsigned long long)kv->sip_k1,
			   (unsigned)(kv->sip_k0 >> 7), (unsigned long long)up,
			   (unsigned long long)(up / 86400), kv->cfg.hz, kv->cfg.hz,
			   kv_lru_clock(kv));
	}
	if (want("clients", true)) {
		SECTION("Clients");
		unsigned long pubsub = 0, watching = 0;
		for (struct kvd_client *c = kv->clients; c; c = c->next) {
			pubsub += client_subscriptions(c) > 0;
			watching += c->watching.used > 0;
		}
		buf_printf(
			kv, b,
			"connected_clients:%lu\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
			"blocked_clients:%lu\r\ntracking_clients:0\r\nclients_in_timeout_table:%lu\r\n"
			"pubsub_clients:%lu\r\nwatching_clients:%lu\r\n",
			kv->nclients, kv->cfg.maxclients, kv->nblocked, kv->nblocked, pubsub,
			watching);
	}
	if (want("memory", true)) {
		SECTION("Memory");
		buf_printf(
			kv, b,
			"used_memory:%zu\r\nused_memory_human:%zuK\r\nused_memory_peak:%zu\r\n"
			"maxmemory:%lld\r\nmaxmemory_policy:%s\r\nmem_fragmentation_ratio:1.00\r\n"
			"mem_allocator:hooks\r\n",
			kv->used, kv->used / 1024, kv->peak, kv->cfg.maxmemory,
			(const char *[]){ "noeviction", "allkeys-lru", "volatile-lru",
					  "allkeys-random", "volatile-random", "volatile-ttl",
					  "allkeys-lfu",
					  "volatile-lfu" }[kv->cfg.maxmemory_policy]);
	}
	if (want("persistence", true)) {
		SECTION("Persistence");
		buf_printf(
			kv, b,
			"loading:%d\r\nasync_loading:0\r\nrdb_changes_since_last_save:%lld\r\n"
			"rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\n"
			"rdb_last_bgsave_status:ok\r\naof_enabled:%d\r\naof_rewrite_in_progress:0\r\n"
			"aof_rewrite_scheduled:0\r\naof_last_bgrewrite_status:ok\r\n"
			"aof_rewrites:%lld\r\naof_last_write_status:%s\r\n"
			"aof_current_size:%lld\r\naof_base_size:%lld\r\naof_buffer_length:%zu\r\n",
			kv->loading, kv->dirty, kv->last_save, kv->aof_on, kv->aof_rewrites,
			kv->aof_last_write_status == 0 ? "ok" : "err", kv->aof_size,
			kv->aof_base_size, kv->aof_buf.len);
	}
	if (want("stats", true)) {
		SECTION("Stats");
		buf_printf(kv, b,
			   "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
			   "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%llu\r\n"
			   "total_net_output_bytes:%llu\r\nrejected_connections:0\r\n"
			   "expired_keys:%llu\r\nexpired_stale_perc:0.00\r\nevicted_keys:%llu\r\n"
			   "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\npubsub_channels:%llu\r\n"
			   "pubsub_patterns:%lu\r\ntotal_error_replies:%llu\r\n",
			   kv->stat_conns, kv->stat_cmds, kv->stat_net_in, kv->stat_net_out,
			   kv->stat_expired, kv->stat_evicted, kv->stat_hits, kv->stat_misses,
			   (unsigned long long)kv->pubsub_channels.used, kv->npatterns,
			   kv->stat_rejected);
	}
	if (want("replication", true)) {
		SECTION("Replication");
		buf_printf(kv, b, "role:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n");
	}
	if (want("cpu", true)) {
		SECTION("CPU");
		if (kv->h.cpu_usec) {
			uint64_t user, sys;
			kv->h.cpu_usec(kv->h.ctx, &user, &sys);
			buf_printf(kv, b,
				   "used_cpu_sys:%llu.%06llu\r\nused_cpu_user:%llu.%06llu\r\n"
				   "used_cpu_sys_children:0.000000\r\n"
				   "used_cpu_user_children:0.000000\r\n",
				   (unsigned long long)(sys / 1000000),
				   (unsigned long long)(sys % 1000000),
				   (unsigned long long)(user / 1000000),
				   (unsigned long long)(user % 1000000));
		}
	}
	if (want("commandstats", false)) {
		SECTION("Commandstats");
		struct dict_iter it;
		dict_iter_start(&it, &kv->commands);
		for (struct dent *e; (e = dict_iter_next(&it));) {
			struct cmd *cmd = e->v.p;
			if (cmd->calls)
				buf_printf(kv, b,
					   "cmdstat_%s:calls=%llu,usec=0,usec_per_call=0.00,"
					   "rejected_calls=0,failed_calls=0\r\n",
					   cmd->name, cmd->calls);
		}
		dict_iter_end(&it);
	}
	if (want("runner", false) && (kv->h.cycles || kv->h.info_runner)) {
		SECTION("Runner");
		if (kv->h.cycles)
			buf_printf(kv, b,
				   "engine_commands:%llu\r\nengine_cycles_feed:%llu\r\n"
				   "engine_cycles_command:%llu\r\nengine_cycles_reply:%llu\r\n",
				   kv->stat_cmds, kv->cyc_feed, kv->cyc_cmd, kv->cyc_reply);
		if (kv->h.info_runner) {
			char out[2048];
			size_t n = kv->h.info_runner(kv->h.ctx, out, sizeof(out));
			buf_put(kv, b, out, n < sizeof(out) ? n : sizeof(out));
		}
	}
	if (want("keyspace", true)) {
		SECTION("Keyspace");
		for (int i = 0; i < KVD_DBS; i++) {
			struct db *db = &kv->dbs[i];
			if (db->keys.used)
				buf_printf(kv, b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", i,
					   (unsigned long long)db->keys.used,
					   (unsigned long long)db->expires.used);
		}
	}
#undef SECTION
#undef want
}
