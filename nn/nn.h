// Everything in ember::nn: Module and its handles, the layers and their option builders,
// functional ops, initialisers.
#pragma once

#include "attention.h"
#include "containers.h"
#include "functional.h"
#include "init.h"
#include "layers.h"
#include "losses.h"
#include "module.h"
#include "module_holder.h"
#include "options.h"
#include "recurrent.h"
#include "utils.h"
