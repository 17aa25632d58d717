// @tsgrad/optim public entry: the Optimizer base, Adam, AdamW, SGD, Adadelta, RMSprop, Adagrad, and the LR schedulers.
export { Optimizer } from "./optimizer.js";
export type {
  GroupValue, ParamGroupInput, Params, ParamGroup, ParamStateDict, ParamGroupStateDict, OptimizerStateDict, ZeroGradOptions,
} from "./optimizer.js";
export { Adam, AdamW } from "./adam.js";
export type { AdamOptions, AdamWOptions, AdamGroupOptions, AdamState } from "./adam.js";
export { SGD } from "./sgd.js";
export type { SGDOptions, SGDGroupOptions, SGDState } from "./sgd.js";
export { Adadelta } from "./adadelta.js";
export type { AdadeltaOptions, AdadeltaGroupOptions, AdadeltaState } from "./adadelta.js";
export { RMSprop } from "./rmsprop.js";
export type { RMSpropOptions, RMSpropGroupOptions, RMSpropState } from "./rmsprop.js";
export { Adagrad } from "./adagrad.js";
export type { AdagradOptions, AdagradGroupOptions, AdagradState } from "./adagrad.js";
export { LRScheduler, StepLR, CosineAnnealingLR } from "./lr-scheduler.js";
export type { SchedulerStateDict, StepLROptions, CosineAnnealingLROptions } from "./lr-scheduler.js";
