#include "config/server_config.hpp"

#include "config/config_error.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

using namespace tidesync::config;

namespace {

/// The message of the config_error the text raises, or "" (and a failure) if none.
std::string error_of(const std::string& yaml) {
  try {
    parse_server_config(yaml, "server.yaml");
  } catch (const config_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a config_error: " << e.what();
    return {};
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return {};
}

/// A file that exists for the test's duration.
class temp_file {
public:
  explicit temp_file(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("tidesync_config_test_" + name)) {
    std::ofstream(path_) << "x\n";
  }
  ~temp_file() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

} // namespace

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(ServerConfig, MinimalConfigGetsEveryDefault) {
  const auto c = parse_server_config("database: postgresql://localhost/tidesync\n", "server.yaml");
  EXPECT_EQ(c.database, "postgresql://localhost/tidesync");
  EXPECT_EQ(c.listen.host, "127.0.0.1");
  EXPECT_EQ(c.listen.port, default_server_port);
  EXPECT_EQ(c.data_schema, default_data_schema);
  EXPECT_EQ(c.pool_size, default_pool_size);
  EXPECT_EQ(c.max_waiting, 4 * default_pool_size);
  EXPECT_EQ(c.max_body_bytes, default_max_body_bytes);
  EXPECT_EQ(c.io_threads, default_io_threads);
  EXPECT_EQ(c.max_workers_per_client, 6);  // 3/4 of 8
  EXPECT_EQ(c.max_waiting_per_client, 16); // half of 32
  EXPECT_FALSE(c.tls.has_value());
  EXPECT_EQ(c.log_level, "info");
}

TEST(ServerConfig, ClientSharesFollowThePoolWhenLeftOut) {
  struct pool {
    int size, max_waiting, client_workers, client_waiting;
  };
  for (auto p : {pool{1, 4, 1, 2}, pool{2, 8, 1, 4}, pool{3, 0, 2, 0}, pool{4, 1, 3, 1},
                 pool{16, 64, 12, 32}}) {
    const auto c = parse_server_config("database: x\npool_size: " + std::to_string(p.size) +
                                           "\nmax_waiting: " + std::to_string(p.max_waiting) +
                                           "\n",
                                       "server.yaml");
    EXPECT_EQ(c.max_workers_per_client, p.client_workers) << "pool_size " << p.size;
    EXPECT_EQ(c.max_waiting_per_client, p.client_waiting) << "max_waiting " << p.max_waiting;
  }
}

TEST(ServerConfig, ClientSharesAreReadWhateverTheirPlaceInTheFile) {
  const auto c = parse_server_config("max_workers_per_client: 4\n"
                                     "max_waiting_per_client: 0\n"
                                     "database: x\n"
                                     "pool_size: 4\n",
                                     "server.yaml");
  EXPECT_EQ(c.max_workers_per_client, 4);
  EXPECT_EQ(c.max_waiting_per_client, 0);
}

TEST(ServerConfig, AClientShareBeyondThePoolItSharesIsRejectedNamingTheKey) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: 4\nmax_workers_per_client: 5\n"),
                  "server.yaml:3: max_workers_per_client: must not exceed pool_size (4), got 5");
  EXPECT_CONTAINS(error_of("database: x\nmax_waiting_per_client: 9\nmax_waiting: 8\n"),
                  "server.yaml:2: max_waiting_per_client: must not exceed max_waiting (8), got 9");
}

TEST(ServerConfig, AClientShareOfNoWorkersOrOfNonsenseIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\nmax_workers_per_client: 0\n"),
                  "server.yaml:2: max_workers_per_client: must be between 1 and");
  EXPECT_CONTAINS(error_of("database: x\nmax_waiting_per_client: -1\n"),
                  "server.yaml:2: max_waiting_per_client: must be between 0 and");
  EXPECT_CONTAINS(error_of("database: x\nmax_workers_per_client: half\n"),
                  "server.yaml:2: max_workers_per_client: expected an integer, got \"half\"");
  EXPECT_CONTAINS(error_of("database: x\nmax_workers_per_client_: 1\n"),
                  "unknown key (did you mean max_workers_per_client?)");
}

