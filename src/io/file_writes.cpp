#include "io/file_writes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace cdae::io {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() can report a delayed write error (NFS), so callers that wrote
  // check it instead of leaving it to the destructor.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

void fsync_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot open '" + path + "' to sync it: " + errno_text(errno));
  if (::fsync(fd.get()) != 0) throw std::runtime_error("cannot sync '" + path + "': " + errno_text(errno));
}

// Makes the rename itself durable. Some filesystems refuse fsync on a
// directory (EINVAL); the data is already safe then, so that is not an error.
void fsync_directory(const fs::path& dir) {
  const std::string name = dir.empty() ? std::string(".") : dir.string();
  Fd fd(::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot open directory '" + name + "' to sync it: " + errno_text(errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS) {
    throw std::runtime_error("cannot sync directory '" + name + "': " + errno_text(errno));
  }
}

// A hard link costs nothing and is atomic; a copy is the fallback for
// filesystems without hard links.
void keep_as_previous(const std::string& final_path) {
  std::error_code ec;
  if (!fs::exists(final_path, ec)) return;
  const std::string prev = final_path + ".prev";
  fs::remove(prev, ec);
  if (ec) throw std::runtime_error("cannot remove old '" + prev + "': " + ec.message());
  fs::create_hard_link(final_path, prev, ec);
  if (!ec) return;
  fs::copy_file(final_path, prev, fs::copy_options::overwrite_existing, ec);
  if (ec) throw std::runtime_error("cannot keep '" + final_path + "' as '" + prev + "': " + ec.message());
}

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write to '" + path + "': " + errno_text(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void write_atomically(const std::string& final_path, const std::function<void(const std::string&)>& write,
                      bool keep_previous) {
  // The pid keeps concurrent writers (MPI ranks sharing a directory) apart.
  const std::string tmp_path = final_path + ".tmp." + std::to_string(::getpid());
  try {
    write(tmp_path);
    std::error_code ec;
    if (!fs::is_regular_file(tmp_path, ec)) {
      throw std::runtime_error("writing '" + final_path + "' produced no file '" + tmp_path + "'");
    }
    fsync_file(tmp_path);
    if (keep_previous) keep_as_previous(final_path);
    fs::rename(tmp_path, final_path, ec);
    if (ec) throw std::runtime_error("cannot rename '" + tmp_path + "' to '" + final_path + "': " + ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp_path, ignored);
    throw;
  }
  fsync_directory(fs::path(final_path).parent_path());
}

void write_text_atomically(const std::string& final_path, const std::string& content) {
  write_atomically(final_path, [&content](const std::string& tmp_path) {
    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw std::runtime_error("cannot create '" + tmp_path + "': " + errno_text(errno));
    write_all(fd.get(), content.data(), content.size(), tmp_path);
    if (fd.close() != 0) throw std::runtime_error("cannot write to '" + tmp_path + "': " + errno_text(errno));
  });
}

void append_line(const std::string& path, const std::string& line) {
  // One write() of the whole line on an O_APPEND descriptor: lines from
  // several processes appending to the same log do not interleave.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw std::runtime_error("cannot open '" + path + "' for appending: " + errno_text(errno));
  const std::string text = line + '\n';
  write_all(fd.get(), text.data(), text.size(), path);
  if (fd.close() != 0) throw std::runtime_error("cannot write to '" + path + "': " + errno_text(errno));
}

void ensure_writable_directory(const std::string& dir) {
  auto fail = [&dir](const std::string& reason) {
    throw std::runtime_error("output directory '" + dir + "' is not writable: " + reason);
  };
  const fs::path path = dir.empty() ? fs::path(".") : fs::path(dir);
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail(ec.message());
  if (!fs::is_directory(path, ec)) fail("it is not a directory");
  // Permission bits do not tell the whole story (read-only mounts, quotas,
  // ACLs, root squash), so actually create a file.
  const std::string probe = (path / (".cdae_write_probe." + std::to_string(::getpid()))).string();
  Fd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(errno_text(errno));
  fd.close();
  if (::unlink(probe.c_str()) != 0) fail("cannot remove probe file: " + errno_text(errno));
}

}  // namespace cdae::io
