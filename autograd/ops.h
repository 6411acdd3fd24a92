// Every differentiable public op, by family. Reading these headers top to bottom is reading
// ember's op list; the formulas are in the .cpp of the same name. The gradient-check table in
// tests/test_gradcheck_ops.cpp must name every op declared here (a test enforces it).
#pragma once

#include "../core/factory.h"
#include "elementwise.h"
#include "grad_mode.h"
#include "index.h"
#include "indexing.h"
#include "linalg.h"
#include "rearrange.h"
#include "reduce.h"
#include "scan.h"
#include "shape.h"
#include "unary_math.h"
