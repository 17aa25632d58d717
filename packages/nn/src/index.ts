// @tsgrad/nn public entry: Module and layers (Linear, Conv2d, pooling, ...), fused losses, functional forms, safetensors.
export { Module } from "./module.js";
export type { AnyModule, StateDict, LoadStateDictOptions, LoadStateDictResult } from "./module.js";
export { Linear, linear } from "./linear.js";
export type { LinearOptions } from "./linear.js";
export { ReLU, GELU, Flatten, Dropout, Sequential } from "./layers.js";
export { Conv2d, conv2d } from "./conv.js";
export type { Conv2dLayerOptions } from "./conv.js";
export { MaxPool2d, AvgPool2d, maxPool2d, avgPool2d } from "./pooling.js";
export type { MaxPool2dLayerOptions, AvgPool2dLayerOptions } from "./pooling.js";
export type { DropoutOptions } from "./layers.js";
export { crossEntropy, nllLoss } from "./cross-entropy.js";
export type { Reduction, ClassTarget, CrossEntropyOptions, NllLossOptions } from "./cross-entropy.js";
export { relu, logSoftmax, mseLoss } from "./functional.js";
export type { MseLossOptions } from "./functional.js";
export { CrossEntropyLoss, NLLLoss, MSELoss } from "./loss.js";
export type { CrossEntropyLossOptions, NLLLossOptions, MSELossOptions } from "./loss.js";
export { saveSafetensors, loadSafetensors, SafetensorsError } from "./safetensors.js";
export type { SafetensorsFile, LoadSafetensorsOptions } from "./safetensors.js";
