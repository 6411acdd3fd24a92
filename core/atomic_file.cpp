// Atomic file writes and output-path probes; see atomic_file.h. POSIX calls throughout: the
// guarantees (fsync of the file, then of its folder after the rename) are the system's, not the
// C++ library's.
#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "error.h"

namespace ember {
namespace {

namespace fs = std::filesystem;

// The folder a path's file lives in ("." for a bare name).
std::string folder_of(const std::string& path) {
  std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// A temporary name next to `path`, unique within this process and across processes.
std::string temporary_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

// The open file descriptor of a temporary file, closed (and the file removed unless kept) on
// every way out of write_file_atomically.
struct Temporary {
  std::string name;
  int fd = -1;
  bool keep = false;
  ~Temporary() {
    if (fd >= 0) ::close(fd);
    if (!keep) ::unlink(name.c_str());
  }
};

[[noreturn]] void fail_call(std::string_view op, const std::string& path, const char* call,
                            const std::string& on, int err) {
  fail(op, ": cannot write '", path, "': ", call, "('", on, "') failed: ", std::strerror(err));
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes, std::string_view op) {
  if (path.empty()) fail(op, ": the output path is empty");
  Temporary tmp{temporary_name(path)};
  tmp.fd = ::open(tmp.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (tmp.fd < 0) {
    tmp.keep = true;  // nothing was created
    fail_call(op, path, "open", tmp.name, errno);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(tmp.fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail_call(op, path, "write", tmp.name, w < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(w);
  }
  if (::fsync(tmp.fd) != 0) fail_call(op, path, "fsync", tmp.name, errno);
  int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail_call(op, path, "close", tmp.name, errno);
  if (std::rename(tmp.name.c_str(), path.c_str()) != 0)
    fail_call(op, path, "rename", tmp.name + "' to '" + path, errno);
  tmp.keep = true;  // it is `path` now
  // The rename is an entry in the folder: without this fsync a crash may still lose it.
  std::string folder = folder_of(path);
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail_call(op, path, "open", folder, errno);
  int synced = ::fsync(dir), err = errno;
  ::close(dir);
  if (synced != 0 && err != EINVAL) fail_call(op, path, "fsync", folder, err);
}

void check_writable(const std::string& path, std::string_view what) {
  if (path.empty()) fail(what, ": the output path is empty");
  std::error_code ec;
  if (fs::is_directory(path, ec))
    fail(what, ": '", path, "' is a folder; give a file name inside it");
  std::string folder = folder_of(path);
  if (!fs::is_directory(folder, ec))
    fail(what, ": cannot write '", path, "': the folder '", folder, "' does not exist");
  std::string probe = temporary_name(path);
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(what, ": cannot write '", path, "': creating a file in '", folder,
         "' failed: ", std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace ember
