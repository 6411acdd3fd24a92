// The coverage test of the gradient-check tables: it reads the headers autograd/ops.h includes
// and fails for any declared op that no table line names (by name, or by signature when the
// name has several overloads) and that is not listed below as not differentiable.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "helpers.h"

using namespace ember;
using Line = ember::testing::GradcheckLine;

namespace {

// Not differentiable: their results never require grad (checked below).
const std::set<std::string> kNotDifferentiable{
    "eq",          "ne",          "lt",          "le",         "gt",          "ge",
    "argmax",      "argmin",      "argsort",     "nonzero",    "one_hot",     "all",
    "any",         "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_not",
    "bitwise_and", "bitwise_or",  "bitwise_xor"};

// The signature of a declaration, "name(type, type)": each parameter without its name, default,
// const and &, so that "Tensor sub(const Tensor& a, double b = 1)" gives "sub(Tensor, double)".
std::string signature(const std::string& name, const std::string& params) {
  std::vector<std::string> types;
  std::string current;
  int depth = 0;
  auto finish = [&] {
    std::string t = current.substr(0, current.find('='));
    t = std::regex_replace(t, std::regex(R"(\bconst\b|&)"), " ");
    t = std::regex_replace(t, std::regex(R"(\s+)"), " ");
    t = std::regex_replace(t, std::regex(R"(^ | $)"), "");
    size_t last = t.find_last_of(' ');  // drop the parameter's name
    if (last != std::string::npos && t.back() != '>') t = t.substr(0, last);
    if (!t.empty()) types.push_back(t);
    current.clear();
  };
  for (char c : params) {
    depth += (c == '<' || c == '(' || c == '{') - (c == '>' || c == ')' || c == '}');
    if (c == ',' && depth == 0)
      finish();
    else
      current += c;
  }
  finish();
  std::string out = name + "(";
  for (size_t i = 0; i < types.size(); ++i) out += (i ? ", " : "") + types[i];
  return out + ")";
}

// Every function declared in `header` (comments removed) that returns a tensor, a reference to
// one, or a pair, tuple or vector of them, with or without `inline` and attributes, as
// signatures. Declarations may span lines.
std::vector<std::string> declarations(const std::filesystem::path& header) {
  std::ifstream in(header);
  std::string text, line;
  while (std::getline(in, line)) text += line.substr(0, line.find("//")) + "\n";
  std::regex decl_re(R"((?:^|[;}\n])\s*(?:\[\[[^\]]*\]\]\s*)*(?:inline\s+)?(?:\[\[[^\]]*\]\]\s*)*)"
                     R"((?:Tensor&?|std::(?:pair|tuple)<[^;{}()]*>|std::vector<Tensor>)\s+)"
                     R"((\w+|operator\s*[^\s(]+)\s*\(([^;]*?)\)\s*(?:;|\{))");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), decl_re), end; it != end; ++it)
    out.push_back(
        signature(std::regex_replace((*it)[1].str(), std::regex(R"(\s)"), ""), (*it)[2].str()));
  return out;
}

// The headers autograd/ops.h includes (by any path), and each one's declarations.
std::map<std::string, std::vector<std::string>> declared_ops() {
  std::filesystem::path dir = std::filesystem::path(EMBER_SOURCE_DIR) / "autograd";
  std::ifstream ops(dir / "ops.h");
  std::regex include_re(R"re(#include "([^"]+\.h)")re");
  std::map<std::string, std::vector<std::string>> out;
  for (std::string line; std::getline(ops, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, include_re)) continue;
    std::filesystem::path header = dir / m[1].str();
    REQUIRE_MESSAGE(std::filesystem::exists(header), "ops.h includes ", m[1].str(),
                    ", which does not exist");
    out[m[1].str()] = declarations(header);
  }
  return out;
}

std::string name_of(const std::string& sig) { return sig.substr(0, sig.find('(')); }

// Factories make leaves: nothing to differentiate (each is named, so that a new declaration in
// core/factory.h must be placed here or in the table).
const std::set<std::string> kCreatesLeaves{
    "empty",      "zeros",      "ones",          "full",        "arange",       "linspace",
    "eye",        "rand",       "randn",         "randint",     "randperm",     "uniform_",
    "normal_",    "tensor",     "scalar_tensor", "zeros_like",  "ones_like",    "full_like",
    "empty_like", "rand_like",  "randn_like",    "from_vector", "with_options", "from_blob",
    "bernoulli",  "bernoulli_", "exponential_",  "multinomial"};

}  // namespace

