// @tsgrad/optim public entry: the Optimizer base, Adam, AdamW, SGD, and the StepLR/CosineAnnealingLR schedulers.
export { Optimizer } from "./optimizer";
export type {
  GroupValue, ParamGroupInput, Params, ParamGroup, ParamStateDict, ParamGroupStateDict, OptimizerStateDict, ZeroGradOptions,
} from "./optimizer";
export { Adam, AdamW } from "./adam";
export type { AdamOptions, AdamWOptions, AdamGroupOptions, AdamState } from "./adam";
export { SGD } from "./sgd";
export type { SGDOptions, SGDGroupOptions, SGDState } from "./sgd";
export { LRScheduler, StepLR, CosineAnnealingLR } from "./lr-scheduler";
export type { SchedulerStateDict, StepLROptions, CosineAnnealingLROptions } from "./lr-scheduler";
