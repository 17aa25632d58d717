// The two models of --model: the classic MLP and pytorch/examples' MNIST CNN, each with its input layout, loss and
// the architecture its weights reveal (a checkpoint's kind is read from its tensors).
import { Tensor, type Generator } from "@tsgrad/tensor";
import {
  Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, crossEntropy, nllLoss, type ClassTarget, type StateDict,
} from "@tsgrad/nn";
import type { Normalize } from "@tsgrad/data";

export const IMAGE_SIZE = 784;
export const CLASSES = 10;

/** The model a run trains: `mlp` (the default) or `cnn`. */
export type ModelKind = "mlp" | "cnn";

/** The CNN's input normalisation: torchvision's `Normalize((0.1307,), (0.3081,))` after `ToTensor`. */
export const CNN_NORMALIZE: Normalize = { mean: 0.1307, std: 0.3081 };

/** `nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))`, weights drawn from `generator`. */
export function buildModel(hidden: number, generator: Generator): Sequential {
  return new Sequential(
    new Linear(IMAGE_SIZE, hidden, { generator }),
    new ReLU(),
    new Linear(hidden, CLASSES, { generator }),
  );
}

/**
 * pytorch/examples mnist/main.py's `Net` as a `Sequential` (so that the intermediates between its layers are
 * recycled): keys `0.*`, `2.*`, `7.*`, `10.*`; the log-softmax is applied after it. Initial weights and the dropout
 * masks come from `generator`, in the layers' order (as main.py's global generator gives both).
 */
export function buildCnn(generator: Generator): Sequential {
  return new Sequential(
    new Conv2d(1, 32, 3, { stride: 1, generator }), new ReLU(),
    new Conv2d(32, 64, 3, { stride: 1, generator }), new ReLU(),
    new MaxPool2d(2), new Dropout(0.25, { generator }), new Flatten(1),
    new Linear(9216, 128, { generator }), new ReLU(), new Dropout(0.5, { generator }),
    new Linear(128, CLASSES, { generator }),
  );
}

/** What a checkpoint's tensors are the weights of. */
export type Architecture = { readonly model: "mlp"; readonly hidden: number } | { readonly model: "cnn" };

/**
 * The architecture of a state dict: the CNN when `0.weight` is a [32, 1, 3, 3] kernel, the MLP (with its hidden
 * width) when it is [hidden, 784]; null for anything else. Only `0.weight` decides; loading checks the rest.
 */
export function architectureOf(weights: StateDict): Architecture | null {
  const w = weights["0.weight"]?.shape;
  if (w === undefined) return null;
  if (w.length === 4 && w[0] === 32 && w[1] === 1 && w[2] === 3 && w[3] === 3) return { model: "cnn" };
  if (w.length === 2 && w[1] === IMAGE_SIZE && w[0]! >= 1) return { model: "mlp", hidden: w[0]! };
  return null;
}

/** main.py's `Net` field → the index of the same layer in the CNN's `Sequential`. */
const NET_LAYERS: Readonly<Record<string, string>> = { conv1: "0", conv2: "2", fc1: "7", fc2: "10" };

/**
 * The weights of main.py's `Net` (`conv1.weight`, …, `fc2.bias`: a PyTorch checkpoint of it, converted to
 * safetensors) under the Sequential's keys (`0.weight`, …, `10.bias`); any other state dict as it is.
 */
export function sequentialKeys(weights: StateDict): StateDict {
  const keys = Object.keys(weights);
  const isNet = keys.length > 0 && keys.every((k) => /^(conv1|conv2|fc1|fc2)\.(weight|bias)$/.test(k));
  if (!isNet) return weights;
  return Object.fromEntries(keys.map((k) => [`${NET_LAYERS[k.split(".")[0]!]!}.${k.split(".")[1]!}`, weights[k]!]));
}

/** A model of either kind with what training and evaluation need to know about it. */
export interface Net {
  readonly kind: ModelKind;
  /** The module (parameters, state dict, train/eval mode). */
  readonly module: Sequential;
  /** How pixels become inputs after /255 (none for the MLP). */
  readonly normalize: Normalize | undefined;
  /**
   * The output for a batch of images as rows of 784 values ([B, 784]): the MLP's logits, the CNN's log-probabilities
   * (the batch is viewed as [B, 1, 28, 28] without a copy).
   */
  forward(images: Tensor): Tensor;
  /** The loss of an output against class indices: cross-entropy of logits (MLP), nll of log-probabilities (CNN). */
  loss(output: Tensor, targets: ClassTarget, reduction?: "mean" | "sum"): Tensor;
}

/** The MLP of `hidden` units, or the CNN, with weights drawn from `generator`. */
export function buildNet(kind: ModelKind, hidden: number, generator: Generator): Net {
  switch (kind) {
    case "mlp": {
      const module = buildModel(hidden, generator);
      return {
        kind, module, normalize: undefined,
        forward: (x) => module.forward(x),
        loss: (out, y, reduction = "mean") => crossEntropy(out, y, { reduction }),
      };
    }
    case "cnn": {
      const module = buildCnn(generator);
      return {
        kind, module, normalize: CNN_NORMALIZE,
        forward: (x) => module.forward(new Tensor(x.data, [x.shape[0]!, 1, 28, 28])).logSoftmax(1),
        loss: (out, y, reduction = "mean") => nllLoss(out, y, { reduction }),
      };
    }
    default: {
      const never: never = kind;
      throw new Error(`internal: unknown model ${String(never)}`);
    }
  }
}

/** Number of trainable values (101,770 for the MLP of 128 units, 1,199,882 for the CNN). */
export function countParameters(model: Sequential): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
}

/** A one-line description of the MLP, e.g. `Linear(784→128) → ReLU → Linear(128→10), 101,770 parameters`. */
export function describeModel(hidden: number, parameters: number): string {
  return `Linear(${IMAGE_SIZE}→${hidden}) → ReLU → Linear(${hidden}→${CLASSES}), ${parameters.toLocaleString("en-US")} parameters`;
}

/** A one-line description of either model (the CNN's layers in PyTorch's terms). */
export function describeNet(arch: Architecture, parameters: number): string {
  if (arch.model === "mlp") return describeModel(arch.hidden, parameters);
  return "Conv2d(1→32, 3×3) → ReLU → Conv2d(32→64, 3×3) → ReLU → MaxPool2d(2) → Dropout(0.25) → Flatten → " +
    `Linear(9216→128) → ReLU → Dropout(0.5) → Linear(128→10) → LogSoftmax, ${parameters.toLocaleString("en-US")} parameters`;
}
