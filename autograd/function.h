// How a differentiable op records itself. An op computes its output with a core kernel, then:
//
//   // y = a * b      da = g * b      db = g * a      (the engine sums broadcast dims back)
//   return record("mul", y, {a, b}, [a = save(a), b = save(b)](const Tensor& g, const Needs&) {
//     return grads{g * b.unpack(), g * a.unpack()};
//   });
//
// record() does nothing under NoGradGuard or when no input requires grad, so ops pay for the
// graph only when it is needed. Read next: engine.cpp.
#pragma once

#include <initializer_list>
#include <vector>

#include "node.h"

namespace ember::autograd {

using Needs = std::vector<bool>;
using grads = std::vector<Tensor>;

/// Attaches a node computing `backward` to `output` when grad mode is on and an input requires
/// grad; returns the output (a fresh handle to the same data).
Tensor record(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs,
              BackwardFn backward);
Tensor record(const char* name, const Tensor& output, const std::vector<Tensor>& inputs,
              BackwardFn backward);

/// Marks the result of a non-differentiable op (comparisons, argmax, ...) so that calling
/// backward through it says which op stopped the gradient.
Tensor mark_nondifferentiable(const char* name, const Tensor& output,
                              std::initializer_list<Tensor> inputs);

/// True if grad mode is on and any input requires grad: whether record() would record.
bool any_requires_grad(std::initializer_list<Tensor> inputs);

/// Refuses an in-place write to `t` that autograd could not follow; `op` names the write.
void check_inplace(const Tensor& t, const char* op);

}  // namespace ember::autograd
