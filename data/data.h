// Everything in ember::data: IDX files, datasets, the data loader, transforms, image folders.
#pragma once

#include "dataset.h"
#include "idx.h"
#include "image_folder.h"
#include "datasets.h"
#include "transforms.h"
