// The umbrella header, installed as <ember/ember.h>: everything a user program needs.
//   #include <ember/ember.h>
// Area headers can be included on their own: <ember/core/tensor.h>, <ember/autograd/ops.h>.
#pragma once

#include "autograd/custom_function.h"
#include "autograd/engine.h"
#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/graph_export.h"
#include "autograd/ops.h"
#include "core/atomic_file.h"
#include "core/blas.h"
#include "core/factory.h"
#include "core/parallel.h"
#include "core/profiler.h"
#include "core/promotion.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "core/storage.h"
#include "core/tensor.h"
#include "core/tensor_index.h"
#include "data/data.h"
#include "nn/nn.h"
#include "optim/optim.h"
