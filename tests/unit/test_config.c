/* SPDX-License-Identifier: MIT */
/*
 * The p2pclock command's config resolution (src/cli/config.c, optargs.c):
 * the prototype's ten configs load unchanged, the new keys and every flag
 * land in the right field, flags override the file wherever --config
 * appears, the echo is itself a config, and every HOST is taken or refused
 * alike in its four places. The refusals are in test_config_errors.c, the
 * option table itself in test_options.c. Temporary files live in a
 * mkdtemp directory.
 */
#include "config_fixture.h"

/* ---- good configs -------------------------------------------------------- */

static void test_prototype_configs_load(void **state) {
  (void)state;
  for (int i = 0; i < 10; i++) {
    char path[512], err[P2PC_CLI_ERR_LEN] = "", want[64];
    char id = (char)('A' + i);
    p2pc_cli_config cfg;
    proto_path(path, sizeof path, id);
    assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.id[0], id);
    assert_int_equal(cfg.id[1], '\0');
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 9000 + i);
    assert_int_equal(cfg.npeers, 9 - i);
    for (size_t k = 0; k < cfg.npeers; k++) {
      assert_int_equal(cfg.peers[k].id[0], id + 1 + (int)k);
      assert_int_equal(cfg.peers[k].id[1], '\0');
      assert_string_equal(cfg.peers[k].host, "127.0.0.1");
      assert_int_equal(cfg.peers[k].port, 9001 + i + (int)k);
    }
    snprintf(want, sizeof want, "/tmp/p2pclock-%c.sock", id);
    assert_string_equal(cfg.control, want);
    assert_string_equal(cfg.events, "");
    assert_int_equal(cfg.log_level, P2PC_CLI_LOG_INFO);
    assert_int_equal(cfg.max_peers, 64);
    assert_int_equal(cfg.chaos_delay_min_ms, 0);
    assert_int_equal(cfg.chaos_delay_max_ms, 0);
    assert_true(cfg.chaos_drop == 0.0);
    /* The clock defaults: the real clock, time on the TCP port. */
    assert_false(cfg.vclock);
    assert_int_equal(cfg.time_port, 9000 + i);
    assert_true(cfg.time_sync);
    assert_int_equal(cfg.clock_mode, P2PC_CLI_CLOCK_REFERENCE);
    assert_int_equal(cfg.priority, 128);
    assert_int_equal(cfg.clock_class, 248);
    assert_int_equal(cfg.poll_min, -3);
    assert_int_equal(cfg.poll_max, 1);
    assert_true(cfg.max_slew_ppm == 500);
    assert_true(cfg.step_threshold_s == 0.001);
    p2pc_cli_config_fini(&cfg);
    assert_null(cfg.peers);
    p2pc_cli_config_fini(&cfg); /* twice is harmless */
  }
}

