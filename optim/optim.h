// Everything in ember::optim: optimizers, gradient clipping, LR schedulers.
#pragma once

#include "optimizer.h"
#include "scheduler.h"
#include "serialize.h"
