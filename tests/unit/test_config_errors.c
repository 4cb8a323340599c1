/* SPDX-License-Identifier: MIT */
/*
 * The p2pclock command refusing a config (src/cli/config.c, optargs.c,
 * optvalue.c): every bad file, key, value or flag is refused with exactly
 * the one line a user would see, the file before the flags, and a short
 * error buffer truncates, never overflows. Moved out of test_config.c
 * unchanged.
 */
#include "config_fixture.h"

/* ---- bad config files ---------------------------------------------------- */

static const struct {
  const char *text;
  const char *msg; /* after "<path>: " */
} bad_files[] = {
    {"{\"nodeID\":\"A\",\"nodePort\":\"90x0\"}",
     "\"nodePort\" must be an integer 1..65535, got \"90x0\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000.5}",
     "\"nodePort\" must be an integer 1..65535, got 9000.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":\"9000\"}",
     "\"nodePort\" must be an integer 1..65535, got \"9000\""},
    {"{\"nodeID\":\"A\",\"nodePort\":0}",
     "\"nodePort\" must be an integer 1..65535, got 0"},
    {"{\"nodeID\":\"A\",\"nodePort\":65536}",
     "\"nodePort\" must be an integer 1..65535, got 65536"},
    {"{\"nodeID\":\"A\",\"nodePort\":-1}",
     "\"nodePort\" must be an integer 1..65535, got -1"},
    {"{\"nodeID\":\"A\",\"nodePort\":null}",
     "\"nodePort\" must be an integer 1..65535, got null"},
    {"{\"nodeID\":\"A\",\"nodePrt\":9000}",
     "unknown key \"nodePrt\" (did you mean \"nodePort\"?)"},
    {"{\"nodeId\":\"A\",\"nodePort\":9000}",
     "unknown key \"nodeId\" (did you mean \"nodeID\"?)"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"colour\":\"red\"}",
     "unknown key \"colour\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"nodePort\":9001}",
     "\"nodePort\" appears twice"},
    {"{\"nodeID\":\"a b\",\"nodePort\":9000}",
     "\"nodeID\" must be 1..64 characters of [A-Za-z0-9._-], got \"a b\""},
    {"{\"nodeID\":\"\",\"nodePort\":9000}",
     "\"nodeID\" must be 1..64 characters of [A-Za-z0-9._-], got \"\""},
    {"{\"nodeID\":7,\"nodePort\":9000}",
     "\"nodeID\" must be 1..64 characters of [A-Za-z0-9._-], got 7"},
    {"{\"nodeID\":\"A\",\"nodeIP\":\"exa_mple.com\",\"nodePort\":9000}",
     "\"nodeIP\" must be an IP address or a host name of letters, digits, "
     "'-' and '.', got \"exa_mple.com\""},
    {"{\"nodeID\":\"A\",\"nodeIP\":\"127.0.0.256\",\"nodePort\":9000}",
     "\"nodeIP\" must be a valid IPv4 address (a host name cannot end in a "
     "label of digits only), got \"127.0.0.256\""},
    {"{\"nodeID\":\"A\",\"nodeIP\":9,\"nodePort\":9000}",
     "\"nodeIP\" must be an IP address or a host name of letters, digits, "
     "'-' and '.', got 9"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":{}}",
     "\"connectTo\" must be an array of {\"nodeID\", \"nodeIP\", "
     "\"nodePort\"} objects, got {}"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[5]}",
     "\"connectTo[0]\" must be an object {\"nodeID\", \"nodeIP\", "
     "\"nodePort\"}, got 5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"B\","
     "\"nodeIP\":\"127.0.0.1\"}]}",
     "\"connectTo[0].nodePort\" is required"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodePort\":1}]}",
     "\"connectTo[0].nodeIP\" is required"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeIP\":"
     "\"::1\",\"nodePort\":1},{\"nodeIP\":\"::1\",\"nodePort\":2,"
     "\"nodeid\":\"C\"}]}",
     "\"connectTo[1]\" has unknown key \"nodeid\" (did you mean "
     "\"nodeID\"?)"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeIP\":"
     "\"::1\",\"nodePort\":1,\"nodePort\":2}]}",
     "\"connectTo[0].nodePort\" appears twice"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeIP\":"
     "\"::1\",\"nodePort\":1.5}]}",
     "\"connectTo[0].nodePort\" must be an integer 1..65535, got 1.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeIP\":"
     "\"host..example\",\"nodePort\":1}]}",
     "\"connectTo[0].nodeIP\" must be labels of 1..63 characters between "
     "dots, got \"host..example\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"-/\","
     "\"nodeIP\":\"::1\",\"nodePort\":1}]}",
     "\"connectTo[0].nodeID\" must be 1..64 characters of [A-Za-z0-9._-], "
     "got \"-/\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"A\","
     "\"nodeIP\":\"127.0.0.1\",\"nodePort\":9001}]}",
     "\"connectTo[0].nodeID\" is this node's own ID, got \"A\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"B\","
     "\"nodeIP\":\"127.0.0.1\",\"nodePort\":9000}]}",
     "\"connectTo[0]\" is this node's own address, got \"127.0.0.1:9000\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"B\","
     "\"nodeIP\":\"::1\",\"nodePort\":1},{\"nodeID\":\"B\",\"nodeIP\":"
     "\"::1\",\"nodePort\":2}]}",
     "\"connectTo[1].nodeID\" repeats the ID of an earlier peer, got \"B\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"connectTo\":[{\"nodeID\":\"B\","
     "\"nodeIP\":\"::1\",\"nodePort\":1},{\"nodeIP\":\"::1\","
     "\"nodePort\":1}]}",
     "\"connectTo[1]\" repeats the address of an earlier peer, got "
     "\"[::1]:1\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"maxPeers\":1,\"connectTo\":["
     "{\"nodeIP\":\"::1\",\"nodePort\":1},{\"nodeIP\":\"::1\","
     "\"nodePort\":2}]}",
     "\"connectTo\" has 2 entries, more than maxPeers 1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"events\":\"\"}",
     "\"events\" must be a non-empty path of at most 4095 bytes, got \"\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"events\":true}",
     "\"events\" must be a non-empty path of at most 4095 bytes, got true"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"control\":\"/tmp/"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
     "\"control\" must be a non-empty path of at most 107 bytes, got "
     "\"/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"logLevel\":\"verbose\"}",
     "\"logLevel\" must be one of \"error\", \"warn\", \"info\", \"debug\", "
     "got \"verbose\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"maxPeers\":0}",
     "\"maxPeers\" must be an integer 1..1024, got 0"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"maxPeers\":1025}",
     "\"maxPeers\" must be an integer 1..1024, got 1025"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDelay\":\"5:2\"}",
     "\"chaosDelay\" must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"5:2\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDelay\":\"0:60001\"}",
     "\"chaosDelay\" must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"0:60001\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDelay\":\"-1:5\"}",
     "\"chaosDelay\" must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"-1:5\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDelay\":10}",
     "\"chaosDelay\" must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got 10"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDrop\":1}",
     "\"chaosDrop\" must be a number 0 <= P < 1, got 1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDrop\":-0.1}",
     "\"chaosDrop\" must be a number 0 <= P < 1, got -0.1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"chaosDrop\":\"0.5\"}",
     "\"chaosDrop\" must be a number 0 <= P < 1, got \"0.5\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockOffset\":1000001}",
     "\"clockOffset\" must be a number of seconds, -1e6..1e6, got 1000001"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockOffset\":\"0.5\"}",
     "\"clockOffset\" must be a number of seconds, -1e6..1e6, got \"0.5\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockDriftPpm\":-1000.5}",
     "\"clockDriftPpm\" must be a number of ppm, -1000..1000, got -1000.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockDriftPpm\":null}",
     "\"clockDriftPpm\" must be a number of ppm, -1000..1000, got null"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"timePort\":0}",
     "\"timePort\" must be an integer 1..65535, got 0"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"timePort\":123.5}",
     "\"timePort\" must be an integer 1..65535, got 123.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"timeSync\":\"no\"}",
     "\"timeSync\" must be true or false, got \"no\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"timeSync\":0}",
     "\"timeSync\" must be true or false, got 0"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockMode\":\"Reference\"}",
     "\"clockMode\" must be \"reference\" or \"collaborative\", got "
     "\"Reference\""},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"priority\":256}",
     "\"priority\" must be an integer 0..255, got 256"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"priority\":-1}",
     "\"priority\" must be an integer 0..255, got -1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockClass\":1.5}",
     "\"clockClass\" must be an integer 0..255, got 1.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"pollMin\":-7}",
     "\"pollMin\" must be an integer -6..10 (log2 seconds), got -7"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"pollMax\":11}",
     "\"pollMax\" must be an integer -6..10 (log2 seconds), got 11"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"maxSlewPpm\":0.5}",
     "\"maxSlewPpm\" must be a number of ppm, 1..100000, got 0.5"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"stepThreshold\":-0.001}",
     "\"stepThreshold\" must be a number of seconds, 0..1000, got -0.001"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"timestamping\":1}",
     "\"timestamping\" must be \"auto\", \"kernel-rx\" or \"user\", got 1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"stepThreshold\":1001}",
     "\"stepThreshold\" must be a number of seconds, 0..1000, got 1001"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"clockoffset\":1}",
     "unknown key \"clockoffset\" (did you mean \"clockOffset\"?)"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000,\"priority\":1,\"priority\":2}",
     "\"priority\" appears twice"},
    {"{\"nodeID\":\"A\"}",
     "\"nodePort\" is required (or give --listen HOST:PORT)"},
    {"{\"nodePort\":9000}", "\"nodeID\" is required (or give --id)"},
    {"{\"nodeID\":\"A\",\n\"nodePort\":9000\n\"x\":1}",
     "invalid JSON at line 3, column 1"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000",
     "invalid JSON at line 1, column 29"},
    {"{\"nodeID\":\"A\",\"nodePort\":9000} x",
     "invalid JSON at line 1, column 32"},
    {"{\"nodeID\":'A'}", "invalid JSON at line 1, column 11"},
    {"", "file is empty, expected a JSON object"},
    {" \n\t", "file is empty, expected a JSON object"},
    {"[1,2]", "must hold a JSON object, got [1,2]"},
    {"\"A\"", "must hold a JSON object, got \"A\""},
    /* The value is quoted escaped, so the message stays on one line. */
    {"{\"nodeID\":\"a\\nb\",\"nodePort\":1}",
     "\"nodeID\" must be 1..64 characters of [A-Za-z0-9._-], got \"a\\nb\""},
};