static void test_new_keys(void **state) {
  (void)state;
  char path[512], err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  write_text("new.json",
             "\xEF\xBB\xBF{ \"nodeID\": \"n-1.x_Y\", \"nodeIP\": \"::1\",\n"
             "  \"nodePort\": 65535, \"events\": \"ev.log\",\n"
             "  \"control\": \"/run/p.sock\", \"logLevel\": \"debug\",\n"
             "  \"maxPeers\": 1024, \"chaosDelay\": \"5:60000\",\n"
             "  \"chaosDrop\": 0.25, \"connectTo\": [\n"
             "    { \"nodeIP\": \"localhost\", \"nodePort\": 1 },\n"
             "    { \"nodePort\": 9e3, \"nodeIP\": \"10.0.0.1\" } ] }\n",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_string_equal(cfg.id, "n-1.x_Y");
  assert_string_equal(cfg.listen_host, "::1");
  assert_int_equal(cfg.listen_port, 65535);
  assert_string_equal(cfg.events, "ev.log");
  assert_string_equal(cfg.control, "/run/p.sock");
  assert_int_equal(cfg.log_level, P2PC_CLI_LOG_DEBUG);
  assert_int_equal(cfg.max_peers, 1024);
  assert_int_equal(cfg.chaos_delay_min_ms, 5);
  assert_int_equal(cfg.chaos_delay_max_ms, 60000);
  assert_true(cfg.chaos_drop == 0.25);
  assert_int_equal(cfg.npeers, 2);
  assert_string_equal(cfg.peers[0].id, "");
  assert_string_equal(cfg.peers[0].host, "localhost");
  assert_int_equal(cfg.peers[0].port, 1);
  assert_string_equal(cfg.peers[1].host, "10.0.0.1");
  assert_int_equal(cfg.peers[1].port, 9000);
  p2pc_cli_config_fini(&cfg);
  unlink(path);
}

static void test_clock_keys(void **state) {
  (void)state;
  char path[512], err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  write_text("clock.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"clockOffset\":-0.25,\n"
             " \"clockDriftPpm\":1000,\"timePort\":123,\"timeSync\":false,\n"
             " \"clockMode\":\"collaborative\",\"priority\":0,\n"
             " \"clockClass\":255,\"pollMin\":-6,\"pollMax\":-6,\n"
             " \"maxSlewPpm\":100000,\"stepThreshold\":0}",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_true(cfg.vclock);
  assert_true(cfg.clock_offset_s == -0.25);
  assert_true(cfg.clock_drift_ppm == 1000);
  assert_int_equal(cfg.time_port, 123);
  assert_false(cfg.time_sync);
  assert_int_equal(cfg.clock_mode, P2PC_CLI_CLOCK_COLLABORATIVE);
  assert_int_equal(cfg.priority, 0);
  assert_int_equal(cfg.clock_class, 255);
  assert_int_equal(cfg.poll_min, -6);
  assert_int_equal(cfg.poll_max, -6);
  assert_true(cfg.max_slew_ppm == 100000);
  assert_true(cfg.step_threshold_s == 0);
  p2pc_cli_config_fini(&cfg);

  /* A zero offset alone still makes the clock virtual; the other end of
   * each range is accepted too. */
  write_text("clock.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"clockOffset\":0,\n"
             " \"timeSync\":true,\"clockMode\":\"reference\",\n"
             " \"pollMin\":10,\"pollMax\":10,\"maxSlewPpm\":1,\n"
             " \"stepThreshold\":1000,\"timePort\":65535,\n"
             " \"priority\":2.55e2}",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_true(cfg.vclock);
  assert_true(cfg.clock_offset_s == 0);
  assert_true(cfg.clock_drift_ppm == 0);
  assert_true(cfg.time_sync);
  assert_int_equal(cfg.poll_min, 10);
  assert_int_equal(cfg.time_port, 65535);
  assert_int_equal(cfg.priority, 255);
  assert_true(cfg.step_threshold_s == 1000);
  p2pc_cli_config_fini(&cfg);
  write_text("clock.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"clockDriftPpm\":-1e3,"
             "\"clockOffset\":1e6}",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_true(cfg.vclock);
  assert_true(cfg.clock_offset_s == 1e6);
  assert_true(cfg.clock_drift_ppm == -1000);
  p2pc_cli_config_fini(&cfg);
  unlink(path);
}

static void test_clock_flags(void **state) {
  (void)state;
  char a[512], err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  proto_path(a, sizeof a, 'B');
  /* Negative values follow their flag as words of their own; the switch
   * takes no value, so the word after it is the next flag. */
  const char *argv[] = {"--clock-offset",
                        "-1.5",
                        "--clock-drift=-0.5",
                        "--no-time-sync",
                        "--time-port",
                        "7000",
                        "--clock-mode",
                        "collaborative",
                        "--priority",
                        "7",
                        "--clock-class",
                        "6",
                        "--poll-min",
                        "-5",
                        "--poll-max=4",
                        "--max-slew",
                        "12.5",
                        "--step-threshold",
                        "0.5",
                        "--config",
                        a};
  int argc = (int)(sizeof argv / sizeof argv[0]);
  assert_int_equal(p2pc_cli_config_args(&cfg, argc, argv, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_true(cfg.vclock);
  assert_true(cfg.clock_offset_s == -1.5);
  assert_true(cfg.clock_drift_ppm == -0.5);
  assert_false(cfg.time_sync);
  assert_int_equal(cfg.time_port, 7000);
  assert_int_equal(cfg.clock_mode, P2PC_CLI_CLOCK_COLLABORATIVE);
  assert_int_equal(cfg.priority, 7);
  assert_int_equal(cfg.clock_class, 6);
  assert_int_equal(cfg.poll_min, -5);
  assert_int_equal(cfg.poll_max, 4);
  assert_true(cfg.max_slew_ppm == 12.5);
  assert_true(cfg.step_threshold_s == 0.5);
  assert_int_equal(cfg.listen_port, 9001); /* the file still loaded */
  p2pc_cli_config_fini(&cfg);

  /* A flag overrides the file's clock key; the time port follows an
   * overriding --listen unless set; a drift of 0 alone is virtual. */
  char path[512];
  write_text("clockfile.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"priority\":9,"
             "\"pollMax\":-2}",
             path, sizeof path);
  const char *argv2[] = {
      "--config",      path, "--priority", "10", "--listen", "127.0.0.1:9500",
      "--clock-drift", "0",  "--poll-min", "-4"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 10, argv2, err, sizeof err), 0);
  assert_int_equal(cfg.priority, 10);
  assert_int_equal(cfg.time_port, 9500);
  assert_int_equal(cfg.poll_min, -4);
  assert_int_equal(cfg.poll_max, -2);
  assert_true(cfg.vclock);
  assert_true(cfg.clock_offset_s == 0);
  p2pc_cli_config_fini(&cfg);
  unlink(path);

  /* The one switch, as the option table says (main.c once asked
   * p2pc_cli_flag_is_switch; getopt_long now reads the table). */
  assert_null(p2pc_cli_option_by_flag("no-time-sync")->arg);
  assert_null(p2pc_cli_option_by_flag("no-time-sync=1"));
  assert_non_null(p2pc_cli_option_by_flag("time-port")->arg);
  assert_string_equal(p2pc_cli_clock_mode_name(P2PC_CLI_CLOCK_COLLABORATIVE),
                      "collaborative");
}

/* pollMin > pollMax is refused naming what the user set: a flag before
 * the file, pollMin before pollMax. */
static void test_poll_order(void **state) {
  (void)state;
  char path[512], err[P2PC_CLI_ERR_LEN], want[P2PC_CLI_ERR_LEN];
  p2pc_cli_config cfg;
  write_text("poll.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"pollMin\":3,"
             "\"pollMax\":2}",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want,
           "%s: \"pollMin\" must not exceed pollMax (2), got 3", path);
  assert_string_equal(err, want);
  write_text("poll.json", "{\"nodeID\":\"A\",\"nodePort\":9000,\"pollMax\":-4}",
             path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want,
           "%s: \"pollMax\" must not be below pollMin (-3), got -4", path);
  assert_string_equal(err, want);
  const char *argv[] = {"--config", path,         "--poll-min",
                        "-5",       "--poll-max", "-6"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 6, argv, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "--poll-min: must not exceed pollMax (-6), got "
                           "\"-5\"");
  /* A flag can also repair the file. */
  const char *argv2[] = {"--config", path, "--poll-min", "-5"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv2, err, sizeof err), 0);
  assert_int_equal(cfg.poll_min, -5);
  assert_int_equal(cfg.poll_max, -4);
  p2pc_cli_config_fini(&cfg);
  write_text("poll.json",
             "{\"nodeID\":\"A\",\"nodePort\":9000,\"pollMin\":3,"
             "\"pollMax\":5}",
             path, sizeof path);
  const char *argv3[] = {"--poll-max", "2", "--config", path};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv3, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err,
                      "--poll-max: must not be below pollMin (3), got \"2\"");
  unlink(path);
}

static void test_flags_override_file(void **state) {
  (void)state;
  char a[512], err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  proto_path(a, sizeof a, 'A');
  /* --config last: still loaded first, so every flag wins. */
  const char *argv[] = {"--id",
                        "Z",
                        "--listen=[::1]:9100",
                        "--peer",
                        "X@127.0.0.2:1",
                        "--peer",
                        "[::1]:2",
                        "--events",
                        "e.log",
                        "--control",
                        "/tmp/c.sock",
                        "--log-level",
                        "warn",
                        "--max-peers",
                        "2",
                        "--chaos-delay",
                        "0:10",
                        "--chaos-drop",
                        "0.5",
                        "--config",
                        a};
  int argc = (int)(sizeof argv / sizeof argv[0]);
  assert_int_equal(p2pc_cli_config_args(&cfg, argc, argv, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_string_equal(cfg.id, "Z");
  assert_string_equal(cfg.listen_host, "::1");
  assert_int_equal(cfg.listen_port, 9100);
  assert_int_equal(cfg.npeers, 2); /* the file's nine are replaced */
  assert_string_equal(cfg.peers[0].id, "X");
  assert_string_equal(cfg.peers[0].host, "127.0.0.2");
  assert_int_equal(cfg.peers[0].port, 1);
  assert_string_equal(cfg.peers[1].id, "");
  assert_string_equal(cfg.peers[1].host, "::1");
  assert_int_equal(cfg.peers[1].port, 2);
  assert_string_equal(cfg.events, "e.log");
  assert_string_equal(cfg.control, "/tmp/c.sock");
  assert_int_equal(cfg.log_level, P2PC_CLI_LOG_WARN);
  assert_int_equal(cfg.max_peers, 2);
  assert_int_equal(cfg.chaos_delay_min_ms, 0);
  assert_int_equal(cfg.chaos_delay_max_ms, 10);
  assert_true(cfg.chaos_drop == 0.5);
  p2pc_cli_config_fini(&cfg);

  /* Without --peer the file's peers stay; the default control path
   * follows the overriding ID; a later flag beats an earlier one. */
  const char *argv2[] = {"--config", a, "--id", "Q", "--id=R"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 5, argv2, err, sizeof err), 0);
  assert_string_equal(cfg.id, "R");
  assert_int_equal(cfg.listen_port, 9000);
  assert_int_equal(cfg.npeers, 9);
  assert_string_equal(cfg.control, "/tmp/p2pclock-R.sock");
  p2pc_cli_config_fini(&cfg);
}

static void test_flags_alone(void **state) {
  (void)state;
  char err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  const char *argv[] = {"--listen", "localhost:7", "--id", "solo"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv, err, sizeof err), 0);
  assert_string_equal(cfg.id, "solo");
  assert_string_equal(cfg.listen_host, "localhost");
  assert_int_equal(cfg.listen_port, 7);
  assert_int_equal(cfg.npeers, 0);
  assert_string_equal(cfg.control, "/tmp/p2pclock-solo.sock");
  p2pc_cli_config_fini(&cfg);
}

/* The resolved config printed by --check-config is itself a config that
 * resolves to the same thing. */
static void test_json_round_trip(void **state) {
  (void)state;
  char a[512], path[512], err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  proto_path(a, sizeof a, 'C');
  const char *argv[] = {"--config",      a,       "--events",    "ev.log",
                        "--chaos-drop",  "0.125", "--peer",      "[::1]:5",
                        "--chaos-delay", "1:2",   "--log-level", "error"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 12, argv, err, sizeof err), 0);
  char *json = p2pc_cli_config_json(&cfg);
  assert_non_null(json);
  assert_string_equal(
      json, "{\"nodeID\":\"C\",\"nodeIP\":\"127.0.0.1\",\"nodePort\":9002,"
            "\"connectTo\":[{\"nodeIP\":\"::1\",\"nodePort\":5}],"
            "\"events\":\"ev.log\",\"control\":\"/tmp/p2pclock-C.sock\","
            "\"logLevel\":\"error\",\"maxPeers\":64,\"causalLifetime\":60,"
            "\"chaosDelay\":\"1:2\","
            "\"chaosDrop\":0.125,\"timePort\":9002,\"timeSync\":true,"
            "\"clockMode\":\"reference\",\"priority\":128,\"clockClass\":248,"
            "\"pollMin\":-3,\"pollMax\":1,\"maxSlewPpm\":500,"
            "\"stepThreshold\":0.001,\"timestamping\":\"auto\","
            "\"maxOnDemand\":16,\"maxSessions\":1024,\"onDemandIdle\":60,"
            "\"probeInterval\":0.2,\"probeTimeout\":0.1,\"passiveMax\":32,"
            "\"peersSample\":32,\"shuffleInterval\":10,\"secure\":true}");
  p2pc_cli_config_fini(&cfg);
  write_text("round.json", json, path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  char *again = p2pc_cli_config_json(&cfg);
  assert_non_null(again);
  assert_string_equal(again, json);
  free(again);
  free(json);
  p2pc_cli_config_fini(&cfg);

  /* The virtual clock's keys appear iff it is on, and come back. */
  const char *argv2[] = {"--config",
                         a,
                         "--clock-drift",
                         "-2.5",
                         "--no-time-sync",
                         "--time-port",
                         "1",
                         "--poll-min",
                         "-6",
                         "--step-threshold",
                         "0"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 11, argv2, err, sizeof err), 0);
  json = p2pc_cli_config_json(&cfg);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"chaosDrop\":0,\"clockOffset\":0,"
                               "\"clockDriftPpm\":-2.5,\"timePort\":1,"
                               "\"timeSync\":false,\"clockMode\":"
                               "\"reference\",\"priority\":128,"
                               "\"clockClass\":248,\"pollMin\":-6,"
                               "\"pollMax\":1,\"maxSlewPpm\":500,"
                               "\"stepThreshold\":0,"
                               "\"timestamping\":\"auto\","));
  p2pc_cli_config_fini(&cfg);
  write_text("round.json", json, path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_true(cfg.vclock);
  assert_false(cfg.time_sync);
  again = p2pc_cli_config_json(&cfg);
  assert_non_null(again);
  assert_string_equal(again, json);
  free(again);
  free(json);
  p2pc_cli_config_fini(&cfg);
  unlink(path);
}

/* ---- host names --------------------------------------------------------- */

/* Every HOST, in each of the four places one is written (--listen,
 * --peer, nodeIP, connectTo[].nodeIP): taken as written, or refused with
 * the reason (NULL: accepted). */
static const struct {
  const char *host;
  const char *why;
} hosts[] = {
    {"node-b", NULL},
    {"localhost", NULL},
    {"NODE-B.Example.org", NULL},
    {"a", NULL},
    {"x1", NULL},
    {"1a", NULL},
    {"123.example", NULL},
    {"a.1b", NULL},
    {"xn--bcher-kva.example", NULL},
    {"10.0.0.1", NULL},
    {"::1", NULL},
    {"fe80::1:2", NULL},
    {"::ffff:10.0.0.1", NULL},
    {"node_b", "must be an IP address or a host name of letters, digits, "
               "'-' and '.'"},
    {"a b", "must be an IP address or a host name of letters, digits, "
            "'-' and '.'"},
    {"b\xC3\xA9", "must be an IP address or a host name of letters, digits, "
                  "'-' and '.'"},
    {"a/b", "must be an IP address or a host name of letters, digits, "
            "'-' and '.'"},
    {"-b", "must not start or end a label with '-'"},
    {"b-", "must not start or end a label with '-'"},
    {"a.-b.c", "must not start or end a label with '-'"},
    {"a-.b", "must not start or end a label with '-'"},
    {"a..b", "must be labels of 1..63 characters between dots"},
    {".a", "must be labels of 1..63 characters between dots"},
    {"a.", "must be labels of 1..63 characters between dots"},
    {".", "must be labels of 1..63 characters between dots"},
    {"10.0.0.256", "must be a valid IPv4 address (a host name cannot end in "
                   "a label of digits only)"},
    {"10.1", "must be a valid IPv4 address (a host name cannot end in a "
             "label of digits only)"},
    {"1234", "must be a valid IPv4 address (a host name cannot end in a "
             "label of digits only)"},
    {"a.123", "must be a valid IPv4 address (a host name cannot end in a "
              "label of digits only)"},
    {"::zz", "with a ':' must be an IPv6 address"},
    {"1:2:3:4:5:6:7:8:9", "with a ':' must be an IPv6 address"},
};

/* A name of len characters: labels of label characters between dots. */
static void make_name(char *buf, size_t len, size_t label) {
  for (size_t i = 0; i < len; i++)
    buf[i] = (i + 1) % (label + 1) == 0 ? '.' : (char)('a' + i % 26);
  buf[len] = '\0';
}

/* Checks host in all four places; why is NULL or the reason. */
static void check_host(const char *host, const char *why) {
  char err[P2PC_CLI_ERR_LEN], want[P2PC_CLI_ERR_LEN], path[512];
  char listen[300], peer[300];
  p2pc_cli_config cfg;
  bool v6 = strchr(host, ':') != NULL;
  snprintf(listen, sizeof listen, "%s%s%s:9000", v6 ? "[" : "", host,
           v6 ? "]" : "");
  snprintf(peer, sizeof peer, "B@%s%s%s:9001", v6 ? "[" : "", host,
           v6 ? "]" : "");
  /* The value is shown cut at 64 bytes; compare up to "got" then. */
  const char *argv[] = {"--id", "A", "--listen", listen};
  int rc = p2pc_cli_config_args(&cfg, 4, argv, err, sizeof err);
  if (!why) {
    if (rc != 0)
      print_error("--listen %s: %s\n", listen, err);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg.listen_host, host);
    p2pc_cli_config_fini(&cfg);
  } else {
    assert_int_equal(rc, P2PC_ERR_INVAL);
    snprintf(want, sizeof want, "--listen: HOST %s, got \"%.*s", why, 63,
             listen);
    if (strncmp(err, want, strlen(want)) != 0)
      print_error("host %s\n", host);
    assert_memory_equal(err, want, strlen(want));
    assert_null(strchr(err, '\n'));
  }
  const char *argv2[] = {"--id",        "A",      "--listen",
                         "127.0.0.1:1", "--peer", peer};
  rc = p2pc_cli_config_args(&cfg, 6, argv2, err, sizeof err);
  if (!why) {
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.npeers, 1);
    assert_string_equal(cfg.peers[0].id, "B");
    assert_string_equal(cfg.peers[0].host, host);
    assert_int_equal(cfg.peers[0].port, 9001);
    p2pc_cli_config_fini(&cfg);
  } else {
    assert_int_equal(rc, P2PC_ERR_INVAL);
    snprintf(want, sizeof want, "--peer: HOST %s, got \"%.*s", why, 63, peer);
    assert_memory_equal(err, want, strlen(want));
  }
  /* The file: the same host as nodeIP, then in connectTo. */
  char text[800];
  for (int k = 0; k < 2; k++) {
    if (k == 0)
      snprintf(text, sizeof text,
               "{\"nodeID\":\"A\",\"nodeIP\":\"%s\",\"nodePort\":9000}", host);
    else
      snprintf(text, sizeof text,
               "{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{"
               "\"nodeIP\":\"%s\",\"nodePort\":9001}]}",
               host);
    write_text("host.json", text, path, sizeof path);
    rc = p2pc_cli_config_load(&cfg, path, err, sizeof err);
    if (!why) {
      assert_int_equal(rc, 0);
      assert_string_equal(k == 0 ? cfg.listen_host : cfg.peers[0].host, host);
      p2pc_cli_config_fini(&cfg);
    } else {
      assert_int_equal(rc, P2PC_ERR_INVAL);
      snprintf(want, sizeof want, "%s: \"%s\" %s, got \"%.*s", path,
               k == 0 ? "nodeIP" : "connectTo[0].nodeIP", why, 60, host);
      assert_memory_equal(err, want, strlen(want));
      assert_null(strchr(err, '\n'));
    }
    unlink(path);
  }
}

