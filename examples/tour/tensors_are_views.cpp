// The guided tour, chapter 1 (docs/tour/01-tensors-are-views.md): a tensor is a view of a
// storage, read through sizes, strides and an offset. Transposing, slicing and broadcasting
// make new views of the same numbers; only contiguous() copies, and only when it must.
// Run: ./build/examples/tour/tensors_are_views
#include <ember/ember.h>

#include <iostream>

using namespace ember;

namespace {

void show(const char* name, const Tensor& t) {
  std::cout << name << ": sizes " << shape_str(t.sizes()) << ", strides "
            << shape_str(t.strides()) << ", offset " << t.storage_offset()
            << (t.is_contiguous() ? ", contiguous" : ", not contiguous") << "\n";
}

}  // namespace

int main() {
  // tour:begin storage
  Tensor x = arange(0, 12, 1, kFloat32).view({3, 4});  // 12 floats in one storage
  show("x", x);
  std::cout << "x[1][2] = " << x.select(0, 1).select(0, 2).item<float>()
            << ", stored at 1*4 + 2*1 = 6\n";
  // tour:end storage

  // tour:begin transpose
  Tensor xt = x.transpose(0, 1);  // the strides swap; no number moves
  show("x.transpose(0, 1)", xt);
  std::cout << "same storage: " << (xt.storage() == x.storage() ? "yes" : "no") << "\n";
  // tour:end transpose

  // tour:begin slice
  Tensor column = x.select(1, 2);     // column 2: starts 2 floats in, steps 4
  Tensor rows = x.narrow(0, 1, 2);    // rows 1 and 2: starts 4 floats in
  show("x.select(1, 2)", column);
  show("x.narrow(0, 1, 2)", rows);
  column.mul_(10);                    // writing through a view writes the storage
  std::cout << "after column *= 10, x[2][2] = " << x.select(0, 2).select(0, 2).item<float>()
            << "\n";
  // tour:end slice

  // tour:begin index
  using namespace indexing;  // Python's x[1:, ::2] and x[[0, 2]], as libtorch spells them
  Tensor corner = x.index({Slice(1, None), Slice(None, None, 2)});
  Tensor picked = x.index({tensor({0, 2})});  // a tensor of positions: rows 0 and 2
  show("x.index({Slice(1, None), Slice(None, None, 2)})", corner);
  std::cout << "a view of x: " << (corner.storage() == x.storage() ? "yes" : "no")
            << "; x.index({tensor({0, 2})}) is: "
            << (picked.storage() == x.storage() ? "yes" : "no") << "\n";
  Tensor mask = x > 6.0;  // a comparison gives a bool tensor, and a bool index is positions too
  std::cout << "x > 6.0 is " << mask.dtype() << "; x.index({x > 6.0}) = " << x.index({mask})
            << "\n";
  // tour:end index

  // tour:begin broadcast
  Tensor bias = tensor({100.0, 200.0, 300.0, 400.0});
  Tensor wide = bias.expand({3, 4});  // stride 0: every row reads the same 4 numbers
  show("bias.expand({3, 4})", wide);
  std::cout << "bias storage holds " << bias.storage()->nbytes() / sizeof(float)
            << " floats for " << wide.numel() << " elements\n";
  // tour:end broadcast

  // tour:begin contiguous
  Tensor copy = xt.contiguous();  // a transposed view must be copied to be row-major
  show("x.transpose(0, 1).contiguous()", copy);
  std::cout << "copied: " << (copy.storage() == x.storage() ? "no" : "yes")
            << "; x.contiguous() copies: "
            << (x.contiguous().storage() == x.storage() ? "no" : "yes") << "\n";
  // tour:end contiguous
}