static void test_bad_files(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
    char path[512], err[P2PC_CLI_ERR_LEN] = "", want[P2PC_CLI_ERR_LEN];
    p2pc_cli_config cfg;
    write_text("bad.json", bad_files[i].text, path, sizeof path);
    int rc = p2pc_cli_config_load(&cfg, path, err, sizeof err);
    snprintf(want, sizeof want, "%s: %s", path, bad_files[i].msg);
    if (rc != P2PC_ERR_INVAL || strcmp(err, want) != 0)
      print_error("case %zu: %s\n", i, bad_files[i].text);
    assert_int_equal(rc, P2PC_ERR_INVAL);
    assert_string_equal(err, want);
    assert_null(cfg.peers); /* nothing left to free on failure */
    assert_null(strchr(err, '\n'));
    /* The same file through --config fails the same way. */
    const char *argv[] = {"--config", path};
    err[0] = '\0';
    assert_int_equal(p2pc_cli_config_args(&cfg, 2, argv, err, sizeof err),
                     P2PC_ERR_INVAL);
    assert_string_equal(err, want);
    unlink(path);
  }
}

static void test_file_level_errors(void **state) {
  (void)state;
  char path[512], err[P2PC_CLI_ERR_LEN], want[P2PC_CLI_ERR_LEN];
  p2pc_cli_config cfg;

  snprintf(path, sizeof path, "%s/missing.json", tmpdir);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), -ENOENT);
  snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
  assert_string_equal(err, want);

  assert_int_equal(p2pc_cli_config_load(&cfg, tmpdir, err, sizeof err),
                   -EISDIR);
  snprintf(want, sizeof want, "%s: cannot read: %s", tmpdir, strerror(EISDIR));
  assert_string_equal(err, want);

  /* A NUL byte is invalid JSON, reported where it is. */
  write_bytes("nul.json", "{\"nodeID\":\n\"A\0\"}",
              sizeof "{\"nodeID\":\n\"A\0\"}" - 1, path, sizeof path);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want, "%s: invalid JSON at line 2, column 3", path);
  assert_string_equal(err, want);

  /* Past the size cap the file is refused unread. */
  size_t big = P2PC_CLI_FILE_MAX + 1;
  char *text = malloc(big);
  assert_non_null(text);
  memset(text, ' ', big);
  text[0] = '{';
  text[big - 1] = '}';
  write_bytes("big.json", text, big, path, sizeof path);
  free(text);
  assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want, "%s: file is larger than 1048576 bytes", path);
  assert_string_equal(err, want);
  unlink(path);
  snprintf(path, sizeof path, "%s/nul.json", tmpdir);
  unlink(path);
}

