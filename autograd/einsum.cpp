// einsum: Einstein summation over letters, as torch.einsum, with no arithmetic of its own: each
// operand's repeated letters become a diagonal, letters no one else needs are summed out, and
// each pair of operands becomes one batched matrix product (batch letters, then the free
// letters of each side, the shared ones contracted), which is BLAS. "..." becomes one hidden
// letter per dim it covers, broadcast across the operands. Read next: linalg.cpp.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "../core/profiler.h"
#include "ops.h"

namespace ember {

namespace {

// One operand as it goes: a tensor and the letter of each of its dims.
struct Term {
  Tensor value;
  std::string letters;
};

// The sizes of `letters` in t, one per letter.
Shape sizes_of(const Term& t, const std::string& letters) {
  Shape sizes;
  for (char c : letters) sizes.push_back(t.value.size(static_cast<int64_t>(t.letters.find(c))));
  return sizes;
}

// t permuted to `letters` (a permutation of its own).
Tensor arranged(const Term& t, const std::string& letters) {
  Shape order;
  for (char c : letters) order.push_back(static_cast<int64_t>(t.letters.find(c)));
  return permute(t.value, order);
}

// A letter repeated within one term is its diagonal: "ii" -> "i" (the diagonal's dim goes last).
Term take_diagonals(Term t) {
  for (size_t i = 0; i < t.letters.size();) {
    size_t j = t.letters.find(t.letters[i], i + 1);
    if (j == std::string::npos) {
      ++i;
      continue;
    }
    char c = t.letters[i];
    auto di = static_cast<int64_t>(i), dj = static_cast<int64_t>(j);
    if (t.value.size(di) != t.value.size(dj))
      fail("einsum: letter '", c, "' repeats in one operand over sizes ", t.value.size(di), " and ",
           t.value.size(dj));
    t.value = diagonal(t.value, 0, di, dj);
    t.letters.erase(j, 1);
    t.letters.erase(i, 1);
    t.letters.push_back(c);
  }
  return t;
}

// Sums out the letters of t that `keep` does not hold.
Term sum_unneeded(Term t, const std::string& keep) {
  Shape dims;
  std::string left;
  for (size_t d = 0; d < t.letters.size(); ++d) {
    if (keep.find(t.letters[d]) == std::string::npos)
      dims.push_back(static_cast<int64_t>(d));
    else
      left.push_back(t.letters[d]);
  }
  if (dims.empty()) return t;
  return {sum(t.value, dims), left};
}

// a and b as one bmm: (batch, a's own, shared) @ (batch, shared, b's own); `keep` are the
// letters still needed after this product.
Term contract(const Term& a, const Term& b, const std::string& keep) {
  std::string batch, shared, own_a, own_b;
  for (char c : a.letters) {
    bool in_b = b.letters.find(c) != std::string::npos;
    bool kept = keep.find(c) != std::string::npos;
    (in_b ? (kept ? batch : shared) : own_a).push_back(c);
  }
  for (char c : b.letters)
    if (a.letters.find(c) == std::string::npos) own_b.push_back(c);
  for (char c : batch + shared) {
    int64_t in_a = sizes_of(a, std::string(1, c))[0], in_b = sizes_of(b, std::string(1, c))[0];
    if (in_a != in_b)
      fail("einsum: letter '", c, "' has size ", in_a, " in one operand and ", in_b, " in another");
  }
  Shape batch_sizes = sizes_of(a, batch), a_sizes = sizes_of(a, own_a),
        b_sizes = sizes_of(b, own_b), shared_sizes = sizes_of(a, shared);
  int64_t nb = numel_of(batch_sizes), m = numel_of(a_sizes), n = numel_of(b_sizes),
          k = numel_of(shared_sizes);
  Tensor left = reshape(arranged(a, batch + own_a + shared), {nb, m, k});
  Tensor right = reshape(arranged(b, batch + shared + own_b), {nb, k, n});
  Shape out = batch_sizes;
  out.insert(out.end(), a_sizes.begin(), a_sizes.end());
  out.insert(out.end(), b_sizes.begin(), b_sizes.end());
  return {reshape(bmm(left, right), out), batch + own_a + own_b};
}

// The equation read: one term per operand, checked against its dims, and the output letters
// (given after "->", or the letters seen once, alphabetically).
struct Equation {
  std::vector<Term> terms;
  std::string output;
};

// The operand strings of the left side, split at the commas.
std::vector<std::string> operand_strings(const std::string& lhs) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    out.push_back(lhs.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// "..." stands for the dims an operand's letters leave unnamed, aligned from the right across the
// operands and broadcast, as in PyTorch. Each such dim gets a character no letter can be (bytes
// from 0x80 up, the leftmost dim of the widest ellipsis first); `width` is that widest count.
constexpr unsigned char kEllipsisBase = 0x80;

std::string ellipsis_letters(int64_t from, int64_t to) {
  std::string out;
  for (int64_t k = from; k < to; ++k) out.push_back(static_cast<char>(kEllipsisBase + k));
  return out;
}

// The number of dims the ellipsis of `letters` covers in an operand of `dims` dims (0 without).
int64_t ellipsis_dims(const std::string& letters, int64_t dims, std::string_view equation,
                      size_t i) {
  size_t at = letters.find("...");
  auto named = static_cast<int64_t>(letters.size()) - (at == std::string::npos ? 0 : 3);
  auto dots = std::count(letters.begin(), letters.end(), '.');
  check(dots == (at == std::string::npos ? 0 : 3), "einsum: '", equation, "': operand ", i,
        " has a '.' outside one \"...\"");
  if (at == std::string::npos ? named != dims : named > dims)
    fail("einsum: operand ", i, " has ", dims, " dims but '", letters, "' names ", named);
  return at == std::string::npos ? 0 : dims - named;
}

// An operand whose ellipsis dim has size 1 where another's is larger is expanded to it (a view).
void broadcast_ellipses(std::vector<Term>& terms, int64_t width) {
  for (char e : ellipsis_letters(0, width)) {
    {
      int64_t size = 1;
      for (const Term& t : terms) {
        size_t d = t.letters.find(e);
        if (d == std::string::npos) continue;
        int64_t s = t.value.size(static_cast<int64_t>(d));
        if (s != 1 && size != 1 && s != size)
          fail("einsum: the dims covered by \"...\" do not broadcast: sizes ", size, " and ", s);
        if (s != 1) size = s;
      }
      for (Term& t : terms) {
        size_t d = t.letters.find(e);
        if (d == std::string::npos || t.value.size(static_cast<int64_t>(d)) == size) continue;
        Shape sizes = shape_of(t.value);
        sizes[d] = size;
        t.value = expand(t.value, sizes);
      }
    }
  }
}

Equation parse(std::string_view equation, const std::vector<Tensor>& operands) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq.push_back(c);
  size_t arrow = eq.find("->");
  std::vector<std::string> strings = operand_strings(eq.substr(0, arrow));
  check(strings.size() == operands.size(), "einsum: '", equation, "' names ", strings.size(),
        " operands, ", operands.size(), " given");
  std::vector<int64_t> spans;
  int64_t width = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    spans.push_back(ellipsis_dims(strings[i], operands[i].dim(), equation, i));
    width = std::max(width, spans.back());
  }
  Equation out;
  std::map<char, int> count;
  for (size_t i = 0; i < strings.size(); ++i) {
    std::string letters = strings[i];
    for (char c : letters) {
      check(c == '.' || std::isalpha(static_cast<unsigned char>(c)), "einsum: '", c, "' in '",
            equation, "' is not a letter");
      if (c != '.') ++count[c];
    }
    if (size_t at = letters.find("..."); at != std::string::npos)
      letters.replace(at, 3, ellipsis_letters(width - spans[i], width));
    out.terms.push_back({operands[i], letters});
  }
  broadcast_ellipses(out.terms, width);
  if (arrow == std::string::npos) {
    out.output = ellipsis_letters(0, width);
    for (const auto& entry : count)
      if (entry.second == 1) out.output.push_back(entry.first);
    return out;
  }
  out.output = eq.substr(arrow + 2);
  if (size_t at = out.output.find("..."); at != std::string::npos)
    out.output.replace(at, 3, ellipsis_letters(0, width));
  for (size_t i = 0; i < out.output.size(); ++i) {
    char c = out.output[i];
    bool ellipsis = static_cast<unsigned char>(c) >= kEllipsisBase;
    check(ellipsis || count.count(c), "einsum: output letter '", c, "' is in no operand of '",
          equation, "'");
    check(out.output.find(c, i + 1) == std::string::npos, "einsum: output letter '", c,
          "' appears twice in '", equation, "'");
  }
  return out;
}

}  // namespace

Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands) {  // (composite)
  profiler::Scope scope("einsum");
  Equation parsed = parse(equation, operands);    // (not a structured binding: clang 14 cannot
  const std::vector<Term>& terms = parsed.terms;  // capture one in the lambda below)
  const std::string& output = parsed.output;
  // Fold the terms left to right; each keeps only what the output and the later terms need.
  auto needed_after = [&](size_t i) {
    std::string letters = output;
    for (size_t j = i + 1; j < terms.size(); ++j) letters += terms[j].letters;
    return letters;
  };
  Term acc = sum_unneeded(take_diagonals(terms[0]), needed_after(0));
  for (size_t i = 1; i < terms.size(); ++i) {
    std::string after = needed_after(i);
    Term next = sum_unneeded(take_diagonals(terms[i]), after + acc.letters);
    acc = contract(acc, next, after);
  }
  return arranged(acc, output);
}

}  // namespace ember
