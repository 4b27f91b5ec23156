#include "sync/manifest_diff.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using protocol::column_type;

const position_order order({column_type::bigint});

using rows = std::vector<row_position>;
using keys = std::vector<row_key>;

/// The window a batch read from the beginning of the table covers.
scan_window from_start(const rows& batch, std::size_t requested) {
  return window_for_batch(std::nullopt, batch, requested, order);
}

TEST(DiffManifest, IdenticalSidesNeedNothing) {
  const rows local{{1, {"1"}}, {2, {"2"}}, {2, {"3"}}};
  const auto diff = diff_manifest(local, local, from_start(local, 3), order);
  EXPECT_TRUE(diff.empty());
}

TEST(DiffManifest, EmptyRemoteUploadsTheWholeBatch) {
  const rows local{{1, {"1"}}, {2, {"2"}}};
  const auto diff = diff_manifest(local, {}, from_start(local, 2), order);
  EXPECT_EQ(diff.uploads, local);
  EXPECT_TRUE(diff.remote_deletes.empty());
}

TEST(DiffManifest, EmptyLocalBatchDeletesEveryRemoteRowAfterTheCursor) {
  const row_position cursor{5, {"3"}};
  const rows remote{{5, {"3"}}, {5, {"4"}}, {9, {"1"}}};
  const auto window = window_for_batch(cursor, {}, 10, order);
  const auto diff = diff_manifest({}, remote, window, order);
  EXPECT_EQ(diff.remote_deletes, (keys{{"4"}, {"1"}}));
  EXPECT_TRUE(diff.uploads.empty());
}

TEST(DiffManifest, RemoteKeyMissingLocallyIsDeleted) {
  const rows local{{1, {"1"}}, {3, {"3"}}};
  const rows remote{{1, {"1"}}, {2, {"2"}}, {3, {"3"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_EQ(diff.remote_deletes, (keys{{"2"}}));
  EXPECT_TRUE(diff.uploads.empty());
}

TEST(DiffManifest, LocalKeyMissingRemotelyIsUploaded) {
  const rows local{{1, {"1"}}, {2, {"2"}}};
  const rows remote{{1, {"1"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_EQ(diff.uploads, (rows{{2, {"2"}}}));
  EXPECT_TRUE(diff.remote_deletes.empty());
}

TEST(DiffManifest, VersionMismatchUploadsTheLocalRowAndDeletesNothing) {
  const rows local{{1, {"1"}}, {4, {"2"}}};
  const rows remote{{1, {"1"}}, {3, {"2"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_EQ(diff.uploads, (rows{{4, {"2"}}}));
  EXPECT_TRUE(diff.remote_deletes.empty());
}

TEST(DiffManifest, RemoteCopyAtAVersionOutsideTheWindowIsRepairedByUpload) {
  const rows local{{1, {"1"}}, {2, {"2"}}};
  // The manifest range is [.., 2]; key 2 sits remotely at 7, so it never shows up.
  const rows remote{{1, {"1"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_EQ(diff.uploads, (rows{{2, {"2"}}}));
}

TEST(DiffManifest, RowsSharingTheEndVersionBeyondTheBatchEndAreLeftForTheNextBatch) {
  // One transaction wrote keys 1..4 at version 7; the batch of 2 ends at (7, 2).
  const rows local{{7, {"1"}}, {7, {"2"}}};
  const rows remote{{7, {"1"}}, {7, {"2"}}, {7, {"3"}}, {7, {"99"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_TRUE(diff.empty());
}

TEST(DiffManifest, RowsSharingTheStartVersionBeforeTheCursorAreLeftAlone) {
  const row_position cursor{7, {"2"}};
  const rows local{{7, {"3"}}, {8, {"1"}}};
  // The range starts at version 7, so keys 1 and 2 of version 7 come back too.
  const rows remote{{7, {"1"}}, {7, {"2"}}, {7, {"3"}}, {8, {"1"}}};
  const auto diff = diff_manifest(local, remote, window_for_batch(cursor, local, 2, order), order);
  EXPECT_TRUE(diff.empty());
}

TEST(DiffManifest, RemoteRowsBetweenTheCursorAndTheBatchAreDeleted) {
  const row_position cursor{3, {"1"}};
  const rows local{{6, {"1"}}, {6, {"2"}}};
  const rows remote{{4, {"8"}}, {5, {"9"}}, {6, {"1"}}, {6, {"2"}}};
  const auto diff = diff_manifest(local, remote, window_for_batch(cursor, local, 2, order), order);
  EXPECT_EQ(diff.remote_deletes, (keys{{"8"}, {"9"}}));
}

TEST(DiffManifest, RemoteRowsBeyondAShortFinalBatchAreDeletedAtTheEndOfTheTable) {
  const rows local{{5, {"1"}}, {6, {"2"}}};
  const rows remote{{5, {"1"}}, {6, {"2"}}, {6, {"3"}}, {40, {"7"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 10), order);
  EXPECT_EQ(diff.remote_deletes, (keys{{"3"}, {"7"}}));
  EXPECT_TRUE(diff.uploads.empty());
}

TEST(DiffManifest, RemoteRowsBeyondAFullBatchAreNotDeleted) {
  const rows local{{5, {"1"}}, {6, {"2"}}};
  const rows remote{{5, {"1"}}, {6, {"2"}}, {6, {"3"}}, {40, {"7"}}};
  const auto diff = diff_manifest(local, remote, from_start(local, 2), order);
  EXPECT_TRUE(diff.empty());
}

TEST(DiffManifest, KeysMatchByValueNotBySpelling) {
  const rows local{{1, {"7"}}};
  const rows remote{{1, {"07"}}};
  EXPECT_TRUE(diff_manifest(local, remote, from_start(local, 1), order).empty());
}

TEST(DiffManifest, RepeatedRemoteKeysAreDeletedOnce) {
  const rows remote{{1, {"4"}}, {2, {"4"}}};
  const auto diff = diff_manifest({}, remote, scan_window{}, order);
  EXPECT_EQ(diff.remote_deletes, (keys{{"4"}}));
}

TEST(DiffManifest, RepeatedLocalKeysAreUploadedOnce) {
  const rows local{{1, {"4"}}, {1, {"4"}}};
  const auto diff = diff_manifest(local, {}, scan_window{}, order);
  EXPECT_EQ(diff.uploads, (rows{{1, {"4"}}}));
}

TEST(DiffManifest, LocalRowsOutsideTheWindowAreIgnored) {
  const scan_window window{row_position{2, {"1"}}, row_position{3, {"1"}}};
  const rows local{{1, {"1"}}, {3, {"1"}}, {9, {"1"}}};
  const rows remote{{3, {"1"}}};
  EXPECT_TRUE(diff_manifest(local, remote, window, order).empty());
}

TEST(DiffManifest, CompositeKeysMatchOnEveryColumn) {
  const position_order composite({column_type::text, column_type::integer});
  const rows local{{1, {"a", "1"}}, {1, {"a", "2"}}};
  const rows remote{{1, {"a", "1"}}, {1, {"b", "2"}}};
  const auto window = window_for_batch(std::nullopt, local, 5, composite);
  const auto diff = diff_manifest(local, remote, window, composite);
  EXPECT_EQ(diff.remote_deletes, (keys{{"b", "2"}}));
  EXPECT_EQ(diff.uploads, (rows{{1, {"a", "2"}}}));
}

} // namespace
} // namespace tidesync::sync
