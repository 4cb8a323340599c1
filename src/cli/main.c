/* SPDX-License-Identifier: MIT */
/*
 * The p2pclock command: global options and the table of subcommands. Only
 * this directory decides exit codes (docs/DESIGN.md, house style): 0 ok, 1
 * runtime failure, 2 usage or config error, always with one line on stderr
 * saying what and where.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "client.h"
#include "config.h"
#include "daemon.h"
#include "demo.h"
#include "keygen.h"
#include "options.h"
#include "sim_cmd.h"

#define EXIT_USAGE 2

typedef struct command {
  const char *name;
  const char *summary;
  /* Runs the command with its own arguments argv[0..argc) (the words after
   * the command name) and returns the exit status. */
  int (*run)(const struct command *cmd, int argc, char **argv);
} command;

static int cmd_node(const command *cmd, int argc, char **argv);
static int cmd_client(const command *cmd, int argc, char **argv);
static int cmd_demo(const command *cmd, int argc, char **argv);
static int cmd_check(const command *cmd, int argc, char **argv);
static int cmd_sim(const command *cmd, int argc, char **argv);
static int cmd_keygen(const command *cmd, int argc, char **argv);
static int cmd_help(const command *cmd, int argc, char **argv);

/* To add a command, add a line here; --help lists them from this table.
 * The row without a name stands for the client commands, one a request
 * of the control protocol's table (client.h), listed from it. */
static const command commands[] = {
    {"node", "run a node", cmd_node},
    {"demo", "run a small network of nodes on this machine", cmd_demo},
    {"", NULL, cmd_client},
    {"check", "verify the event logs of a run", cmd_check},
    {"sim", "run a scenario in the deterministic simulator", cmd_sim},
    {"keygen", "create a node's identity key, or a cluster key", cmd_keygen},
    {"help", "show this help, or a command's (help COMMAND); help --keys",
     cmd_help},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char usage_head[] = "usage: p2pclock <command> [options]\n"
                                 "       p2pclock help [COMMAND]\n"
                                 "       p2pclock help --keys | --man\n"
                                 "       p2pclock --help | --version\n"
                                 "\n"
                                 "commands:\n";

static const char usage_tail[] =
    "p2pclock demo [--nodes N] [--duration S] [--rate R] [--clock-mode M]\n"
    "[--keep-logs DIR] [--no-kill] [--json]: see p2pclock demo --help.\n"
    "p2pclock check [--json] [--expiry-tolerance S] FILE...: see\n"
    "p2pclock check --help.\n"
    "p2pclock sim [--scenario FILE] [flags]: see p2pclock sim --help.\n"
    "p2pclock keygen [--key FILE | --id ID] [--force] | --cluster\n"
    "[--out FILE] | --show FILE: see p2pclock keygen --help.\n"
    "\n"
    "p2pclock node [--config FILE] [flags]: each flag overrides the config\n"
    "key in parentheses; defaults in brackets.\n";

static const char usage_exit[] =
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage or config error.\n";

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "p2pclock: %s \"%s\" (try p2pclock --help)\n", what, arg);
  return EXIT_USAGE;
}

