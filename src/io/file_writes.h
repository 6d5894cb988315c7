// Writing files so that no reader sees half a file and no failed write goes
// unnoticed: crash-safe replacement (write a temporary file beside the
// target, fsync it, rename it over the target: a reader sees the old complete
// file or the new one), whole-line appends that do not interleave between
// processes, and output directories checked by actually creating a file.
#pragma once
#include <functional>
#include <string>

namespace cdae::io {

// Calls write(tmp_path), fsyncs tmp_path, renames it to final_path and fsyncs
// the directory. With keep_previous, the file that was at final_path is kept
// as final_path + ".prev" (hard link, taken before the rename). If write
// throws, the temporary file is removed, final_path is untouched, and the
// exception propagates.
void write_atomically(const std::string& final_path,
                      const std::function<void(const std::string& tmp_path)>& write,
                      bool keep_previous = false);

void write_text_atomically(const std::string& final_path, const std::string& content);

// Appends one line (a '\n' is added) and flushes; throws naming the file on failure.
void append_line(const std::string& path, const std::string& line);

// Creates the directory (and parents) and checks that a file can be created
// in it; throws "output directory 'X' is not writable: reason" otherwise.
void ensure_writable_directory(const std::string& dir);

}  // namespace cdae::io
