// docs/tour: every code block of every chapter is checked against the code it shows, and every
// quoted output against what the program prints now, so the tour breaks the build when the code
// moves under it. A chapter marks each block on the line before it:
//   <!-- excerpt: examples/tour/FILE.cpp#REGION -->  a ```cpp block: the lines between
//        "// tour:begin REGION" and "// tour:end REGION" in FILE, their common indent removed;
//   <!-- program: examples/tour/FILE.cpp -->         a ```cpp block: the whole file;
//   <!-- output: PROGRAM ARGS -->                    a ```text block: lines the program
//        (built from examples/tour/PROGRAM.cpp) must print, in this order;
//   <!-- run: PROGRAM -->                            a ```sh block: commands that run it,
//        each naming build/examples/tour/PROGRAM.
// A code block without a marker fails the test.
#include <filesystem>
#include <fstream>
#include <regex>

#include "programs.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string source(const std::string& path) {
  return ember::testing::read_bytes(fs::path(EMBER_SOURCE_DIR) / path);
}

// The lines of REGION in `path`, without their common indent.
std::vector<std::string> region(const std::string& path, const std::string& name) {
  std::vector<std::string> out;
  bool inside = false;
  for (const std::string& line : lines_of(source(path))) {
    if (line.find("// tour:end " + name) != std::string::npos) inside = false;
    if (inside) out.push_back(line);
    if (line.find("// tour:begin " + name) != std::string::npos) inside = true;
  }
  size_t indent = std::string::npos;
  for (const std::string& line : out)
    if (!line.empty()) indent = std::min(indent, line.find_first_not_of(' '));
  for (std::string& line : out) line = line.empty() ? line : line.substr(indent);
  return out;
}

struct Block {
  std::string kind, target;  // from the marker
  std::vector<std::string> lines;
  std::string where;  // chapter:line
};

std::vector<Block> blocks(const fs::path& chapter) {
  std::regex marker(R"(<!-- (excerpt|program|output|run): (.+) -->)");
  std::vector<Block> found;
  auto lines = lines_of(ember::testing::read_bytes(chapter));
  std::optional<Block> pending;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, marker)) {
      pending = Block{m[1], m[2], {}, chapter.filename().string() + ":" + std::to_string(i + 1)};
      continue;
    }
    if (lines[i].rfind("```", 0) != 0) continue;
    Block block = pending.value_or(
        Block{"unmarked", "", {}, chapter.filename().string() + ":" + std::to_string(i + 1)});
    for (++i; i < lines.size() && lines[i].rfind("```", 0) != 0; ++i)
      block.lines.push_back(lines[i]);
    found.push_back(block);
    pending.reset();
  }
  return found;
}

}  // namespace

TEST_CASE("the tour's code blocks are the code, and its quoted outputs what the programs print") {
  std::vector<fs::path> chapters;
  for (const auto& entry : fs::directory_iterator(fs::path(EMBER_SOURCE_DIR) / "docs" / "tour"))
    if (entry.path().extension() == ".md") chapters.push_back(entry.path());
  REQUIRE(!chapters.empty());
  int checked = 0;
  for (const fs::path& chapter : chapters)
    for (const Block& block : blocks(chapter)) {
      CAPTURE(block.where);
      ++checked;
      if (block.kind == "unmarked") {
        FAIL_CHECK("a code block without an excerpt, program or output marker");
      } else if (block.kind == "excerpt") {
        auto hash = block.target.find('#');
        REQUIRE(hash != std::string::npos);
        auto expected = region(block.target.substr(0, hash), block.target.substr(hash + 1));
        CHECK_MESSAGE(!expected.empty(), "no region ", block.target);
        CHECK(block.lines == expected);
      } else if (block.kind == "program") {
        CHECK(block.lines == lines_of(source(block.target)));
      } else if (block.kind == "run") {
        CHECK(fs::exists(fs::path(EMBER_SOURCE_DIR) / "examples/tour" / (block.target + ".cpp")));
        for (const std::string& line : block.lines)
          CHECK(line.find("build/examples/tour/" + block.target) != std::string::npos);
      } else {  // output: the quoted lines appear in the program's output, in order
        auto space = block.target.find(' ');
        std::string program = block.target.substr(0, space);
        std::string args = space == std::string::npos ? "" : block.target.substr(space + 1);
        std::string out;
        REQUIRE(ember::testing::run_example("tour/" + program, args, &out) == 0);
        size_t at = 0;
        for (const std::string& line : block.lines) {
          CAPTURE(line);
          at = out.find(line, at);
          CHECK_MESSAGE(at != std::string::npos, "not printed (in this order) by ", program);
          if (at == std::string::npos) break;
          at += line.size();
        }
      }
    }
  CHECK(checked > 0);
}