TEST(ServerConfig, ExplicitZeroMaxWaitingMeansNoRequestWaits) {
  const auto c = parse_server_config("database: postgresql://db/x\n"
                                     "pool_size: 3\n"
                                     "max_waiting: 0\n",
                                     "server.yaml");
  EXPECT_EQ(c.max_waiting, 0);
}

TEST(ServerConfig, MaxWaitingFollowsPoolSizeWhenLeftOut) {
  const auto c = parse_server_config("database: postgresql://db/x\npool_size: 3\n", "server.yaml");
  EXPECT_EQ(c.max_waiting, 12);
}

TEST(ServerConfig, EveryKeyIsRead) {
  const temp_file cert("cert.pem"), key("key.pem");
  const auto c = parse_server_config("listen: 0.0.0.0:9000\n"
                                     "database: postgresql://db/x\n"
                                     "data_schema: replicas\n"
                                     "pool_size: 16\n"
                                     "max_waiting: 10\n"
                                     "max_workers_per_client: 5\n"
                                     "max_waiting_per_client: 3\n"
                                     "max_body_bytes: 8MiB\n"
                                     "io_threads: 4\n"
                                     "tls: {cert: " +
                                         cert.path() + ", key: " + key.path() +
                                         "}\n"
                                         "log_level: debug\n",
                                     "server.yaml");
  EXPECT_EQ(c.listen.to_string(), "0.0.0.0:9000");
  EXPECT_EQ(c.data_schema, "replicas");
  EXPECT_EQ(c.pool_size, 16);
  EXPECT_EQ(c.max_waiting, 10);
  EXPECT_EQ(c.max_workers_per_client, 5);
  EXPECT_EQ(c.max_waiting_per_client, 3);
  EXPECT_EQ(c.max_body_bytes, 8u << 20);
  EXPECT_EQ(c.io_threads, 4);
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_EQ(c.tls->cert, cert.path());
  EXPECT_EQ(c.tls->key, key.path());
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ServerConfig, PlainIntegerBodyLimitIsBytes) {
  const auto c = parse_server_config("database: x\nmax_body_bytes: 1048576\n", "s.yaml");
  EXPECT_EQ(c.max_body_bytes, 1048576u);
}

TEST(ServerConfig, EmptyTlsKeyMeansNoTls) {
  EXPECT_FALSE(parse_server_config("database: x\ntls:\n", "s.yaml").tls.has_value());
}

TEST(ServerConfig, EnvironmentVariablesAreExpandedInValues) {
  ::setenv("TIDESYNC_TEST_DB_URL", "postgresql://secret@db/x", 1);
  ::setenv("TIDESYNC_TEST_POOL", "12", 1);
  const auto c = parse_server_config(
      "database: ${TIDESYNC_TEST_DB_URL}\npool_size: ${TIDESYNC_TEST_POOL}\n", "s.yaml");
  EXPECT_EQ(c.database, "postgresql://secret@db/x");
  EXPECT_EQ(c.pool_size, 12);
}

TEST(ServerConfig, UnsetEnvironmentVariableNamesTheVariableKeyAndLine) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  const auto e = error_of("listen: 127.0.0.1:1\ndatabase: \"${TIDESYNC_TEST_UNSET}\"\n");
  EXPECT_CONTAINS(e,
                  "server.yaml:2: database: environment variable TIDESYNC_TEST_UNSET is not set");
}

TEST(ServerConfig, MissingDatabaseNamesTheKeyAndTheMappingLine) {
  EXPECT_CONTAINS(error_of("\npool_size: 4\n"), "server.yaml:2: database: required key is missing");
}

TEST(ServerConfig, EmptyFileReportsTheMissingDatabase) {
  EXPECT_CONTAINS(error_of(""), "server.yaml:1: database: required key is missing");
}

TEST(ServerConfig, DatabaseWithoutValueIsReported) {
  EXPECT_CONTAINS(error_of("pool_size: 4\ndatabase:\n"),
                  "server.yaml:2: database: expected a value, got nothing");
}