TEST_CASE("the declaration reader sees every form of declaration") {
  std::filesystem::path p = std::filesystem::temp_directory_path() / "ember_decl_test.h";
  {
    std::ofstream out(p);
    out << "/// a comment: Tensor not_me(int);\n"
           "Tensor plain(const Tensor& x, double s = 1.0);\n"
           "inline Tensor with_body(const Tensor& x) { return x; }\n"
           "[[nodiscard]] Tensor attributed(const Tensor& x,\n"
           "                                IntList dims = {}, bool keepdim = false);\n"
           "Tensor& in_place_(Tensor& x, double v);\n"
           "std::pair<Tensor, Tensor> pair_of(const Tensor& x, int64_t dim);\n"
           "std::tuple<Tensor, Tensor, Tensor> tuple_of(const Tensor& x);\n"
           "Tensor operator+(const Tensor& a, const Tensor& b);\n";
  }
  std::vector<std::string> want{
      "plain(Tensor, double)",     "with_body(Tensor)",        "attributed(Tensor, IntList, bool)",
      "in_place_(Tensor, double)", "pair_of(Tensor, int64_t)", "tuple_of(Tensor)",
      "operator+(Tensor, Tensor)"};
  std::vector<std::string> got = declarations(p);
  std::string listed;
  for (const auto& sig : got) listed += sig + "; ";
  CHECK_MESSAGE(got == want, "read: ", listed);
  std::filesystem::remove(p);
}

TEST_CASE("every op declared in autograd/ has a gradient-check line, overload by overload") {
  // A line names an op as "name" when it has one overload, or as its signature,
  // "sub(Tensor, double)", which then covers that overload only.
  std::set<std::string> checked;
  for (auto part :
       {ember::testing::op_lines, ember::testing::scan_lines, ember::testing::indexing_lines})
    for (const Line& line : part()) checked.insert(line.op);
  int64_t total = 0;
  for (const auto& [header, sigs] : declared_ops()) {
    CAPTURE(header);
    bool holds_no_ops = header == "grad_mode.h";  // NoGradGuard and friends
    CHECK_MESSAGE((!sigs.empty() || holds_no_ops), "no declarations read from ", header,
                  ": has its form changed? (see declarations() in this file)");
    std::map<std::string, int> overloads;
    for (const std::string& sig : sigs) ++overloads[name_of(sig)];
    for (const std::string& sig : sigs) {
      std::string name = name_of(sig);
      if (name.rfind("operator", 0) == 0) continue;  // operators forward to the named ops
      bool covered = checked.count(sig) || (overloads[name] == 1 && checked.count(name)) ||
                     kNotDifferentiable.count(name) ||
                     (header.find("factory.h") != std::string::npos && kCreatesLeaves.count(name));
      CHECK_MESSAGE(covered, "'", sig, "' (", header,
                    ") has no line in the gradcheck table (name it by its signature when the "
                    "name has several overloads)");
      ++total;
    }
  }
  CHECK(total > 50);
}

TEST_CASE("non-differentiable ops never record") {
  Tensor x = randn({3, 4}, kFloat64).requires_grad_(), y = randn({3, 4}, kFloat64);
  for (const Tensor& r :
       {eq(x, y), ne(x, y), lt(x, y), le(x, y), gt(x, y), ge(x, 0.0), logical_not(x),
        logical_and(x, y), logical_or(x, y), logical_xor(x, y), all(x), any(x, 1)}) {
    CHECK(!r.requires_grad());
    CHECK(r.dtype() == kBool);
  }
  for (const Tensor& r : {argmax(x, 1), argmin(x, 0), max(x, 1).second}) {
    CHECK(!r.requires_grad());
    CHECK(r.dtype() == kInt64);
  }
}
