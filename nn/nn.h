// Everything in ember::nn: Module, the layers, functional ops, initialisers.
#pragma once

#include "attention.h"
#include "containers.h"
#include "functional.h"
#include "init.h"
#include "layers.h"
#include "losses.h"
#include "module.h"
#include "recurrent.h"
#include "utils.h"
