#include <user/srv/kvd/engine.h>
struct cmd cmds_list[] = {
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