static void test_host_names(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
    check_host(hosts[i].host, hosts[i].why);
  /* The lengths: a label of 63 and a name of 253 are the most. */
  char name[300];
  make_name(name, 63, 63);
  check_host(name, NULL);
  make_name(name, 64, 64);
  check_host(name, "must be labels of 1..63 characters between dots");
  make_name(name, 253, 63);
  assert_int_equal(strlen(name), 253);
  check_host(name, NULL);
  make_name(name, 254, 63);
  check_host(name, "must be at most 253 characters");
  /* A name round-trips through --check-config's JSON. */
  char err[P2PC_CLI_ERR_LEN];
  p2pc_cli_config cfg;
  const char *argv[] = {
      "--id", "A", "--listen", "node-a.lan:9000", "--peer", "B@node-b:9001"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 6, argv, err, sizeof err), 0);
  char *json = p2pc_cli_config_json(&cfg);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"nodeIP\":\"node-a.lan\",\"nodePort\":9000"));
  assert_non_null(strstr(json, "{\"nodeID\":\"B\",\"nodeIP\":\"node-b\","
                               "\"nodePort\":9001}"));
  free(json);
  p2pc_cli_config_fini(&cfg);
}

static void test_limits_accepted(void **state) {
  (void)state;
  /* 1024 peers with maxPeers 1024 is the most a config may hold. */
  size_t cap = 1024 * 64 + 256, len = 0;
  char *text = malloc(cap);
  char path[512], err[P2PC_CLI_ERR_LEN] = "";
  assert_non_null(text);
  len += (size_t)snprintf(text + len, cap - len,
                          "{\"nodeID\":\"A\",\"nodePort\":1,\"maxPeers\":1024,"
                          "\"connectTo\":[");
  for (int i = 0; i < 1024; i++)
    len += (size_t)snprintf(text + len, cap - len,
                            "%s{\"nodeIP\":\"127.0.0.2\",\"nodePort\":%d}",
                            i ? "," : "", 2 + i);
  snprintf(text + len, cap - len, "]}");
  write_text("many.json", text, path, sizeof path);
  p2pc_cli_config cfg;
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
  assert_int_equal(cfg.npeers, 1024);
  assert_int_equal(cfg.peers[1023].port, 1025);
  p2pc_cli_config_fini(&cfg);

  /* ... one more is refused, by count, before anything else. */
  len = strlen(text) - 2;
  snprintf(text + len, cap - len,
           ",{\"nodeIP\":\"127.0.0.2\",\"nodePort\":9}]}");
  write_text("many.json", text, path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                   P2PC_ERR_INVAL);
  char want[600];
  snprintf(want, sizeof want,
           "%s: \"connectTo\" must have at most 1024 entries, got 1025", path);
  assert_string_equal(err, want);
  free(text);
  unlink(path);

  /* The longest ID still gives a usable default control path. */
  char id[P2PC_ID_MAX + 1], ctl[P2PC_CLI_CONTROL_MAX + 1];
  memset(id, 'x', P2PC_ID_MAX);
  id[P2PC_ID_MAX] = '\0';
  p2pc_cli_control_default(ctl, sizeof ctl, id);
  assert_int_equal(strlen(ctl), strlen("/tmp/p2pclock-.sock") + P2PC_ID_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prototype_configs_load),
      cmocka_unit_test(test_new_keys),
      cmocka_unit_test(test_clock_keys),
      cmocka_unit_test(test_clock_flags),
      cmocka_unit_test(test_poll_order),
      cmocka_unit_test(test_flags_override_file),
      cmocka_unit_test(test_flags_alone),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_host_names),
      cmocka_unit_test(test_limits_accepted),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
