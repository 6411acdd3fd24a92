// docs/tour: every code block of every chapter is checked against the code it shows, and every
// quoted output against what the program prints now, so the tour breaks the build when the code
// moves under it. A chapter marks each block on the line before it:
//   <!-- excerpt: examples/tour/FILE.cpp#REGION -->  a ```cpp block: the lines between
//        "// tour:begin REGION" and "// tour:end REGION" in FILE, their common indent removed;
//   <!-- program: examples/tour/FILE.cpp -->         a ```cpp block: the whole file;
//   <!-- output: PROGRAM ARGS -->                    a ```text block: lines the program
//        (built from examples/tour/PROGRAM.cpp) must print, in this order;
//   <!-- run: PROGRAM -->                            a ```sh block: commands that run it,
//        each naming build/examples/tour/PROGRAM;
//   <!-- picture: PROGRAM ARGS -->                   an image line ![...](pictures/NAME): the
//        program, run with ARGS, writes NAME, and docs/tour/pictures/NAME is what it wrote. An
//        SVG must be the same bytes; a PNG (drawn from trained weights, which differ in their
//        last bits between BLAS kernels) the same size. The main job's checkpoint in ARGS,
//        build/fashion_mnist.safetensors, is replaced by one trained here on synthetic data.
//   <!-- measured: PROGRAM ARGS -->                  the same for an SVG drawn from timings
//        (a roofline), which no two runs draw alike: the program writes NAME, and
//        docs/tour/pictures/NAME has as many points, lines and labels as what it wrote.
// A code block or image without a marker fails the test. Programs run in a scratch folder.
// After changing the code on purpose: tools/sync_tour.py rewrites the code blocks, and
//   (cd docs/tour/pictures && ../../../build/examples/tour/PROGRAM ARGS) the pictures.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

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
  std::regex marker(R"(<!-- (excerpt|program|output|run|picture|measured): (.+) -->)");
  std::regex image(R"(^!\[[^\]]*\]\(([^)]+)\))");
  std::vector<Block> found;
  auto lines = lines_of(ember::testing::read_bytes(chapter));
  std::optional<Block> pending;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, marker)) {
      pending = Block{m[1], m[2], {}, chapter.filename().string() + ":" + std::to_string(i + 1)};
      continue;
    }
    std::smatch picture;
    if (std::regex_search(lines[i], picture, image)) {
      Block block = pending.value_or(
          Block{"unmarked", "", {}, chapter.filename().string() + ":" + std::to_string(i + 1)});
      if (block.kind == "picture" || block.kind == "measured")
        block.lines.push_back(picture[1]);
      else
        block.kind = "unmarked";
      found.push_back(block);
      pending.reset();
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

// Runs tour programs in one scratch folder, where they write their files, each distinct command
// once: a chapter quotes one run's output in several blocks, and under the sanitizers a run
// takes seconds. The folder starts empty, so a file in it was written by a run of this test.
class TourRuns {
 public:
  explicit TourRuns(fs::path folder) : folder_(std::move(folder)) {}
  const fs::path& folder() const { return folder_; }
  /// The exit code and output of build/examples/tour/PROGRAM ARGS.
  const std::pair<int, std::string>& run(const std::string& program, const std::string& args) {
    auto [it, fresh] = runs_.try_emplace(program + " " + args);
    if (fresh)
      it->second.first = ember::testing::run_example("tour/" + program, args, &it->second.second,
                                                     "cd '" + folder_.string() + "' && ");
    return it->second;
  }

 private:
  fs::path folder_;
  std::map<std::string, std::pair<int, std::string>> runs_;
};

// The main job's checkpoint, as the picture markers name it, and a stand-in for it: FashionNet
// trained briefly on synthetic Fashion-MNIST, followed by that data's folder.
const std::string kMainCheckpoint = "build/fashion_mnist.safetensors";
std::string stand_in_checkpoint(const fs::path& folder) {
  fs::path data = folder / "data", checkpoint = folder / "fashion_mnist.safetensors";
  if (!fs::exists(checkpoint)) {
    fs::create_directories(data);
    ember::testing::write_fake_mnist(data, 256, 64);
    REQUIRE(ember::testing::run_training("--data " + data.string() +
                                         " --limit 256 --epochs 1 --batch-size 64 --threads 2 "
                                         "--save " +
                                         checkpoint.string()) == 0);
  }
  return checkpoint.string() + " " + data.string();
}

}  // namespace

