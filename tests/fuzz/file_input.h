// The fuzz input as a file, for readers that take a path (IDX through zlib, images through
// stb_image): written to a per-process scratch file on every run.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

inline std::string write_fuzz_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = "/tmp/ember_fuzz_" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}
