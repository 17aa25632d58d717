// @tsgrad/tensor public entry: Float32Array tensors, broadcasting ops, reverse-mode autograd, seeded RNG (op authors:
// "@tsgrad/tensor/internal").
export { Tensor } from "./tensor.js";
export type { NestedArray, BackwardOptions } from "./tensor.js";
export {
  tensor, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, uniform, randperm,
} from "./creation.js";
export type { TensorOptions, FactoryOptions, RandomOptions } from "./creation.js";
export { Generator, manualSeed, defaultGenerator } from "./random.js";
export type { GeneratorState } from "./random.js";
export { noGrad, isGradEnabled, defineOp, Node } from "./autograd.js";
export type { BackwardFn, DefineOpOptions } from "./autograd.js";
export { add, sub, mul, div, pow, neg, exp, log, sqrt, abs, tanh, sigmoid, relu, gelu } from "./ops/elementwise.js";
export type { GeluOptions } from "./ops/elementwise.js";
export { sum, mean, max, argmax, logsumexp, softmax, logSoftmax } from "./ops/reduce.js";
export { matmul } from "./ops/matmul.js";
export { conv2d } from "./ops/conv.js";
export type { Conv2dOptions, Conv2dPadding, IntPair } from "./ops/conv.js";
export { maxPool2d, avgPool2d } from "./ops/pooling.js";
export type { MaxPool2dOptions, AvgPool2dOptions } from "./ops/pooling.js";
export { reshape, flatten, squeeze, unsqueeze, permute, transpose, t, clone } from "./ops/movement.js";
export { setPrintOptions, getPrintOptions } from "./format.js";
export type { PrintOptions, SetPrintOptionsOptions } from "./format.js";
export { gradcheck } from "./gradcheck.js";
export type { GradcheckOptions } from "./gradcheck.js";
export { ShapeError, GradcheckError } from "./errors.js";
export { broadcastShapes, formatShape, numel } from "./shape.js";
export type { Shape } from "./shape.js";
export { gemm, setBackend, getBackend, setRelaxedSimd, relaxedSimdAvailable } from "./compute.js";
export type { Backend } from "./compute.js";
export { setNumThreads, getNumThreads, setWorkerFactory } from "./parallel.js";
export type { WorkerFactory, WorkerLike } from "./parallel.js";
export { memoryStats, emptyCache, setMemoryDebug } from "./pool.js";
export type { MemoryStats, PoolArray } from "./pool.js";
export type { ZeroGradOptions } from "./ownership.js";
