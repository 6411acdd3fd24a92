// Writing files so that a reader never sees half of one: every file ember writes (checkpoints,
// PNG pictures, IDX datasets, CSV logs, plots, traces) goes through write_file_atomically, and
// programs check their output paths with check_writable before they start work.
// Read next: safetensors.h, the checkpoint format written with it.
#pragma once

#include <string>
#include <string_view>

namespace ember {

/// Writes `bytes` to `path` so that `path` holds either its old content or all of the new: the
/// bytes go to a temporary file in the same folder (`<path>.tmp.<pid>.<n>`), which is fsynced
/// and renamed over `path`, and then the folder is fsynced so that the rename survives a crash.
/// A failure removes the temporary file and throws an ember::Error naming `op`, the path and
/// the system call that failed (`op` is the caller's name for the operation, as "save_png").
void write_file_atomically(const std::string& path, std::string_view bytes,
                           std::string_view op = "write_file_atomically");

/// Throws an ember::Error naming `what` (a flag, say "--save") unless a file can be created at
/// `path`: its folder exists and accepts a new file (probed by creating and removing one), and
/// `path` itself is not a folder. Programs call it for every output before the first batch.
void check_writable(const std::string& path, std::string_view what);

}  // namespace ember