TEST(ServerConfig, MisspelledKeyIsAnUnknownKeyWithASuggestion) {
  const auto e = error_of("database: x\n\npool_sise: 4\n");
  EXPECT_CONTAINS(e, "server.yaml:3: pool_sise: unknown key (did you mean pool_size?)");
}

TEST(ServerConfig, UnknownKeyInsideTlsHasItsFullPath) {
  const auto e = error_of("database: x\ntls:\n  cert: a\n  kee: b\n");
  EXPECT_CONTAINS(e, "server.yaml:4: tls.kee: unknown key");
}

TEST(ServerConfig, DuplicateKeyIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: 2\npool_size: 3\n"),
                  "server.yaml:3: pool_size: duplicate key (first given on line 2)");
}

TEST(ServerConfig, NonNumericPoolSizeIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: abc\n"),
                  "server.yaml:2: pool_size: expected an integer, got \"abc\"");
}

TEST(ServerConfig, NegativeOrHugePoolSizeIsOutOfRange) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: -3\n"),
                  "server.yaml:2: pool_size: must be between 1 and 1000, got -3");
  EXPECT_CONTAINS(error_of("database: x\npool_size: 1001\n"), "server.yaml:2: pool_size:");
  EXPECT_CONTAINS(error_of("database: x\npool_size: 0\n"), "server.yaml:2: pool_size:");
}

TEST(ServerConfig, ListWhereAScalarBelongsIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: [1, 2]\n"),
                  "server.yaml:2: pool_size: expected an integer, got a list");
  EXPECT_CONTAINS(error_of("database:\n  - a\n  - b\n"),
                  "server.yaml:2: database: expected a string, got a list");
}

TEST(ServerConfig, NegativeMaxWaitingIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\nmax_waiting: -1\n"),
                  "server.yaml:2: max_waiting: must be");
}

TEST(ServerConfig, PortOutOfRangeIsRejected) {
  EXPECT_CONTAINS(error_of("listen: 0.0.0.0:70000\ndatabase: x\n"),
                  "server.yaml:1: listen: expected host:port");
}

TEST(ServerConfig, ListenWithoutPortIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\nlisten: localhost\n"), "server.yaml:2: listen:");
}

TEST(ServerConfig, InvalidDataSchemaIsRejected) {
  const std::vector<std::string> schemas{"1data", "data-schema", "\"\"", std::string(64, 'a')};
  for (const auto& schema : schemas)
    EXPECT_CONTAINS(error_of("database: x\ndata_schema: " + schema + "\n"),
                    "server.yaml:2: data_schema: expected an identifier");
}

TEST(ServerConfig, BadBodySizeIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\nmax_body_bytes: 64XB\n"),
                  "server.yaml:2: max_body_bytes: expected a size");
  EXPECT_CONTAINS(error_of("database: x\nmax_body_bytes: 0\n"),
                  "server.yaml:2: max_body_bytes: must be larger than zero");
}

TEST(ServerConfig, UnknownLogLevelListsTheChoices) {
  EXPECT_CONTAINS(error_of("database: x\nlog_level: verbose\n"),
                  "server.yaml:2: log_level: expected one of trace|debug|info|warn|error|off");
}

TEST(ServerConfig, IoThreadsOfZeroIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\nio_threads: 0\n"), "server.yaml:2: io_threads: must be");
}

TEST(ServerConfig, TlsWithoutKeyNamesTheMissingKeyAtTheTlsLine) {
  const temp_file cert("only_cert.pem");
  EXPECT_CONTAINS(error_of("database: x\ntls:\n  cert: " + cert.path() + "\n"),
                  "server.yaml:3: tls.key: required key is missing");
}

TEST(ServerConfig, TlsFileThatDoesNotExistIsRejected) {
  const temp_file key("key_only.pem");
  const auto e =
      error_of("database: x\ntls:\n  cert: /nonexistent/cert.pem\n  key: " + key.path() + "\n");
  EXPECT_CONTAINS(e, "server.yaml:3: tls.cert: file \"/nonexistent/cert.pem\" does not exist");
}

