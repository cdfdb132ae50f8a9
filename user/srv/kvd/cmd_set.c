#include <user/srv/kvd/engine.h>
struct cmd cmds_set[] = {
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