/* ---- bad flags ----------------------------------------------------------- */

#define ARGS_MAX 12

static const struct {
  const char *argv[ARGS_MAX]; /* NULL-terminated */
  const char *msg;
} bad_flags[] = {
    {{"--id", "A", "--listen", "127.0.0.1:90x0"},
     "--listen: PORT must be an integer 1..65535, got \"127.0.0.1:90x0\""},
    {{"--id", "A", "--listen", "127.0.0.1:0"},
     "--listen: PORT must be an integer 1..65535, got \"127.0.0.1:0\""},
    {{"--id", "A", "--listen", "127.0.0.1:+9"},
     "--listen: PORT must be an integer 1..65535, got \"127.0.0.1:+9\""},
    {{"--id", "A", "--listen", "9000"},
     "--listen: must be HOST:PORT (an IPv6 HOST in brackets), got \"9000\""},
    {{"--id", "A", "--listen", "::1:9000"},
     "--listen: must be HOST:PORT (an IPv6 HOST in brackets), got "
     "\"::1:9000\""},
    {{"--id", "A", "--listen", "[::1:9000"},
     "--listen: must be HOST:PORT (an IPv6 HOST in brackets), got "
     "\"[::1:9000\""},
    {{"--id", "A", "--listen", "[127.0.0.1]:9000"},
     "--listen: HOST in brackets must be an IPv6 address, got "
     "\"[127.0.0.1]:9000\""},
    {{"--id", "A", "--listen", "-example.com:9000"},
     "--listen: HOST must not start or end a label with '-', got "
     "\"-example.com:9000\""},
    {{"--id", "A", "--listen", ":9000"},
     "--listen: HOST must be an IP address or a host name, not empty, got "
     "\":9000\""},
    {{"--id", "A", "--listen", "[node-a]:9000"},
     "--listen: HOST in brackets must be an IPv6 address, got "
     "\"[node-a]:9000\""},
    {{"--id", "A", "--listen", "[::1]:9000", "--peer", "B@node_b:9000"},
     "--peer: HOST must be an IP address or a host name of letters, digits, "
     "'-' and '.', got \"B@node_b:9000\""},
    {{"--id", "A", "--listen", "node-a:9000", "--peer", "NODE-A:9000"},
     "--peer: is this node's own address, got \"NODE-A:9000\""},
    {{"--id", "A", "--listen", "node-a:9000", "--peer", "node-b:1", "--peer",
      "Node-B:1"},
     "--peer: repeats the address of an earlier peer, got \"Node-B:1\""},
    {{"--id", "a b", "--listen", "127.0.0.1:9000"},
     "--id: must be 1..64 characters of [A-Za-z0-9._-], got \"a b\""},
    {{"--id=", "--listen", "127.0.0.1:9000"},
     "--id: must be 1..64 characters of [A-Za-z0-9._-], got \"\""},
    {{"--id", "a\tb", "--listen", "127.0.0.1:9000"},
     "--id: must be 1..64 characters of [A-Za-z0-9._-], got \"a\\tb\""},
    {{"--id"}, "--id: missing value (see p2pclock node --help)"},
    {{"--id", "--listen", "127.0.0.1:9000"},
     "--id: missing value (see p2pclock node --help)"},
    {{"--lisen", "127.0.0.1:9000", "--id", "A"},
     "--lisen: unknown flag (did you mean --listen?) (see p2pclock node "
     "--help)"},
    {{"--verbose"}, "--verbose: unknown flag (see p2pclock node --help)"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "extra"},
     "unexpected argument \"extra\" (see p2pclock node --help)"},
    {{"-i", "A"}, "unexpected argument \"-i\" (see p2pclock node --help)"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--peer", "b c@127.0.0.1:2"},
     "--peer: ID must be 1..64 characters of [A-Za-z0-9._-], got "
     "\"b c@127.0.0.1:2\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--peer", "B@127.0.0.1"},
     "--peer: must be [ID@]HOST:PORT (an IPv6 HOST in brackets), got "
     "\"B@127.0.0.1\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--peer", "A@127.0.0.1:2"},
     "--peer: is this node's own ID, got \"A@127.0.0.1:2\""},
    {{"--id", "A", "--listen", "[::1]:1", "--peer", "B@[::1]:1"},
     "--peer: is this node's own address, got \"B@[::1]:1\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--peer", "B@127.0.0.1:2",
      "--peer", "B@127.0.0.1:3"},
     "--peer: repeats the ID of an earlier peer, got \"B@127.0.0.1:3\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--peer", "B@127.0.0.1:2",
      "--peer", "127.0.0.1:2"},
     "--peer: repeats the address of an earlier peer, got \"127.0.0.1:2\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--max-peers", "1", "--peer",
      "127.0.0.1:2", "--peer", "127.0.0.1:3"},
     "--peer: given 2 times, more than maxPeers 1"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-delay", "5:2"},
     "--chaos-delay: must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"5:2\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-delay", "5"},
     "--chaos-delay: must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"5\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-delay", "1:99999999999"},
     "--chaos-delay: must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX "
     "<= 60000, got \"1:99999999999\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-drop", "1"},
     "--chaos-drop: must be a number 0 <= P < 1, got \"1\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-drop", "-0.1"},
     "--chaos-drop: must be a number 0 <= P < 1, got \"-0.1\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-drop", "nan"},
     "--chaos-drop: must be a number 0 <= P < 1, got \"nan\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-drop", "0.5x"},
     "--chaos-drop: must be a number 0 <= P < 1, got \"0.5x\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--chaos-drop", "0x0.8p0"},
     "--chaos-drop: must be a number 0 <= P < 1, got \"0x0.8p0\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--log-level", "DEBUG"},
     "--log-level: must be one of \"error\", \"warn\", \"info\", \"debug\", "
     "got \"DEBUG\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--max-peers", "0"},
     "--max-peers: must be an integer 1..1024, got \"0\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--max-peers", "1025"},
     "--max-peers: must be an integer 1..1024, got \"1025\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--events", ""},
     "--events: must be a non-empty path of at most 4095 bytes, got \"\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--control", ""},
     "--control: must be a non-empty path of at most 107 bytes, got \"\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-offset", "1e7"},
     "--clock-offset: must be a number of seconds, -1e6..1e6, got \"1e7\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-offset", "nan"},
     "--clock-offset: must be a number of seconds, -1e6..1e6, got \"nan\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-offset", "-inf"},
     "--clock-offset: must be a number of seconds, -1e6..1e6, got \"-inf\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-offset", "0.5s"},
     "--clock-offset: must be a number of seconds, -1e6..1e6, got \"0.5s\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-drift", "1001"},
     "--clock-drift: must be a number of ppm, -1000..1000, got \"1001\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-drift", "+5"},
     "--clock-drift: must be a number of ppm, -1000..1000, got \"+5\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--time-port", "65536"},
     "--time-port: must be an integer 1..65535, got \"65536\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--time-port", "-1"},
     "--time-port: must be an integer 1..65535, got \"-1\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--no-time-sync=yes"},
     "--no-time-sync: takes no value (see p2pclock node --help)"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--no-time-sync", "x"},
     "unexpected argument \"x\" (see p2pclock node --help)"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-mode", "master"},
     "--clock-mode: must be \"reference\" or \"collaborative\", got "
     "\"master\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--priority", "1.0"},
     "--priority: must be an integer 0..255, got \"1.0\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-class", "256"},
     "--clock-class: must be an integer 0..255, got \"256\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--poll-min", "-7"},
     "--poll-min: must be an integer -6..10 (log2 seconds), got \"-7\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--poll-max", "--5"},
     "--poll-max: missing value (see p2pclock node --help)"},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--poll-max", "2", "--poll-min",
      "3"},
     "--poll-min: must not exceed pollMax (2), got \"3\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--poll-max", "-4"},
     "--poll-max: must not be below pollMin (-3), got \"-4\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--max-slew", "0"},
     "--max-slew: must be a number of ppm, 1..100000, got \"0\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--max-slew", "-5"},
     "--max-slew: must be a number of ppm, 1..100000, got \"-5\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--step-threshold", "1e4"},
     "--step-threshold: must be a number of seconds, 0..1000, got \"1e4\""},
    {{"--id", "A", "--listen", "127.0.0.1:1", "--clock-ofset", "1"},
     "--clock-ofset: unknown flag (did you mean --clock-offset?) (see "
     "p2pclock node --help)"},
    {{"--config", "a.json", "--config", "b.json"},
     "--config: given twice, got \"b.json\""},
    {{"--listen", "127.0.0.1:1"},
     "--id is required (or --config FILE with \"nodeID\")"},
    {{"--id", "A"},
     "--listen HOST:PORT is required (or --config FILE with \"nodePort\")"},
    {{NULL}, "--id is required (or --config FILE with \"nodeID\")"},
};

