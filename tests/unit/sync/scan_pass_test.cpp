// One full differencing pass, driven the way a table actor drives it, over a
// local table and a remote copy held in memory: after the pass the copy must
// equal the table, whatever the batch size.
#include "sync/manifest_diff.hpp"
#include "sync/scan_cursor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>

namespace tidesync::sync {
namespace {

using protocol::column_type;

using table = std::map<std::int64_t, std::int64_t>; // key → version

constexpr std::uint32_t seed = 20240229;
constexpr std::int64_t table_rows = 300;
constexpr std::int64_t rows_per_transaction = 7;

const position_order order({column_type::bigint});

std::vector<row_position> positions(const table& rows) {
  std::vector<row_position> result;
  for (const auto& [key, version] : rows)
    result.push_back({version, {std::to_string(key)}});
  std::sort(result.begin(), result.end(), order);
  return result;
}

/// The next `size` rows after `after`; `local` is already in position order.
std::vector<row_position> read_batch(const std::vector<row_position>& local,
                                     const std::optional<row_position>& after, std::size_t size) {
  const auto first =
      after ? std::upper_bound(local.begin(), local.end(), *after, order) : local.begin();
  const auto available = static_cast<std::size_t>(local.end() - first);
  return {first, first + static_cast<std::ptrdiff_t>(std::min(size, available))};
}

std::vector<row_position> read_manifest(const table& remote, const version_range& range) {
  std::vector<row_position> entries;
  for (auto& position : positions(remote))
    if ((!range.min_version || position.version >= *range.min_version) &&
        (!range.max_version || position.version <= *range.max_version))
      entries.push_back(position);
  return entries;
}

void repair(table& remote, const manifest_diff& diff) {
  for (const auto& key : diff.remote_deletes)
    remote.erase(std::stoll(key.front()));
  for (const auto& row : diff.uploads)
    remote[std::stoll(row.key.front())] = row.version;
}

/// A remote copy that lost rows, kept deleted ones, holds stale versions and
/// rows from a version the site never reached.
table damaged_copy(const table& local, std::mt19937& random) {
  table remote = local;
  std::uniform_int_distribution<int> damage(0, 9);
  for (auto& [key, version] : local) {
    switch (damage(random)) {
    case 0:
      remote.erase(key);
      break;
    case 1:
      remote[key] = version - 3;
      break;
    case 2:
      remote[key] = version + 5;
      break;
    case 3:
      remote[key + table_rows * 10] = version;
      break;
    default:
      break;
    }
  }
  remote[-1] = table_rows; // beyond the site's last version
  return remote;
}

table site_table() {
  table local;
  for (std::int64_t key = 0; key < table_rows; ++key)
    local[key * 3 % table_rows] = key / rows_per_transaction;
  return local;
}

void run_one_pass(const table& site, table& remote, std::size_t batch_size) {
  const auto local = positions(site);
  scan_cursor cursor;
  bool wrapped = false;
  while (!wrapped) {
    const auto batch = read_batch(local, cursor.window_start(), batch_size);
    const auto window = cursor.window_for(batch, batch_size, order);
    const auto manifest = read_manifest(remote, manifest_range(window));
    repair(remote, diff_manifest(batch, manifest, window, order));
    wrapped = cursor.advance(window);
  }
}

TEST(ScanPass, OnePassRepairsEveryDifferenceAtAnyBatchSize) {
  for (std::size_t batch_size : {1, 2, 3, 7, 50, 299, 300, 301, 1000}) {
    std::mt19937 random(seed);
    const auto local = site_table();
    auto remote = damaged_copy(local, random);
    ASSERT_NE(remote, local);
    run_one_pass(local, remote, batch_size);
    EXPECT_EQ(remote, local) << "batch size " << batch_size;
  }
}

TEST(ScanPass, EmptySiteTableEmptiesTheRemoteCopy) {
  table remote{{1, 1}, {2, 1}, {3, 9}};
  run_one_pass({}, remote, 2);
  EXPECT_TRUE(remote.empty());
}

TEST(ScanPass, IdenticalCopiesNeedNoChanges) {
  const auto site = site_table();
  const auto local = positions(site);
  auto remote = site;
  scan_cursor cursor;
  for (bool wrapped = false; !wrapped;) {
    const auto batch = read_batch(local, cursor.window_start(), 16);
    const auto window = cursor.window_for(batch, 16, order);
    EXPECT_TRUE(
        diff_manifest(batch, read_manifest(remote, manifest_range(window)), window, order).empty());
    wrapped = cursor.advance(window);
  }
}

} // namespace
} // namespace tidesync::sync
