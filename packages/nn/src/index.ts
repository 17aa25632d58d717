// @tsgrad/nn public entry: Module and layers, fused losses, functional forms, safetensors state dicts.
export { Module } from "./module";
export type { AnyModule, StateDict, LoadStateDictOptions, LoadStateDictResult } from "./module";
export { Linear, linear } from "./linear";
export type { LinearOptions } from "./linear";
export { ReLU, Flatten, Dropout, Sequential } from "./layers";
export type { DropoutOptions } from "./layers";
export { crossEntropy, nllLoss } from "./cross-entropy";
export type { Reduction, ClassTarget, CrossEntropyOptions, NllLossOptions } from "./cross-entropy";
export { relu, logSoftmax, mseLoss } from "./functional";
export type { MseLossOptions } from "./functional";
export { CrossEntropyLoss, NLLLoss, MSELoss } from "./loss";
export type { CrossEntropyLossOptions, NLLLossOptions, MSELossOptions } from "./loss";
export { saveSafetensors, loadSafetensors, SafetensorsError } from "./safetensors";
export type { SafetensorsFile } from "./safetensors";
