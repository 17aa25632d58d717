// @tsgrad/tensor/internal: the op-author API that nn and optim build on (storage pool, ownership, raw kernels).
// Not for training code: everything a user needs is in "@tsgrad/tensor". The ownership rules are in ownership.ts.
export { takeArray, takeZeros, takeFloat64, takeInt32, releaseArray, newFloat32 } from "./pool.js";
export type { PoolArray } from "./pool.js";
export { aliases, gradData, handOver, zeroGrad } from "./ownership.js";
export type { ZeroGradOptions } from "./ownership.js";
export { gemm, adamUpdate, copiedFloats } from "./compute.js";
export { parallelCallCount } from "./parallel.js";
export type { AdamScalars } from "./kernels/adam.js";
export { adadeltaStep } from "./kernels/adadelta.js";
export { simdDropout, simdMap } from "./kernels/simd-map.js";
export { addBiasRows, biasGradient } from "./kernels/bias.js";
export type { MapKernel } from "./kernels/simd-map.js";
export type { AdadeltaStepScalars } from "./kernels/adadelta.js";
export { sameShape } from "./shape.js";
export { laneLogSumExp, laneArgmax } from "./kernels/reduce.js";
export { kernelInstructions } from "./wasm/index.js";
export { HeapArray, heapArraysMade } from "./heap.js";
