// The reference model: Linear(784, hidden) → ReLU → Linear(hidden, 10), initialised like PyTorch from a seeded generator.
import type { Generator } from "@tsgrad/tensor";
import { Linear, ReLU, Sequential } from "@tsgrad/nn";

export const IMAGE_SIZE = 784;
export const CLASSES = 10;

/** `nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))`, weights drawn from `generator`. */
export function buildModel(hidden: number, generator: Generator): Sequential {
  return new Sequential(
    new Linear(IMAGE_SIZE, hidden, { generator }),
    new ReLU(),
    new Linear(hidden, CLASSES, { generator }),
  );
}

/** Number of trainable values (101,770 for hidden = 128). */
export function countParameters(model: Sequential): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
}

/** A one-line description of the model, e.g. `Linear(784→128) → ReLU → Linear(128→10), 101,770 parameters`. */
export function describeModel(hidden: number, parameters: number): string {
  return `Linear(${IMAGE_SIZE}→${hidden}) → ReLU → Linear(${hidden}→${CLASSES}), ${parameters.toLocaleString("en-US")} parameters`;
}
