// Learning-rate schedulers as torch.optim.lr_scheduler: StepLR and CosineAnnealingLR (PyTorch's recursive forms).
import { Optimizer } from "./optimizer.js";

/** The optimizer shape a scheduler needs: groups with a learning rate. */
type AnyOptimizer = Optimizer<{ lr: number }, unknown>;

/** A scheduler's state dict (PyTorch's `state_dict()` of a scheduler, camelCased). */
export interface SchedulerStateDict {
  readonly lastEpoch: number;
  readonly stepCount: number;
  readonly baseLrs: number[];
  readonly lastLr: number[];
}

/**
 * Base of the schedulers (`torch.optim.lr_scheduler.LRScheduler`). Construction records each group's `initialLr`
 * and performs the first `step()` (epoch 0); call `step()` once per epoch, after `optimizer.step()`.
 */
export abstract class LRScheduler {
  /** The index of the last epoch (−1 before the constructor's first step). */
  lastEpoch: number;
  /** Each group's initial learning rate. */
  readonly baseLrs: number[];
  protected stepCount = 0;
  private lastLrs: number[] = [];

  protected constructor(
    protected readonly optimizer: AnyOptimizer,
    lastEpoch: number,
    name: string,
  ) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: expected an Optimizer`);
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) {
      throw new RangeError(`${name}: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    }
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr = g.lr;
      else if (g.initialLr === undefined) {
        throw new RangeError(`${name}: param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rates for `lastEpoch`, from the current ones (PyTorch's recursive `get_lr`). */
  protected abstract computeLr(): number[];

  /** Advances one epoch and writes the new learning rate into every group. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i]!;
    });
    this.lastLrs = lrs;
  }

  /** The learning rates set by the last `step()`, one per group. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  /** The scheduler's state (the optimizer's learning rates are in the optimizer's own state dict). */
  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.lastLrs] };
  }

  /** Restores a state from {@link LRScheduler.stateDict}. */
  loadStateDict(state: SchedulerStateDict): void {
    if (state.baseLrs.length !== this.baseLrs.length) {
      throw new RangeError(
        `${this.constructor.name}.loadStateDict: loaded state has ${state.baseLrs.length} groups, expected ${this.baseLrs.length}`,
      );
    }
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.lastLrs = [...state.lastLr];
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Multiplicative factor of the decay (default 0.1). */
  readonly gamma?: number;
  /** The last epoch when resuming (default −1: a fresh start). */
  readonly lastEpoch?: number;
}

/**
 * Multiplies every group's learning rate by `gamma` every `stepSize` epochs (`torch.optim.lr_scheduler.StepLR`).
 *
 * ```ts
 * const sched = new StepLR(opt, 30, { gamma: 0.1 }); // lr 0.05 for epochs 0–29, 0.005 for 30–59, ...
 * ```
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, stepSize: number, { gamma = 0.1, lastEpoch = -1 }: StepLROptions = {}) {
    super(optimizer, lastEpoch, "StepLR");
    if (!Number.isInteger(stepSize) || stepSize <= 0) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    if (typeof gamma !== "number" || !Number.isFinite(gamma)) throw new RangeError(`StepLR: gamma must be a finite number, got ${gamma}`);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.step();
  }

  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Minimum learning rate (default 0). */
  readonly etaMin?: number;
  /** The last epoch when resuming (default −1: a fresh start). */
  readonly lastEpoch?: number;
}

/**
 * Cosine annealing from each group's initial learning rate down to `etaMin` over `tMax` epochs, then back up
 * (`torch.optim.lr_scheduler.CosineAnnealingLR`, without restarts; PyTorch's recursive form, so it composes with
 * other changes to the learning rate exactly as PyTorch's does).
 *
 * ```ts
 * const sched = new CosineAnnealingLR(opt, 100, { etaMin: 1e-5 });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: AnyOptimizer, tMax: number, { etaMin = 0, lastEpoch = -1 }: CosineAnnealingLROptions = {}) {
    super(optimizer, lastEpoch, "CosineAnnealingLR");
    if (!Number.isInteger(tMax) || tMax <= 0) throw new RangeError(`CosineAnnealingLR: tMax must be a positive integer, got ${tMax}`);
    if (typeof etaMin !== "number" || !(etaMin >= 0)) throw new RangeError(`CosineAnnealingLR: etaMin must be >= 0, got ${etaMin}`);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.step();
  }

  protected computeLr(): number[] {
    const { tMax: T, etaMin, lastEpoch: t } = this;
    const groups = this.optimizer.paramGroups;
    if (t === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((t * Math.PI) / T))) / 2);
    }
    if ((t - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
}
