#include "actors/digest_walk.hpp"

#include "actors/blocking_pool.hpp"

#include "protocol/cell_check.hpp"
#include "protocol/content_digest.hpp"

#include <algorithm>
#include <future>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

namespace tidesync::actors {

namespace {

std::size_t index_of(const protocol::table_schema& schema, const std::string& name) {
  for (std::size_t i = 0; i < schema.columns.size(); ++i)
    if (schema.columns[i].name == name)
      return i;
  throw std::runtime_error("the server digests column " + name + ", which the site table lacks");
}

std::vector<std::optional<std::string_view>> views_of(const storage::text_row& row,
                                                      const std::vector<std::size_t>& index) {
  std::vector<std::optional<std::string_view>> out;
  out.reserve(index.size());
  for (auto i : index)
    out.push_back(row[i] ? std::optional<std::string_view>{*row[i]} : std::nullopt);
  return out;
}

} // namespace

digest_walk::digest_walk(storage::source& source, std::string table,
                         const protocol::table_schema& schema, digest_call call,
                         digest_walk_settings settings, blocking_pool* calls)
  : source_(source), table_(std::move(table)), schema_(schema), call_(std::move(call)),
    settings_(settings), calls_(calls) {
  std::vector<std::string> names;
  for (const auto& column : schema_.columns)
    names.push_back(column.name);
  use_columns(names);
  for (const auto& key : schema_.key) {
    key_index_.push_back(index_of(schema_, key));
    key_types_.push_back(schema_.columns[key_index_.back()].type);
  }
}

void digest_walk::use_columns(const std::vector<std::string>& names) {
  columns_ = names;
  column_index_.clear();
  column_types_.clear();
  for (const auto& name : names) {
    column_index_.push_back(index_of(schema_, name));
    column_types_.push_back(schema_.columns[column_index_.back()].type);
  }
}

template <class Walk> digest_walk_result digest_walk::with_columns_settled(Walk walk) {
  // The server digests the columns both sides have; when that is fewer than
  // the site's, the walk starts over over those columns (once).
  auto result = walk();
  if (!columns_changed_)
    return result;
  columns_changed_ = false;
  use_columns(answered_columns_);
  result = walk();
  if (columns_changed_)
    throw std::runtime_error("the server keeps changing the digested columns of " + table_);
  return result;
}

digest_walk_result digest_walk::run(const std::optional<storage::key_cells>& from,
                                    std::int64_t max_rows) {
  return with_columns_settled([&] {
    digest_walk_result result;
    // The site's read goes on while the server digests the ranges already
    // read: one request in flight, so the walk takes about as long as the
    // slower side's read, not the sum of both.
    std::vector<local_range> batch;
    std::int64_t batch_rows = 0;
    std::future<void> in_flight;
    auto answer = std::make_shared<compared>();
    // A read that fails while a request is out waits for it: it uses this walk.
    unwind_wait unwind_guard{in_flight};
    std::vector<differing_range> differing;
    auto collect = [&] {
      if (!in_flight.valid())
        return;
      std::exchange(in_flight, {}).get();  // rethrows the request's failure
      result.cloud_rows += answer->cloud_rows;
      std::move(answer->differing.begin(), answer->differing.end(),
                std::back_inserter(differing));
      *answer = {};
    };
    auto send = [&] {
      collect();
      auto job = [this, answer, ranges = std::move(batch)] {
        answer->differing = compare(ranges, answer->cloud_rows);
      };
      in_flight = calls_ != nullptr ? calls_->submit(std::move(job))
                                    : std::async(std::launch::async, std::move(job));
      batch.clear();
      batch_rows = 0;
    };
    read_ranges({from, std::nullopt}, settings_.range_rows, max_rows, result.next,
                [&](local_range&& range) {
                  result.rows_compared += range.count;
                  ++result.ranges_compared;
                  if (!batch.empty() && (batch_rows + range.count > settings_.rows_per_request ||
                                         batch.size() == protocol::max_digest_ranges))
                    send();
                  batch_rows += range.count;
                  batch.push_back(std::move(range));
                });
    if (!batch.empty())
      send();
    collect();
    if (!columns_changed_)
      resolve_all(differing, result);
    return result;
  });
}

digest_walk_result digest_walk::run_ranges(const std::vector<protocol::key_range>& ranges) {
  return with_columns_settled([&] {
    digest_walk_result result;
    for (const auto& bounds : ranges) {
      std::optional<storage::key_cells> next;
      auto local = read_ranges(bounds, std::numeric_limits<std::int64_t>::max(), 0, next);
      result.rows_compared += local.front().count;
      ++result.ranges_compared;
      auto differing = compare(local, result.cloud_rows);
      if (columns_changed_)
        return result;
      resolve_all(differing, result);
    }
    return result;
  });
}

std::vector<digest_walk::local_range>
digest_walk::read_ranges(const protocol::key_range& bounds, std::int64_t range_rows,
                         std::int64_t max_rows, std::optional<storage::key_cells>& next) {
  std::vector<local_range> ranges;
  read_ranges(bounds, range_rows, max_rows, next,
              [&](local_range&& range) { ranges.push_back(std::move(range)); });
  return ranges;
}

void digest_walk::read_ranges(const protocol::key_range& bounds, std::int64_t range_rows,
                              std::int64_t max_rows, std::optional<storage::key_cells>& next,
                              const std::function<void(local_range&&)>& emit) {
  protocol::row_digest digest;
  std::int64_t rows_read = 0;
  local_range current{{bounds.from, std::nullopt}, 0, {}};
  auto close = [&](std::optional<storage::key_cells> to) {
    current.range.to = std::move(to);
    current.count = digest.rows();
    current.digest = digest.finish();
    emit(std::move(current));
  };
  source_.scan_key_range(table_, schema_, bounds.from, bounds.to, [&](const storage::text_row& row) {
    // A range ends where a row's key can travel as a bound; a key the server
    // could not read (a row held back at the site) stays inside the range.
    if (digest.rows() >= range_rows && is_encodable(key_of(row))) {
      auto key = key_of(row);
      close(key);
      if (max_rows > 0 && rows_read >= max_rows) {
        next = key;
        return false;
      }
      current = local_range{{key, std::nullopt}, 0, {}};
    }
    for (std::size_t i = 0; i < column_index_.size(); ++i) {
      const auto& cell = row[column_index_[i]];
      digest.add_cell(cell ? std::optional<std::string_view>{*cell} : std::nullopt,
                      column_types_[i]);
    }
    digest.end_row();
    ++rows_read;
    return true;
  });
  if (!next)
    close(bounds.to);
}

std::vector<digest_walk::differing_range>
digest_walk::compare(const std::vector<local_range>& ranges, std::int64_t& cloud_rows) {
  std::vector<differing_range> differing;
  std::size_t first = 0;
  while (first < ranges.size() && !columns_changed_) {
    protocol::digest_request request;
    request.columns = columns_;
    std::int64_t rows = 0;
    auto last = first;
    while (last < ranges.size() && request.ranges.size() < protocol::max_digest_ranges &&
           (request.ranges.empty() || rows + ranges[last].count <= settings_.rows_per_request)) {
      rows += ranges[last].count;
      request.ranges.push_back(ranges[last++].range);
    }
    auto answer = call_(request);
    if (answer.columns != columns_) {
      // Applied between walks: a read may be under way on another thread.
      answered_columns_ = answer.columns;
      columns_changed_ = true;
      break;
    }
    if (answer.ranges.size() != request.ranges.size())
      throw std::runtime_error("the server answered " + std::to_string(answer.ranges.size()) +
                               " digests for " + std::to_string(request.ranges.size()) +
                               " ranges");
    for (std::size_t i = 0; i < answer.ranges.size(); ++i) {
      const auto& local = ranges[first + i];
      cloud_rows += answer.ranges[i].count;
      if (answer.ranges[i].count != local.count || answer.ranges[i].digest != local.digest)
        differing.push_back({local.range, local.count, answer.ranges[i].count});
    }
    first = last;
  }
  return differing;
}

void digest_walk::resolve_all(const std::vector<differing_range>& ranges,
                              digest_walk_result& result) {
  for (const auto& range : ranges) {
    result.differing.push_back(range.range);
    resolve(range, result.diff);
  }
}

void digest_walk::resolve(const differing_range& range, sync::content_diff& diff) {
  if (range.cloud_count == 0) {
    // Nothing there to bisect against: every site row of the range is missing.
    sync::append(diff, all_missing(range.range));
    return;
  }
  if (range.site_count <= settings_.leaf_rows) {
    sync::append(diff, compare_rows(range.range));
    return;
  }
  auto part_rows = (range.site_count + settings_.fan_out - 1) / settings_.fan_out;
  std::optional<storage::key_cells> next;
  auto parts = read_ranges(range.range, part_rows, 0, next);
  if (parts.size() < 2) {
    // No key inside the range can bound a smaller one: compare its rows.
    sync::append(diff, compare_rows(range.range));
    return;
  }
  std::int64_t cloud_rows = 0;
  for (const auto& part : compare(parts, cloud_rows)) {
    if (columns_changed_)
      return;
    resolve(part, diff);
  }
}

sync::content_diff digest_walk::compare_rows(const protocol::key_range& range) {
  // The site has at most leaf_rows rows here, the cloud any number (rows
  // written behind the API's back): its listing is compared a page at a
  // time, so memory holds the site's rows, one page and the keys found.
  auto site = site_rows(range);
  sync::content_diff diff;
  protocol::digest_request request;
  request.columns = columns_;
  request.list = protocol::digest_request::row_list{range, std::nullopt, settings_.leaf_rows};
  do {
    auto answer = call_(request);
    sync::digested_rows page;
    sync::digested_rows met;  // the site's rows this page has too
    for (auto& row : answer.rows) {
      std::vector<std::optional<std::string_view>> key_cells(row.key.begin(), row.key.end());
      auto canonical = protocol::canonical_key(key_cells, key_types_);
      if (auto found = site.extract(canonical))
        met.insert(std::move(found));
      page.emplace(std::move(canonical),
                   sync::digested_row{std::move(row.key), std::move(row.digest)});
    }
    sync::append(diff, sync::diff_rows(met, page));
    request.list->after = answer.next;
  } while (request.list->after);
  // What no page had is missing in the cloud.
  sync::append(diff, sync::diff_rows(site, {}));
  return diff;
}

sync::content_diff digest_walk::all_missing(const protocol::key_range& range) {
  sync::content_diff diff;
  source_.scan_key_range(table_, schema_, range.from, range.to, [&](const storage::text_row& row) {
    diff.missing.push_back(key_of(row));
    return true;
  });
  return diff;
}

sync::digested_rows digest_walk::site_rows(const protocol::key_range& range) {
  sync::digested_rows rows;
  source_.scan_key_range(table_, schema_, range.from, range.to, [&](const storage::text_row& row) {
    auto key = key_of(row);
    std::vector<std::optional<std::string_view>> key_cells(key.begin(), key.end());
    auto canonical = protocol::canonical_key(key_cells, key_types_);
    auto digest = protocol::single_row_digest(views_of(row, column_index_), column_types_);
    rows.emplace(std::move(canonical), sync::digested_row{std::move(key), std::move(digest)});
    return true;
  });
  return rows;
}

bool digest_walk::is_encodable(const storage::key_cells& key) const {
  for (std::size_t i = 0; i < key.size(); ++i)
    if (protocol::pg_text_refusal(key[i], key_types_[i]))
      return false;
  return true;
}

storage::key_cells digest_walk::key_of(const storage::text_row& row) const {
  storage::key_cells key;
  key.reserve(key_index_.size());
  for (auto i : key_index_)
    key.push_back(row[i].value_or(""));
  return key;
}

} // namespace tidesync::actors