static bool is_help(const char *a) {
  return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int print_usage(void) {
  fputs(usage_head, stdout);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    const char *name;
    if (commands[i].summary)
      printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    else
      for (size_t k = 0; (name = p2pc_cli_client_name(k)); k++)
        printf("  %-10s %s\n", name, p2pc_cli_client_summary(name));
  }
  fputs("\n", stdout);
  p2pc_cli_client_usage(stdout);
  fputs(usage_tail, stdout);
  p2pc_cli_options_help(stdout);
  fputs(usage_exit, stdout);
  return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The core reads a threshold of 0 as "unset" (its 1 ms default), so
 * anything below 1 ns is asked for as 1 ns, which steps alike. */
static int64_t step_threshold_ns(double s) {
  long long ns = llround(s * 1e9);
  return ns < 1 ? 1 : ns;
}

/* Hands the resolved config to the node daemon. */
static int run_node(const p2pc_cli_config *cfg) {
  p2pc_uv_peer *peers = calloc(cfg->npeers + 1, sizeof *peers);
  char *json = p2pc_cli_config_json(cfg);
  if (!peers || !json) {
    free(peers);
    free(json);
    fprintf(stderr, "p2pclock node: out of memory\n");
    return EXIT_FAILURE;
  }
  _Static_assert(P2PC_CLI_HOST_MAX <= P2PC_UV_HOST_MAX,
                 "a valid HOST fits the binding's peer");
  for (size_t i = 0; i < cfg->npeers; i++) {
    /* validated: IDs are at most 64 bytes, hosts at most 253 */
    memcpy(peers[i].id, cfg->peers[i].id,
           strnlen(cfg->peers[i].id, P2PC_NODE_ID_MAX));
    memcpy(peers[i].host, cfg->peers[i].host,
           strnlen(cfg->peers[i].host, sizeof peers[i].host - 1));
    peers[i].port = cfg->peers[i].port;
  }
  p2pc_daemon_options opt = {
      .id = cfg->id,
      .listen_host = cfg->listen_host,
      .listen_port = cfg->listen_port,
      .peers = peers,
      .npeers = cfg->npeers,
      .events_path = cfg->events,
      .control_path = cfg->control,
      .log_level = (p2pc_log_level)cfg->log_level,
      .max_peers = cfg->max_peers,
      .causal_lifetime_ns = cfg->causal_lifetime_ns,
      .chaos_delay_min_ms = cfg->chaos_delay_min_ms,
      .chaos_delay_max_ms = cfg->chaos_delay_max_ms,
      .chaos_drop = cfg->chaos_drop,
      .max_ondemand = cfg->max_ondemand,
      .max_sessions = cfg->max_sessions,
      .passive_max = cfg->passive_max,
      .peers_sample = cfg->peers_sample,
      .ondemand_idle_ns = cfg->ondemand_idle_ns,
      .probe_interval_ns = cfg->probe_interval_ns,
      .probe_timeout_ns = cfg->probe_timeout_ns,
      .shuffle_interval_ns = cfg->shuffle_interval_ns,
      .open = !cfg->secure,
      .cluster_key_file = cfg->cluster_key_file,
      .key_file = cfg->key_file,
      .allowlist = cfg->allowlist,
      .ntp_keys = cfg->ntp_keys,
      .console = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO),
      .config_json = json,
      .time =
          {
              .disabled = !cfg->time_sync,
              .mode = cfg->clock_mode == P2PC_CLI_CLOCK_COLLABORATIVE
                          ? P2PC_CLOCK_COLLABORATIVE
                          : P2PC_CLOCK_REFERENCE,
              .time_port = cfg->time_port,
              .priority = cfg->priority,
              .clock_class = cfg->clock_class,
              .poll_min = cfg->poll_min,
              .poll_max = cfg->poll_max,
              .poll_set = true,
              .max_slew = cfg->max_slew_ppm * 1e-6,
              .step_threshold_ns = step_threshold_ns(cfg->step_threshold_s),
          },
      .vclock = cfg->vclock,
      .clock_offset_s = cfg->clock_offset_s,
      .clock_drift_ppm = cfg->clock_drift_ppm,
      .timestamping = cfg->timestamping,
  };
  int rc = p2pc_daemon_run(&opt);
  free(peers);
  free(json);
  return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int cmd_node(const command *cmd, int argc, char **argv) {
  (void)cmd;
  p2pc_cli_config cfg;
  p2pc_cli_actions act;
  char err[P2PC_CLI_ERR_LEN];
  int status;
  int rc = p2pc_cli_node_args(&cfg, argc, (const char *const *)argv, &act, err,
                              sizeof err);
  if (rc < 0) {
    fprintf(stderr, "%s\n", err);
    return rc == P2PC_ERR_NOMEM ? EXIT_FAILURE : EXIT_USAGE;
  }
  if (act.help) {
    p2pc_cli_config_fini(&cfg);
    return print_usage();
  }
  if (act.check_config) {
    char *json = p2pc_cli_config_json(&cfg);
    if (!json) {
      fprintf(stderr, "p2pclock node: out of memory\n");
      status = EXIT_FAILURE;
    } else {
      fprintf(stdout, "%s\n", json);
      free(json);
      status = EXIT_SUCCESS;
      if (fflush(stdout) != 0) {
        fprintf(stderr, "p2pclock node: cannot write: %s\n", strerror(errno));
        status = EXIT_FAILURE;
      }
    }
  } else {
    status = run_node(&cfg);
  }
  p2pc_cli_config_fini(&cfg);
  return status;
}

static int cmd_check(const command *cmd, int argc, char **argv) {
  (void)cmd;
  return p2pc_cli_check(argc, argv);
}

static int cmd_sim(const command *cmd, int argc, char **argv) {
  (void)cmd;
  return p2pc_cli_sim(argc, argv);
}

static int cmd_keygen(const command *cmd, int argc, char **argv) {
  (void)cmd;
  return p2pc_cli_keygen(argc, argv);
}

/* The client command named by argv[-1] (main and help pass it so). */
static int cmd_client(const command *cmd, int argc, char **argv) {
  (void)cmd;
  return p2pc_cli_client(argv[-1], argc, argv);
}

/* The command named word, or NULL. */
static const command *find_command(const char *word) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (commands[i].summary ? strcmp(word, commands[i].name) == 0
                            : p2pc_cli_client_summary(word) != NULL)
      return &commands[i];
  return NULL;
}

