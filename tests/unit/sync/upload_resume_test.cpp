#include "sync/upload_resume.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

upload_resume sample() {
  upload_resume resume;
  resume.acknowledged = {42, {"a b:c", std::string("\0\n7", 3), ""}};
  resume.remote.count = 1000;
  resume.remote.max_version = 42;
  return resume;
}

TEST(UploadResume, ReadsBackWhatItWroteWhateverBytesTheKeyHolds) {
  auto resume = sample();
  EXPECT_EQ(upload_resume::from_string(resume.to_string()), resume);
  resume.remote.max_version.reset();
  resume.acknowledged.key.clear();
  EXPECT_EQ(upload_resume::from_string(resume.to_string()), resume);
}

TEST(UploadResume, RefusesTextItDidNotWrite) {
  auto text = sample().to_string();
  for (const auto& bad : {std::string{}, std::string{"v2 1 2 3 0"}, text.substr(0, text.size() - 1),
                          text + " ", std::string{"v1 1 2 3 1 9:abc"},
                          std::string{"v1 x 2 3 0"}, std::string{"v1 1 2 3 -1"}})
    EXPECT_FALSE(upload_resume::from_string(bad)) << bad;
}

TEST(UploadResume, HoldsWhileTheServerHoldsAtLeastWhatItHeldThen) {
  auto resume = sample();
  protocol::table_version remote{1000, 42, std::nullopt};
  EXPECT_EQ(resume_position(resume, remote), resume.acknowledged);
  remote.count = 1008;  // the page after it arrived before the restart
  remote.max_version = 43;
  EXPECT_EQ(resume_position(resume, remote), resume.acknowledged);
}

TEST(UploadResume, IsVoidOnceTheServerHoldsLess) {
  auto resume = sample();
  EXPECT_FALSE(resume_position(resume, {999, 42, std::nullopt}));  // rows lost, or deleted
  EXPECT_FALSE(resume_position(resume, {1000, 41, std::nullopt}));
  EXPECT_FALSE(resume_position(resume, {}));                       // a new, empty store
}

} // namespace
} // namespace tidesync::sync