TEST(ServerConfig, TlsThatIsNotAMappingIsRejected) {
  EXPECT_CONTAINS(error_of("database: x\ntls: yes\n"),
                  "server.yaml:2: tls: expected a mapping, got \"yes\"");
}

TEST(ServerConfig, DocumentThatIsNotAMappingIsRejected) {
  EXPECT_CONTAINS(error_of("- database: x\n"), "server.yaml:1: expected a mapping, got a list");
}

TEST(ServerConfig, MalformedYamlReportsTheParserLine) {
  EXPECT_CONTAINS(error_of("database: x\npool_size: [1, 2\nio_threads: 3\n"),
                  "server.yaml:3: invalid YAML:");
  EXPECT_CONTAINS(error_of("database: x\n  pool_size: 4\n"), "server.yaml:2: invalid YAML:");
}

TEST(ServerConfig, LoadingAMissingFileNamesThePath) {
  try {
    load_server_config("/nonexistent/tidesync/server.yaml");
    FAIL() << "loaded a missing file";
  } catch (const config_error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "/nonexistent/tidesync/server.yaml");
  }
}

TEST(ServerConfig, LoadedFileErrorsNameTheFilePath) {
  const auto path = std::filesystem::temp_directory_path() / "tidesync_config_test_server.yaml";
  std::ofstream(path) << "database: x\nio_threads: many\n";
  try {
    load_server_config(path.string());
    ADD_FAILURE() << "accepted io_threads: many";
  } catch (const config_error& e) {
    EXPECT_CONTAINS(std::string(e.what()), path.string() + ":2: io_threads:");
  }
  std::filesystem::remove(path);
}

TEST(ServerConfig, TenantLimitsHaveDefaultsThatStopAFourHundredColumnDeclaration) {
  const auto c = parse_server_config("database: postgresql://db/x\n", "server.yaml");
  EXPECT_EQ(c.tenants.tables_per_database, default_tables_per_database);
  EXPECT_EQ(c.tenants.columns_per_table, default_columns_per_table);
  EXPECT_EQ(c.tenants.columns_per_shared_table, default_columns_per_shared_table);
  EXPECT_LT(c.tenants.columns_per_table, 400);
}

TEST(ServerConfig, TenantLimitsAreRead) {
  const auto c = parse_server_config("database: postgresql://db/x\n"
                                     "tenants:\n"
                                     "  tables_per_database: 20\n"
                                     "  columns_per_table: 30\n"
                                     "  columns_per_shared_table: 40\n",
                                     "server.yaml");
  EXPECT_EQ(c.tenants.tables_per_database, 20);
  EXPECT_EQ(c.tenants.columns_per_table, 30);
  EXPECT_EQ(c.tenants.columns_per_shared_table, 40);
}

TEST(ServerConfig, ASmallSharedColumnLimitAlsoBoundsTheDefaultPerTableLimit) {
  const auto c = parse_server_config(
      "database: postgresql://db/x\ntenants:\n  columns_per_shared_table: 50\n", "server.yaml");
  EXPECT_EQ(c.tenants.columns_per_table, 50);
}

TEST(ServerConfig, TenantLimitsOutOfRangeNameTheKeyAndLine) {
  EXPECT_CONTAINS(error_of("database: x\ntenants:\n  columns_per_table: 0\n"),
                  "server.yaml:3: tenants.columns_per_table:");
  EXPECT_CONTAINS(error_of("database: x\ntenants:\n  columns_per_shared_table: 1599\n"),
                  "server.yaml:3: tenants.columns_per_shared_table:");
  EXPECT_CONTAINS(
      error_of("database: x\ntenants:\n  columns_per_shared_table: 10\n  columns_per_table: 11\n"),
      "server.yaml:4: tenants.columns_per_table:");
  EXPECT_CONTAINS(error_of("database: x\ntenants:\n  tables: 3\n"), "tenants.tables");
}
