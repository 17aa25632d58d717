// @tsgrad/tensor public entry: Float32Array tensors, broadcasting ops, reverse-mode autograd, seeded RNG.
export { Tensor } from "./tensor";
export type { NestedArray, BackwardOptions } from "./tensor";
export {
  tensor, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, uniform, randperm,
} from "./creation";
export type { TensorOptions, FactoryOptions, RandomOptions } from "./creation";
export { Generator, manualSeed, defaultGenerator } from "./random";
export type { GeneratorState } from "./random";
export { noGrad, isGradEnabled, defineOp, releaseIntermediate, Node } from "./autograd";
export type { BackwardFn, DefineOpOptions } from "./autograd";
export { add, sub, mul, div, pow, neg, exp, log, sqrt, abs, tanh, sigmoid, relu } from "./ops/elementwise";
export { sum, mean, max, argmax, logsumexp, softmax, logSoftmax } from "./ops/reduce";
export { matmul } from "./ops/matmul";
export { reshape, flatten, squeeze, unsqueeze, permute, transpose, t, clone } from "./ops/movement";
export { gradcheck } from "./gradcheck";
export type { GradcheckOptions } from "./gradcheck";
export { ShapeError, GradcheckError } from "./errors";
export { broadcastShapes, formatShape, numel } from "./shape";
export type { Shape } from "./shape";
export { gemm, adamStep, setBackend, getBackend } from "./compute";
export type { Backend, AdamStepScalars } from "./compute";
export { setNumThreads, getNumThreads, setWorkerFactory } from "./parallel";
export type { WorkerFactory, WorkerLike } from "./parallel";
export { takeArray, takeZeros, takeFloat64, takeInt32, releaseArray, memoryStats, emptyCache, setMemoryDebug } from "./pool";
export type { MemoryStats, PoolArray } from "./pool";
