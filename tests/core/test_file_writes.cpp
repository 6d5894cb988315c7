#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "io/file_writes.h"
#include "../support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using cdae::io::append_line;
using cdae::io::ensure_writable_directory;
using cdae::io::write_atomically;
using cdae::io::write_text_atomically;
using cdae::testing::read_file;
using cdae::testing::TempDir;
using cdae::testing::write_file;

int count_entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

bool has_temp_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) return true;
  }
  return false;
}

TEST(FileWrites, WriteThenReadBack) {
  TempDir dir;
  const std::string path = dir.file("state.json");
  write_text_atomically(path, "{\"step\": 1}\n");
  EXPECT_EQ(read_file(path), "{\"step\": 1}\n");
  write_text_atomically(path, "second");
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(FileWrites, WriterGetsTempPathBesideTarget) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  std::string seen;
  write_atomically(path, [&](const std::string& tmp) {
    seen = tmp;
    write_file(tmp, "payload");
  });
  EXPECT_EQ(fs::path(seen).parent_path(), fs::path(path).parent_path());
  EXPECT_EQ(seen.rfind(path + ".tmp.", 0), 0u) << seen;
  EXPECT_FALSE(fs::exists(seen));
  EXPECT_EQ(read_file(path), "payload");
}

TEST(FileWrites, ThrowingWriterLeavesOldFileAndNoTemp) {
  TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  write_text_atomically(path, "old content");
  EXPECT_THROW(write_atomically(path,
                                [](const std::string& tmp) {
                                  write_file(tmp, "half-writ");
                                  throw std::runtime_error("disk on fire");
                                }),
               std::runtime_error);
  EXPECT_EQ(read_file(path), "old content");
  EXPECT_FALSE(has_temp_files(dir.path()));
  EXPECT_EQ(count_entries(dir.path()), 1);

  // The writer's own exception propagates unchanged.
  try {
    write_atomically(path, [](const std::string&) { throw std::logic_error("mine"); }, true);
    ADD_FAILURE() << "expected an exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "mine");
  }
  EXPECT_FALSE(fs::exists(path + ".prev")) << "no .prev is made when the write fails";
}

TEST(FileWrites, WriterThatCreatesNothingIsAnError) {
  TempDir dir;
  const std::string path = dir.file("x");
  EXPECT_THROW(write_atomically(path, [](const std::string&) {}), std::runtime_error);
  EXPECT_FALSE(fs::exists(path));
}

TEST(FileWrites, KeepPreviousKeepsOldContent) {
  TempDir dir;
  const std::string path = dir.file("model.h5");
  // Without an existing file there is nothing to keep.
  write_atomically(path, [](const std::string& tmp) { write_file(tmp, "v1"); }, true);
  EXPECT_FALSE(fs::exists(path + ".prev"));
  write_atomically(path, [](const std::string& tmp) { write_file(tmp, "v2"); }, true);
  EXPECT_EQ(read_file(path), "v2");
  EXPECT_EQ(read_file(path + ".prev"), "v1");
  write_atomically(path, [](const std::string& tmp) { write_file(tmp, "v3"); }, true);
  EXPECT_EQ(read_file(path), "v3");
  EXPECT_EQ(read_file(path + ".prev"), "v2");
  // Without keep_previous the old .prev stays as it was.
  write_text_atomically(path, "v4");
  EXPECT_EQ(read_file(path + ".prev"), "v2");
  EXPECT_FALSE(has_temp_files(dir.path()));
}

TEST(FileWrites, AppendLine) {
  TempDir dir;
  const std::string path = dir.file("log.csv");
  append_line(path, "step,loss");
  append_line(path, "1,0.5");
  append_line(path, "");
  EXPECT_EQ(read_file(path), "step,loss\n1,0.5\n\n");
  try {
    append_line(dir.file("missing_dir/log.csv"), "x");
    ADD_FAILURE() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_dir/log.csv"), std::string::npos) << e.what();
  }
}

TEST(FileWrites, EnsureWritableDirectoryCreatesParents) {
  TempDir dir;
  const std::string out = dir.file("a/b/c");
  ensure_writable_directory(out);
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_EQ(count_entries(out), 0) << "the probe file is removed";
  ensure_writable_directory(out);  // existing is fine
}

TEST(FileWrites, UnwritableDirectoryIsReported) {
  TempDir dir;
  const std::string regular = dir.file("plain_file");
  write_file(regular, "x");
  const std::string under = regular + "/sub";
  try {
    ensure_writable_directory(under);
    ADD_FAILURE() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("output directory '" + under + "' is not writable: "), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ensure_writable_directory(regular), std::runtime_error);
}

TEST(FileWrites, ReadOnlyDirectoryIsReportedWhenNotRoot) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write into read-only directories";
  TempDir dir;
  const std::string ro = dir.file("ro");
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_THROW(ensure_writable_directory(ro), std::runtime_error);
  fs::permissions(ro, fs::perms::owner_all);
}

}  // namespace