static int cmd_demo(const command *cmd, int argc, char **argv) {
  (void)cmd;
  return p2pc_cli_demo(argc, argv);
}

/* Prints the option table for a man page: --keys as a tab-separated
 * list, --man as troff (options.h). */
static int print_options(const char *how) {
  if (strcmp(how, "--keys") == 0)
    p2pc_cli_options_keys(stdout);
  else
    p2pc_cli_options_man(stdout);
  return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* help [COMMAND]: the usage, or what COMMAND --help prints; help --keys
 * and help --man: the node's options for a man page. */
static int cmd_help(const command *cmd, int argc, char **argv) {
  (void)cmd;
  if (argc > 1) {
    fprintf(stderr,
            "p2pclock help: unexpected argument \"%s\" (usage: p2pclock "
            "help [COMMAND])\n",
            argv[1]);
    return EXIT_USAGE;
  }
  if (argc == 0 || is_help(argv[0]))
    return print_usage();
  if (strcmp(argv[0], "--keys") == 0 || strcmp(argv[0], "--man") == 0)
    return print_options(argv[0]);
  const command *c = find_command(argv[0]);
  if (c) {
    char help[] = "--help";
    char *args[] = {argv[0], help, NULL};
    return c->run(c, 1, args + 1);
  }
  fprintf(stderr,
          "p2pclock help: unknown command \"%s\" (p2pclock --help lists "
          "them)\n",
          argv[0]);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "p2pclock: no command given (try p2pclock --help)\n");
    return EXIT_USAGE;
  }
  const char *word = argv[1];
  if (is_help(word))
    return print_usage();
  if (strcmp(word, "--version") == 0) {
    printf("p2pclock %s\n", P2PC_VERSION_STRING);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  if (word[0] == '-')
    return usage_error("unknown option", word);
  const command *c = find_command(word);
  if (c && c->run == cmd_sim)
    p2pc_cli_sim_hugepages(argv); /* returns unless it starts again */
  if (c)
    return c->run(c, argc - 2, argv + 2);
  return usage_error("unknown command", word);
}
