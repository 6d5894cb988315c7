// The host-memory settings every cdae executable makes first (app/host_memory.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/host_memory.h"

namespace {

std::string mode_of(const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / "cdae_thp_enabled_test";
  std::ofstream(path) << content;
  const auto mode = cdae::app::transparent_huge_page_mode(path.string());
  std::filesystem::remove(path);
  return mode;
}

TEST(HostMemory, ReadsTheBracketedTransparentHugePageMode) {
  EXPECT_EQ(mode_of("always [madvise] never\n"), "madvise");
  EXPECT_EQ(mode_of("[always] madvise never\n"), "always");
  EXPECT_EQ(mode_of("always madvise [never]\n"), "never");
  EXPECT_EQ(mode_of("garbled\n"), "unknown");
  EXPECT_EQ(cdae::app::transparent_huge_page_mode("/nonexistent/cdae/thp"), "unknown");
}

TEST(HostMemory, AsksLibTorchForHugePagesUnlessTheUserChose) {
  const char* before = std::getenv("THP_MEM_ALLOC_ENABLE");
  const std::string saved = before ? before : "";
  unsetenv("THP_MEM_ALLOC_ENABLE");
  cdae::app::keep_freed_host_memory();
  ASSERT_NE(std::getenv("THP_MEM_ALLOC_ENABLE"), nullptr);
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "1");
  setenv("THP_MEM_ALLOC_ENABLE", "0", 1);
  cdae::app::keep_freed_host_memory();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "0");
  if (before) setenv("THP_MEM_ALLOC_ENABLE", saved.c_str(), 1); else unsetenv("THP_MEM_ALLOC_ENABLE");
}

}  // namespace

TEST(HostMemory, ReadsTheHugePagesOfAMapping) {
  // A mapping that exists (this test's stack) has an AnonHugePages line; an
  // address in no mapping has none.
  int on_stack = 0;
  EXPECT_GE(cdae::app::huge_page_kb_at(&on_stack), 0);
  EXPECT_EQ(cdae::app::huge_page_kb_at(reinterpret_cast<const void*>(std::uintptr_t{16})), -1);
}
