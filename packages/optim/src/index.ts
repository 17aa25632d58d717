// @tsgrad/optim public entry: the Optimizer base, Adam, AdamW, SGD, and the StepLR/CosineAnnealingLR schedulers.
export { Optimizer } from "./optimizer.js";
export type {
  GroupValue, ParamGroupInput, Params, ParamGroup, ParamStateDict, ParamGroupStateDict, OptimizerStateDict, ZeroGradOptions,
} from "./optimizer.js";
export { Adam, AdamW } from "./adam.js";
export type { AdamOptions, AdamWOptions, AdamGroupOptions, AdamState } from "./adam.js";
export { SGD } from "./sgd.js";
export type { SGDOptions, SGDGroupOptions, SGDState } from "./sgd.js";
export { LRScheduler, StepLR, CosineAnnealingLR } from "./lr-scheduler.js";
export type { SchedulerStateDict, StepLROptions, CosineAnnealingLROptions } from "./lr-scheduler.js";
