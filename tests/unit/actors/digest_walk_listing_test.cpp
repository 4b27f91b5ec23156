#include "actors/digest_walk.hpp"

#include "protocol/content_digest.hpp"
#include "tests/unit/actors/fakes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>

namespace tidesync::testing {
namespace {

using protocol::column_type;

/// The cloud's copy of `(id bigint, note text, tidesync_version bigint)`,
/// answering digest requests as postgres_store::digests does.
class fake_cloud {
public:
  std::map<std::int64_t, fake_row> rows;
  int listing_pages = 0;
  std::size_t largest_page = 0;

  protocol::digest_answer answer(const protocol::digest_request& request) {
    protocol::digest_answer out;
    out.columns = request.columns;
    if (request.list) {
      list(*request.list, out);
      return out;
    }
    for (const auto& range : request.ranges) {
      protocol::row_digest digest;
      for (const auto& [id, row] : rows)
        if (within(id, range))
          add(digest, id, row);
      auto count = digest.rows();
      out.ranges.push_back({count, digest.finish()});
    }
    return out;
  }

private:
  static std::int64_t id_of(const protocol::key_text& key) { return std::stoll(key.at(0)); }

  static bool within(std::int64_t id, const protocol::key_range& range) {
    return (!range.from || id >= id_of(*range.from)) && (!range.to || id < id_of(*range.to));
  }

  static void add(protocol::row_digest& digest, std::int64_t id, const fake_row& row) {
    auto id_text = std::to_string(id);
    auto version = std::to_string(row.version);
    digest.add_cell(id_text, column_type::bigint);
    digest.add_cell(row.note, column_type::text);
    digest.add_cell(version, column_type::bigint);
    digest.end_row();
  }

  void list(const protocol::digest_request::row_list& list, protocol::digest_answer& out) {
    ++listing_pages;
    for (const auto& [id, row] : rows) {
      if (!within(id, list.range) || (list.after && id <= id_of(*list.after)))
        continue;
      if (static_cast<std::int64_t>(out.rows.size()) == list.limit) {
        out.next = out.rows.back().key;
        break;
      }
      auto id_text = std::to_string(id);
      auto version = std::to_string(row.version);
      std::vector<std::optional<std::string_view>> cells{id_text, row.note, version};
      std::vector<column_type> types{column_type::bigint, column_type::text, column_type::bigint};
      out.rows.push_back({{id_text}, protocol::single_row_digest(cells, types)});
    }
    largest_page = std::max(largest_page, out.rows.size());
  }
};

class DigestWalkListing : public ::testing::Test {
protected:
  DigestWalkListing()
      : site_(empty_items_table()), source_(site_),
        schema_(source_.describe("items", {"id"}, "tidesync_version", std::nullopt)) {}

  actors::digest_walk_result walk(actors::digest_walk_settings settings = {}) {
    actors::digest_walk walk{source_, "items", schema_,
                             [this](const protocol::digest_request& request) {
                               return cloud_.answer(request);
                             },
                             settings};
    return walk.run(std::nullopt, 0);
  }

  static std::shared_ptr<fake_site> empty_items_table() {
    auto site = std::make_shared<fake_site>();
    site->tables["items"];
    return site;
  }

  /// The cloud gets exactly the site's rows.
  void copy_site_to_cloud() { cloud_.rows = site_->tables["items"]; }

  std::shared_ptr<fake_site> site_;
  fake_source source_;
  protocol::table_schema schema_;
  fake_cloud cloud_;
};

TEST_F(DigestWalkListing, IdenticalCopiesDifferInNothing) {
  for (int id = 1; id <= 50; ++id)
    site_->put("items", id, "n" + std::to_string(id));
  copy_site_to_cloud();
  auto result = walk({10, 200'000, 5, 4});
  EXPECT_TRUE(result.diff.empty());
  EXPECT_EQ(result.rows_compared, 50);
  EXPECT_EQ(result.cloud_rows, 50);
  EXPECT_EQ(cloud_.listing_pages, 0);
}

TEST_F(DigestWalkListing, FindsMissingExtraAndDifferentRows) {
  for (int id = 1; id <= 50; ++id)
    site_->put("items", id, "n" + std::to_string(id));
  copy_site_to_cloud();
  cloud_.rows.erase(7);
  cloud_.rows[23].note = "changed in the cloud";
  cloud_.rows[1000] = {"only in the cloud", 1};
  auto result = walk({10, 200'000, 5, 4});
  EXPECT_EQ(result.diff.missing, (std::vector<sync::row_key>{{"7"}}));
  EXPECT_EQ(result.diff.different, (std::vector<sync::row_key>{{"23"}}));
  EXPECT_EQ(result.diff.extra, (std::vector<sync::row_key>{{"1000"}}));
}

TEST_F(DigestWalkListing, ManyExtraCloudRowsInOneLeafAreListedAPageAtATime) {
  for (int id = 1; id <= 5; ++id)
    site_->put("items", id, "n" + std::to_string(id));
  copy_site_to_cloud();
  cloud_.rows.erase(3);
  for (int id = 100; id < 25'100; ++id)
    cloud_.rows[id] = {"behind the API's back", 1};
  auto result = walk({10'000, 200'000, 1'000, 16});
  EXPECT_EQ(result.diff.extra.size(), 25'000u);
  EXPECT_EQ(result.diff.missing, (std::vector<sync::row_key>{{"3"}}));
  EXPECT_TRUE(result.diff.different.empty());
  EXPECT_EQ(cloud_.largest_page, 1'000u);
  EXPECT_EQ(cloud_.listing_pages, 26);
}

} // namespace
} // namespace tidesync::testing
