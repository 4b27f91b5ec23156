#include "sync/content_diff.hpp"

namespace tidesync::sync {

content_diff diff_rows(const digested_rows& site, const digested_rows& cloud) {
  content_diff diff;
  // Both maps are ordered by canonical key: one merge walk.
  auto s = site.begin();
  auto c = cloud.begin();
  while (s != site.end() || c != cloud.end()) {
    if (c == cloud.end() || (s != site.end() && s->first < c->first)) {
      diff.missing.push_back(s->second.key);
      ++s;
    } else if (s == site.end() || c->first < s->first) {
      diff.extra.push_back(c->second.key);
      ++c;
    } else {
      if (s->second.digest != c->second.digest)
        diff.different.push_back(s->second.key);
      ++s;
      ++c;
    }
  }
  return diff;
}

void append(content_diff& into, content_diff&& more) {
  auto move_all = [](std::vector<row_key>& to, std::vector<row_key>& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  move_all(into.missing, more.missing);
  move_all(into.extra, more.extra);
  move_all(into.different, more.different);
}

} // namespace tidesync::sync
