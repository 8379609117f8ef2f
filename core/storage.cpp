#include "core/storage.h"

#include "core/dispatch.h"

namespace difft {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = DIFFT_KERNEL(device, alloc, "allocate")(nbytes);
}

Storage::~Storage() {
  if (data_) kernels(device_).free(data_);
}

}  // namespace difft
