// Everything in ember::nn: Module, the layers, functional ops, initialisers.
#pragma once

#include "attention.h"
#include "functional.h"
#include "init.h"
#include "layers.h"
#include "module.h"