TEST_CASE("the tour's code blocks are the code, and its quoted outputs what the programs print") {
  std::vector<fs::path> chapters;
  for (const auto& entry : fs::directory_iterator(fs::path(EMBER_SOURCE_DIR) / "docs" / "tour"))
    if (entry.path().extension() == ".md") chapters.push_back(entry.path());
  REQUIRE(!chapters.empty());
  TourRuns runs(ember::testing::scratch("tour"));
  const fs::path& folder = runs.folder();
  int checked = 0;
  for (const fs::path& chapter : chapters)
    for (const Block& block : blocks(chapter)) {
      CAPTURE(block.where);
      ++checked;
      if (block.kind == "unmarked") {
        FAIL_CHECK(
            "a code block or image without an excerpt, program, output, picture or "
            "measured marker");
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
      } else if (block.kind == "picture" || block.kind == "measured") {
        auto space = block.target.find(' ');
        std::string program = block.target.substr(0, space);
        std::string args = space == std::string::npos ? "" : block.target.substr(space + 1);
        if (auto at = args.find(kMainCheckpoint); at != std::string::npos)
          args.replace(at, kMainCheckpoint.size(), stand_in_checkpoint(folder));
        REQUIRE(block.lines.size() == 1);
        std::string path = block.lines[0];
        REQUIRE(path.rfind("pictures/", 0) == 0);
        fs::path written = folder / path.substr(9);
        auto& [status, out] = runs.run(program, args);
        REQUIRE_MESSAGE(status == 0, out);
        REQUIRE_MESSAGE(fs::exists(written), program, " did not write ", written.string());
        std::string now = ember::testing::read_bytes(written);
        std::string shown = source("docs/tour/" + path);
        REQUIRE_MESSAGE(!shown.empty(), "no docs/tour/", path);
        auto count = [](const std::string& svg, const std::string& element) {
          size_t n = 0;
          for (size_t at = svg.find(element); at != std::string::npos;
               at = svg.find(element, at + 1))
            ++n;
          return n;
        };
        if (block.kind == "measured")
          for (std::string element : {"<circle", "<polyline", "<text"}) {
            CAPTURE(element);
            CHECK_MESSAGE(count(now, element) == count(shown, element), "docs/tour/", path,
                          " is not drawn as ", program, " draws it now");
          }
        else if (path.ends_with(".svg"))
          CHECK_MESSAGE(now == shown, "docs/tour/", path, " is not what ", program, " draws now");
        else
          CHECK(ember::testing::shape(ember::data::read_image(written.string(), 1)) ==
                ember::testing::shape(ember::data::read_image(
                    (fs::path(EMBER_SOURCE_DIR) / "docs/tour" / path).string(), 1)));
      } else {  // output: the quoted lines appear in the program's output, in order
        auto space = block.target.find(' ');
        std::string program = block.target.substr(0, space);
        std::string args = space == std::string::npos ? "" : block.target.substr(space + 1);
        auto& [status, out] = runs.run(program, args);
        REQUIRE_MESSAGE(status == 0, out);
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
  fs::remove_all(folder);
}

TEST_CASE("every file the README and the tour name exists") {
  // Paths as the prose writes them: folder/.../name.ext for the project's own sources.
  std::regex path(
      R"((?:^|[\s`(])((?:core|autograd|nn|optim|data|distributed|examples|bench|tests|tools|cmake|docs)/[\w/.+-]*\.(?:h|cpp|inc|py|sh|md|cmake|svg|png|csv|txt)))");
  std::vector<fs::path> documents{fs::path(EMBER_SOURCE_DIR) / "README.md"};
  for (const auto& entry : fs::directory_iterator(fs::path(EMBER_SOURCE_DIR) / "docs" / "tour"))
    if (entry.path().extension() == ".md") documents.push_back(entry.path());
  int named = 0;
  for (const fs::path& doc : documents) {
    std::string text = ember::testing::read_bytes(doc);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), path);
         it != std::sregex_iterator(); ++it) {
      std::string name = (*it)[1];
      CAPTURE(doc.filename().string());
      CAPTURE(name);
      bool found = fs::exists(fs::path(EMBER_SOURCE_DIR) / name) ||
                   fs::exists(doc.parent_path() / name);  // relative to the chapter
      CHECK_MESSAGE(found, name, " (named in ", doc.filename().string(), ") does not exist");
      ++named;
    }
  }
  MESSAGE(named, " file names checked");
  CHECK(named > 50);
}
