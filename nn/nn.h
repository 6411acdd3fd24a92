// Everything in ember::nn: Module, the layers, functional ops, initialisers.
#pragma once

#include "functional.h"
#include "init.h"
#include "layers.h"
#include "module.h"
