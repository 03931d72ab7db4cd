// SPDX-License-Identifier: MIT
#include "driver/ctl/core.h"

struct core core;
