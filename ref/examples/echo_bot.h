/* echo_bot.h - the example bot's behaviour, apart from its main() so that a test can run it
 * inside the harness. */
#ifndef ECHO_BOT_H
#define ECHO_BOT_H

#include "interbot.h"

/* Makes n an echo bot:
 *   - the command `echo.say ARG...` answers its arguments joined by spaces (add "echo.say"
 *     to the node's `commands` for others to use it);
 *   - when any bot publishes the key "echo/request", it publishes "echo/reply" with the same
 *     value (once per new request version);
 *   - it logs every link that comes or goes. */
int echo_bot_attach(struct ib_node *n);

#endif
