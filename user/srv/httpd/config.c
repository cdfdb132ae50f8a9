/*
 * httpd's flags: the settings of struct http_config from a command line,
 * shared by the Exo program (main.c) and the host harness (tools/httpd-host)
 * so both take the same flags. Each flag is "--name value" or "--name=value";
 * the common ones have a one-letter form ("-p 8080"). Numbers are checked
 * against their range and a bad flag is reported by name, never ignored.
 */
#include <user/srv/httpd/core.h>
#include <common/fmt.h>
#include <common/string.h>

const char http_usage[] =
	"usage: httpd [flags]\n"
	"  -p, --port N          TCP port to listen on (80; 0: any free one)\n"
	"  -r, --root DIR        document root (/www)\n"
	"  -c, --max-conns N     connections at once (1024)\n"
	"  --log FILE            access log (none)\n"
	"  --cache on|off        merged file cache and retransmission pool (on)\n"
	"  --csum on|off         checksums precomputed at cache fill (on)\n"
	"  --merge on|off        head, body and FIN in one send (on)\n"
	"  --offload on|off      the NIC's segmentation and checksum offload, if it has them (on)\n"
	"  --group on|off        read a page's embedded objects from the disk with it (on)\n"
	"  --cache-mb N          cache capacity in MiB (64)\n"
	"  --cache-file-mb N     larger files bypass the cache (16)\n"
	"  --chunk N             bytes per precomputed checksum, the MSS (1460)\n"
	"  --request-ms N        a request's head must arrive within N ms (10000)\n"
	"  --idle-ms N           keep-alive connections idle at most N ms (15000)\n"
	"  --send-ms N           a client reading nothing for N ms is dropped (30000)\n";

void http_config_default(struct http_config *cfg)
{
	*cfg = (struct http_config){
		.port = 80,
		.root = "/www",
		.log_path = NULL,
		.max_conns = 1024,
		.cache = true,
		.csum = true,
		.merge = true,
		.offload = true,
		.group = true,
		.cache_bytes = 64ul << 20,
		.cache_file_max = 16ul << 20,
		.csum_chunk = 1460,
		.request_ms = 10000,
		.idle_ms = 15000,
		.send_ms = 30000,
	};
}

static bool number(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return false;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && *v >= lo && *v <= hi;
}

static bool on_off(const char *s, bool *v)
{
	if (s && strcmp(s, "on") == 0)
		*v = true;
	else if (s && strcmp(s, "off") == 0)
		*v = false;
	else
		return false;
	return true;
}

int http_config_parse(struct http_config *cfg, int argc, char **argv, char *err, size_t errsize)
{
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i], *val = NULL;
		char flag[32];
		const char *eq = strchr(name, '=');
		if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
			snprintf(err, errsize, "%s", http_usage);
			return -1;
		}
		if (name[0] == '-' && name[1] == '-' && eq) {
			size_t n = MIN((size_t)(eq - name), sizeof(flag) - 1);
			memcpy(flag, name, n);
			flag[n] = '\0';
			name = flag;
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		}
		unsigned long v = 0;
		bool ok;
		if (!strcmp(name, "-p") || !strcmp(name, "--port"))
			ok = number(val, 0, 65535, &v) && (cfg->port = (uint16_t)v, true);
		else if (!strcmp(name, "-r") || !strcmp(name, "--root"))
			ok = val && *val && (cfg->root = val, true);
		else if (!strcmp(name, "-c") || !strcmp(name, "--max-conns"))
			ok = number(val, 1, 1000000, &v) && (cfg->max_conns = (unsigned)v, true);
		else if (!strcmp(name, "--log"))
			ok = val && *val && (cfg->log_path = val, true);
		else if (!strcmp(name, "--cache"))
			ok = on_off(val, &cfg->cache);
		else if (!strcmp(name, "--csum"))
			ok = on_off(val, &cfg->csum);
		else if (!strcmp(name, "--merge"))
			ok = on_off(val, &cfg->merge);
		else if (!strcmp(name, "--offload"))
			ok = on_off(val, &cfg->offload);
		else if (!strcmp(name, "--group"))
			ok = on_off(val, &cfg->group);
		else if (!strcmp(name, "--cache-mb"))
			ok = number(val, 1, 1 << 20, &v) && (cfg->cache_bytes = v << 20, true);
		else if (!strcmp(name, "--cache-file-mb"))
			ok = number(val, 1, 1 << 20, &v) && (cfg->cache_file_max = v << 20, true);
		else if (!strcmp(name, "--chunk"))
			ok = number(val, 64, 65534, &v) && v % 2 == 0 &&
			     (cfg->csum_chunk = (unsigned)v, true);
		else if (!strcmp(name, "--request-ms"))
			ok = number(val, 1, 3600000, &v) && (cfg->request_ms = (unsigned)v, true);
		else if (!strcmp(name, "--idle-ms"))
			ok = number(val, 1, 3600000, &v) && (cfg->idle_ms = (unsigned)v, true);
		else if (!strcmp(name, "--send-ms"))
			ok = number(val, 1, 3600000, &v) && (cfg->send_ms = (unsigned)v, true);
		else {
			snprintf(err, errsize, "unknown flag '%s'\n%s", name, http_usage);
			return -1;
		}
		if (!ok) {
			snprintf(err, errsize, "bad value for %s: '%s'", name,
				 val ? val : "(none)");
			return -1;
		}
	}
	return 0;
}