static void test_bad_flags(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
    char err[P2PC_CLI_ERR_LEN] = "";
    p2pc_cli_config cfg;
    int argc = 0;
    while (argc < ARGS_MAX && bad_flags[i].argv[argc])
      argc++;
    int rc =
        p2pc_cli_config_args(&cfg, argc, bad_flags[i].argv, err, sizeof err);
    if (rc != P2PC_ERR_INVAL || strcmp(err, bad_flags[i].msg) != 0)
      print_error("case %zu: %s\n", i, bad_flags[i].msg);
    assert_int_equal(rc, P2PC_ERR_INVAL);
    assert_string_equal(err, bad_flags[i].msg);
    assert_null(cfg.peers);
  }
}

/* A bad flag fails even when the file is fine, and a bad file even when
 * the flags would have overridden the bad value: the file is checked as a
 * whole before the flags. */
static void test_file_and_flags_errors(void **state) {
  (void)state;
  char a[512], path[512], err[P2PC_CLI_ERR_LEN], want[P2PC_CLI_ERR_LEN];
  p2pc_cli_config cfg;
  proto_path(a, sizeof a, 'A');
  const char *argv[] = {"--config", a, "--listen", "127.0.0.1:x"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "--listen: PORT must be an integer 1..65535, got "
                           "\"127.0.0.1:x\"");

  write_text("badport.json", "{\"nodeID\":\"A\",\"nodePort\":\"x\"}", path,
             sizeof path);
  const char *argv2[] = {"--listen", "127.0.0.1:1", "--config", path};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv2, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want,
           "%s: \"nodePort\" must be an integer 1..65535, got \"x\"", path);
  assert_string_equal(err, want);
  unlink(path);

  /* --peer flags replace the file's peers, so a file peer no longer
   * clashes with an overriding --id. */
  const char *argv3[] = {"--config", a, "--id", "B"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, argv3, err, sizeof err),
                   P2PC_ERR_INVAL);
  snprintf(want, sizeof want,
           "%s: \"connectTo[0].nodeID\" is this node's own ID, got \"B\"", a);
  assert_string_equal(err, want);
  const char *argv4[] = {"--config", a, "--id", "B", "--peer", "C@[::1]:1"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 6, argv4, err, sizeof err), 0);
  assert_int_equal(cfg.npeers, 1);
  p2pc_cli_config_fini(&cfg);
}

/* A short error buffer truncates the message, never overflows; none at all
 * is allowed. */
static void test_short_err_buffer(void **state) {
  (void)state;
  char err[8];
  p2pc_cli_config cfg;
  const char *argv[] = {"--verbose"};
  memset(err, 'x', sizeof err);
  assert_int_equal(p2pc_cli_config_args(&cfg, 1, argv, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "--verbo");
  assert_int_equal(p2pc_cli_config_args(&cfg, 1, argv, NULL, 0),
                   P2PC_ERR_INVAL);
  assert_string_equal(p2pc_cli_log_level_name(P2PC_CLI_LOG_WARN), "warn");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_file_level_errors),
      cmocka_unit_test(test_bad_flags),
      cmocka_unit_test(test_file_and_flags_errors),
      cmocka_unit_test(test_short_err_buffer),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
